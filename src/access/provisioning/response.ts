/**
 * The upstream success response (spec provisioning §2.4), built from the step outputs. Pure.
 */
import type { AgreementLike, PlanLike, RenewalLike } from './types';

/** A plan as the response shows it: every field of `PlanLike`, the optional ones made explicit nulls. */
export type PlanResponse = Omit<PlanLike, 'salesforce_opportunity_line_item' | 'product'> & {
  salesforce_opportunity_line_item: string | null;
  product: number | null;
};

export interface ProvisioningResponse {
  enterprise_customer: { uuid: string; name: string; country: string; slug: string };
  customer_admins: { created_admins: { user_email: string }[]; existing_admins: { user_email: string }[] };
  enterprise_catalog: { uuid: string; enterprise_customer_uuid: string; title: string; catalog_query_id: number };
  customer_agreement: {
    uuid: string;
    enterprise_customer_uuid: string;
    default_catalog_uuid: string | null;
    subscriptions: PlanResponse[];
  };
  trial_subscription_plan: PlanResponse;
  first_paid_subscription_plan: PlanResponse;
  subscription_plan_renewal: {
    id: number;
    prior_subscription_plan: string;
    renewed_subscription_plan: string;
    number_of_licenses: number;
    effective_date: string;
    renewed_expiration_date: string;
    salesforce_opportunity_line_item: string | null;
  };
}

/** License-manager's agreement listing leaves `product` out; null, never a crash (upstream 500). */
export function planResponse(p: PlanLike): PlanResponse {
  return {
    uuid: p.uuid,
    title: p.title,
    salesforce_opportunity_line_item: p.salesforce_opportunity_line_item ?? null,
    created: p.created,
    start_date: p.start_date,
    expiration_date: p.expiration_date,
    is_active: p.is_active,
    is_current: p.is_current,
    plan_type: p.plan_type,
    enterprise_catalog_uuid: p.enterprise_catalog_uuid,
    product: p.product ?? null,
  };
}

/** Upstream never filled the default catalog: license-manager names it `default_enterprise_catalog_uuid`. */
export function agreementResponse(a: AgreementLike): ProvisioningResponse['customer_agreement'] {
  return {
    uuid: a.uuid,
    enterprise_customer_uuid: a.enterprise_customer_uuid,
    default_catalog_uuid: a.default_enterprise_catalog_uuid ?? null,
    subscriptions: (a.subscriptions ?? []).map(planResponse),
  };
}

export function renewalResponse(r: RenewalLike): ProvisioningResponse['subscription_plan_renewal'] {
  return {
    id: r.id,
    prior_subscription_plan: r.prior_subscription_plan,
    renewed_subscription_plan: r.renewed_subscription_plan,
    number_of_licenses: r.number_of_licenses,
    effective_date: r.effective_date,
    renewed_expiration_date: r.renewed_expiration_date,
    salesforce_opportunity_line_item: r.salesforce_opportunity_id ?? null,
  };
}

/**
 * created: requested emails newly made admins (real or pending); existing: every current admin
 * of the customer plus requested emails that were already admins or already invited. Each list
 * sorted by email, no email twice, and every requested email in one of them.
 */
export function adminsResponse(
  currentAdmins: readonly string[],
  outcomes: ReadonlyArray<{ email: string; created: boolean }>,
): ProvisioningResponse['customer_admins'] {
  const created = new Map<string, string>();
  const existing = new Map<string, string>();
  for (const e of currentAdmins) existing.set(e.toLowerCase(), e);
  for (const o of outcomes) {
    const key = o.email.toLowerCase();
    if (o.created && !existing.has(key)) created.set(key, o.email);
    else if (!created.has(key)) existing.set(key, existing.get(key) ?? o.email);
  }
  const sorted = (m: Map<string, string>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, user_email]) => ({ user_email }));
  return { created_admins: sorted(created), existing_admins: sorted(existing) };
}
