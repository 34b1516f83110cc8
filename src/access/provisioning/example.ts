/**
 * A valid provisioning request in the upstream two-plan shape (spec provisioning §2.1), for a
 * given slug: the README's example, the benchmarks' load and the tests' starting point.
 */
export function exampleProvisioningRequest(slug: string, admins = 1) {
  return {
    enterprise_customer: { name: `${slug} Inc`, slug, country: 'US' },
    pending_admins: Array.from({ length: admins }, (_, i) => ({
      user_email: `admin${i === 0 ? '' : i}@${slug}.example.com`,
    })),
    trial_subscription_plan: {
      title: `${slug} Trial`,
      salesforce_opportunity_line_item: null as string | null,
      start_date: '2026-06-01T00:00:00Z',
      expiration_date: '2026-06-15T00:00:00Z',
      product_id: 2,
      desired_num_licenses: 5,
    },
    first_paid_subscription_plan: {
      title: `${slug} Paid`,
      salesforce_opportunity_line_item: null as string | null,
      product_id: 1,
    },
  };
}
