/**
 * The direct baseline of `npm run bench:provisioning`: one provisioning as a synchronous service
 * would run it, in-process, with no Temporal. It calls the provisioning workflow's activity
 * functions (createProvisioningActivities) in the workflow's order and with its inputs:
 * validate → customer → admins (list, then each missing one at once) → catalog → agreement →
 * trial plan → first paid plan → renewal.
 */
import {
  adminsResponse,
  agreementResponse,
  type ProvisioningResponse,
  planResponse,
  renewalResponse,
} from '../src/access/provisioning/response';
import { adminEmails, catalogFor, paidPlanDates } from '../src/access/provisioning/rules';
import type { createProvisioningActivities } from '../src/activities/provisioning';

type ProvisioningActivities = ReturnType<typeof createProvisioningActivities>;

export async function directProvision(a: ProvisioningActivities, input: unknown): Promise<ProvisioningResponse> {
  const req = await a.validateProvisioningRequest(input);
  const { name, slug, country } = req.enterprise_customer;
  const customer = await a.getOrCreateCustomer({ name, slug, country });

  const snapshot = await a.listCustomerAdmins(customer.uuid);
  const known = new Set([...snapshot.admins, ...snapshot.pending].map((e) => e.toLowerCase()));
  const outcomes = await Promise.all(
    adminEmails(req).map(async (email) => {
      if (known.has(email.toLowerCase())) return { email, created: false };
      const outcome = await a.ensureAdmin({ customerUuid: customer.uuid, email });
      return { email, created: outcome === 'admin-created' || outcome === 'pending-created' };
    }),
  );
  const admins = adminsResponse(snapshot.admins, outcomes);

  const catalog = await a.getOrCreateCatalog({ customerUuid: customer.uuid, ...catalogFor(req) });
  const agreement = await a.getOrCreateAgreement({
    customerUuid: customer.uuid,
    slug,
    defaultCatalogUuid: req.customer_agreement?.default_catalog_uuid ?? null,
  });

  const trialIn = req.trial_subscription_plan;
  const paidIn = req.first_paid_subscription_plan;
  const planBase = {
    customer_agreement: agreement.uuid,
    is_active: true,
    for_internal_use_only: true,
    change_reason: 'new' as const,
  };
  const trial = await a.getOrCreatePlan({
    ...planBase,
    title: trialIn.title,
    salesforce_opportunity_line_item: trialIn.salesforce_opportunity_line_item,
    start_date: trialIn.start_date,
    expiration_date: trialIn.expiration_date,
    desired_num_licenses: trialIn.desired_num_licenses,
    product: trialIn.product_id,
    enterprise_catalog_uuid: trialIn.enterprise_catalog_uuid ?? catalog.uuid,
  });
  const paid = await a.getOrCreatePlan({
    ...planBase,
    title: paidIn.title,
    salesforce_opportunity_line_item: paidIn.salesforce_opportunity_line_item,
    ...paidPlanDates(paidIn, trial.expiration_date),
    desired_num_licenses: trialIn.desired_num_licenses,
    product: paidIn.product_id,
    enterprise_catalog_uuid: paidIn.enterprise_catalog_uuid ?? catalog.uuid,
  });
  const renewal = await a.getOrCreateRenewal({
    prior_subscription_plan: trial.uuid,
    renewed_subscription_plan: paid.uuid,
    number_of_licenses: trialIn.desired_num_licenses,
    effective_date: trial.expiration_date,
    renewed_expiration_date: paid.expiration_date,
  });

  return {
    enterprise_customer: { uuid: customer.uuid, name: customer.name, country: customer.country, slug: customer.slug },
    customer_admins: { created_admins: admins.created_admins, existing_admins: admins.existing_admins },
    enterprise_catalog: catalog,
    customer_agreement: agreementResponse(agreement),
    trial_subscription_plan: planResponse(trial),
    first_paid_subscription_plan: planResponse(paid),
    subscription_plan_renewal: renewalResponse(renewal),
  };
}
