import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ProvisioningRequest } from '../access/provisioning/request';
import {
  adminsResponse,
  agreementResponse,
  type ProvisioningResponse,
  planResponse,
  renewalResponse,
} from '../access/provisioning/response';
import { adminEmails, catalogFor, paidPlanDates } from '../access/provisioning/rules';
import type { Activities } from '../activities';
import { DEFAULTS } from '../lib/defaults';
import { searchAttributes, statusQuery } from './definitions';
import { FAILURE, RETRY, stepOptions } from './retry-policies';
import { StepLog } from './step-log';

/** Step names as upstream's step-input KEYs, in upstream order (spec provisioning §4). */
export const PROVISIONING_STEPS = [
  'create_customer',
  'create_enterprise_admin_users',
  'create_catalog',
  'create_customer_agreement',
  'create_trial_subscription_plan',
  'create_first_paid_subscription_plan',
  'create_subscription_plan_renewal',
] as const;

export interface ProvisioningOptions {
  /** How long transient faults of one step are retried before the workflow fails (PROVISIONING_RETRY_WINDOW_SECONDS). */
  retryWindowSeconds?: number;
  /** How long one attempt may take before it counts as lost, e.g. to a crashed worker. */
  attemptTimeoutSeconds?: number;
}

/**
 * Provisions a new subscription customer: customer → admins → catalog → agreement → trial plan
 * → first paid plan → renewal. Each step is one get-or-create activity, so a crashed worker, a
 * retried step or a repeated request never duplicates a record. Transient downstream faults
 * (network, 5xx, 429) retry with backoff within the retry window; a 4xx fails the workflow at
 * once with the downstream's message. Input is the HTTP body, so `temporal workflow start
 * --type provisionNewCustomer --input '<body>'` works as well as the API.
 */
export async function provisionNewCustomer(
  input: unknown,
  options: ProvisioningOptions = {},
): Promise<ProvisioningResponse> {
  const req: ProvisioningRequest = await validate(input);
  const { name, slug, country } = req.enterprise_customer;
  const steps = new StepLog(PROVISIONING_STEPS, `Provision ${slug} (${name})`);
  setHandler(statusQuery, () => steps.view());
  upsertSearchAttributes([{ key: searchAttributes.CustomerSlug, value: slug }]);

  const timeouts = {
    retryWindowSeconds: options.retryWindowSeconds ?? DEFAULTS.provisioning.retryWindowSeconds,
    attemptTimeoutSeconds: options.attemptTimeoutSeconds ?? DEFAULTS.provisioning.attemptTimeoutSeconds,
  };
  // One proxy per step so each activity carries the step's name as its id (the status view finds
  // a step's attempts in the workflow's history by it) and a summary naming its record.
  const step = (activityId: string, summary: string) =>
    proxyActivities<Activities>(stepOptions(activityId, summary, timeouts));

  const customer = await steps.run('create_customer', { name, slug, country }, () =>
    step('create_customer', `lms: enterprise customer ${slug}`).getOrCreateCustomer({ name, slug, country }),
  );
  upsertSearchAttributes([{ key: searchAttributes.CustomerUuid, value: customer.uuid }]);

  const emails = adminEmails(req);
  const admins = await steps.run('create_enterprise_admin_users', { user_emails: emails }, async () => {
    const snapshot = await step('create_enterprise_admin_users/list', `lms: admins of ${slug}`).listCustomerAdmins(
      customer.uuid,
    );
    const known = new Set([...snapshot.admins, ...snapshot.pending].map((e) => e.toLowerCase()));
    const outcomes = await Promise.all(
      emails.map(async (email) => {
        if (known.has(email.toLowerCase())) return { email, created: false };
        const id = `create_enterprise_admin_users/${email.toLowerCase()}`;
        const outcome = await step(id, `lms: admin ${email} of ${slug}`).ensureAdmin({
          customerUuid: customer.uuid,
          email,
        });
        return { email, created: outcome === 'admin-created' || outcome === 'pending-created' };
      }),
    );
    return { enterprise_customer_uuid: customer.uuid, ...adminsResponse(snapshot.admins, outcomes) };
  });

  const catalogInput = catalogFor(req);
  const catalog = await steps.run('create_catalog', catalogInput, () =>
    step('create_catalog', `lms + catalog: catalog "${catalogInput.title}"`).getOrCreateCatalog({
      customerUuid: customer.uuid,
      ...catalogInput,
    }),
  );

  const defaultCatalogUuid = req.customer_agreement?.default_catalog_uuid ?? null;
  const agreement = await steps.run('create_customer_agreement', { default_catalog_uuid: defaultCatalogUuid }, () =>
    step('create_customer_agreement', `license-manager: customer agreement of ${slug}`).getOrCreateAgreement({
      customerUuid: customer.uuid,
      slug,
      defaultCatalogUuid,
    }),
  );

  const trialIn = req.trial_subscription_plan;
  const planBase = {
    customer_agreement: agreement.uuid,
    is_active: true,
    for_internal_use_only: true,
    change_reason: 'new' as const,
  };
  const trialPayload = {
    ...planBase,
    title: trialIn.title,
    salesforce_opportunity_line_item: trialIn.salesforce_opportunity_line_item,
    start_date: trialIn.start_date,
    expiration_date: trialIn.expiration_date,
    desired_num_licenses: trialIn.desired_num_licenses,
    product: trialIn.product_id,
    enterprise_catalog_uuid: trialIn.enterprise_catalog_uuid ?? catalog.uuid,
  };
  const trial = await steps.run('create_trial_subscription_plan', trialPayload, () =>
    step('create_trial_subscription_plan', `license-manager: trial plan "${trialIn.title}"`).getOrCreatePlan(
      trialPayload,
    ),
  );

  const paidIn = req.first_paid_subscription_plan;
  const paidPayload = {
    ...planBase,
    title: paidIn.title,
    salesforce_opportunity_line_item: paidIn.salesforce_opportunity_line_item,
    ...paidPlanDates(paidIn, trial.expiration_date),
    // The paid plan always gets the trial's license count (upstream).
    desired_num_licenses: trialIn.desired_num_licenses,
    product: paidIn.product_id,
    enterprise_catalog_uuid: paidIn.enterprise_catalog_uuid ?? catalog.uuid,
  };
  const paid = await steps.run('create_first_paid_subscription_plan', paidPayload, () =>
    step('create_first_paid_subscription_plan', `license-manager: paid plan "${paidIn.title}"`).getOrCreatePlan(
      paidPayload,
    ),
  );

  const renewalPayload = {
    prior_subscription_plan: trial.uuid,
    renewed_subscription_plan: paid.uuid,
    number_of_licenses: trialIn.desired_num_licenses,
    effective_date: trial.expiration_date,
    renewed_expiration_date: paid.expiration_date,
  };
  const renewal = await steps.run('create_subscription_plan_renewal', renewalPayload, () =>
    step(
      'create_subscription_plan_renewal',
      `license-manager: renewal "${trialIn.title}" → "${paidIn.title}"`,
    ).getOrCreateRenewal(renewalPayload),
  );

  steps.end('completed');
  return {
    enterprise_customer: { uuid: customer.uuid, name: customer.name, country: customer.country, slug: customer.slug },
    customer_admins: { created_admins: admins.created_admins, existing_admins: admins.existing_admins },
    enterprise_catalog: catalog,
    // The agreement as found before the plans were made (upstream's snapshot semantics).
    customer_agreement: agreementResponse(agreement),
    trial_subscription_plan: planResponse(trial),
    first_paid_subscription_plan: planResponse(paid),
    subscription_plan_renewal: renewalResponse(renewal),
  };
}

const { validateProvisioningRequest } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'check the request against the API schema',
  retry: RETRY.quick,
});

/** The request, validated and normalised by the HTTP edge's own schema; invalid input fails the run at once. */
async function validate(input: unknown): Promise<ProvisioningRequest> {
  try {
    return await validateProvisioningRequest(input);
  } catch (err) {
    // A local activity's failure arrives as it was thrown (an activity's, wrapped in an ActivityFailure).
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === FAILURE.invalidProvisioningRequest) {
      throw ApplicationFailure.create({
        type: cause.type,
        message: cause.message,
        details: cause.details ? [...cause.details] : undefined,
        nonRetryable: true,
      });
    }
    throw err;
  }
}
