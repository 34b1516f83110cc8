import { z } from 'zod';

/**
 * The answers of the license-manager routes, for their OpenAPI documents (the shapes
 * representation.ts builds). Documentation only: the fuzzing suite checks every answer against them.
 */

const str = z.string();
const nullableString = z.string().nullable();
const int = z.number().int();

const page = <T extends z.ZodType>(item: T) =>
  z.object({ count: int, next: nullableString, previous: nullableString, results: z.array(item) });

export const licenseCountsSchema = z.object({
  total: int,
  allocated: int,
  unassigned: int,
  activated: int,
  assigned: int,
  revoked: int,
});

const minimalPlan = {
  title: str,
  uuid: str,
  start_date: str,
  expiration_date: str,
  enterprise_customer_uuid: str,
  enterprise_catalog_uuid: str,
  is_active: z.boolean(),
  is_revocation_cap_enabled: z.boolean(),
  days_until_expiration: int,
  days_until_expiration_including_renewals: int,
  is_locked_for_renewal_processing: z.boolean(),
  should_auto_apply_licenses: z.boolean().nullable(),
};
export const minimalPlanSchema = z.object(minimalPlan);

const planBase = {
  ...minimalPlan,
  is_current: z.boolean(),
  created: str,
  plan_type: str,
  salesforce_opportunity_line_item: nullableString,
};
const revocations = z.object({ applied: int, remaining: int }).nullable();
const priorRenewals = z.array(
  z.object({
    prior_subscription_plan_id: str,
    prior_subscription_plan_start_date: str,
    renewed_subscription_plan_id: nullableString,
    renewed_subscription_plan_start_date: nullableString,
  }),
);

export const planSchema = z.object({
  ...planBase,
  licenses: licenseCountsSchema,
  revocations,
  prior_renewals: priorRenewals,
});
export const planPageSchema = page(planSchema);

const provisioningPlan = {
  ...planBase,
  can_freeze_unused_licenses: z.boolean(),
  customer_agreement: str,
  desired_num_licenses: int.nullable(),
  expiration_processed: z.boolean(),
  for_internal_use_only: z.boolean(),
  last_freeze_timestamp: nullableString,
  num_revocations_applied: int,
  product: int,
  revoke_max_percentage: int,
  change_reason: nullableString,
  licenses: licenseCountsSchema,
};
export const provisioningPlanSchema = z.object(provisioningPlan);
export const provisioningPlanPageSchema = page(
  z.object({ ...provisioningPlan, revocations, prior_renewals: priorRenewals }),
);

const minimalAgreement = {
  uuid: str,
  enterprise_customer_uuid: str,
  enterprise_customer_slug: nullableString,
  default_enterprise_catalog_uuid: nullableString,
  disable_expiration_notifications: z.boolean(),
  net_days_until_expiration: int,
  subscription_for_auto_applied_licenses: nullableString,
  available_subscription_catalogs: z.array(str),
};
export const minimalAgreementSchema = z.object(minimalAgreement);
export const agreementSchema = z.object({
  ...minimalAgreement,
  enable_auto_applied_subscriptions_with_universal_link: z.boolean(),
  subscriptions: z.array(planSchema),
});
export const agreementPageSchema = page(agreementSchema);

const license = {
  uuid: str,
  status: str,
  user_email: nullableString,
  activation_date: nullableString,
  last_remind_date: nullableString,
  subscription_plan_uuid: str,
  revoked_date: nullableString,
  activation_key: nullableString,
};
export const licenseSchema = z.object(license);
export const licensePageSchema = page(licenseSchema);
/** LicensePagination: a DRF page with `num_pages`. */
export const licenseListSchema = page(licenseSchema).extend({ num_pages: int });
export const licenseOverviewSchema = z.array(z.object({ status: str, count: int }));

/** A learner's license, with its agreement and plan. */
export const learnerLicenseSchema = z.object({
  ...license,
  customer_agreement: minimalAgreementSchema,
  subscription_plan: minimalPlanSchema.nullable(),
});
export const learnerLicensePageSchema = page(learnerLicenseSchema).extend({
  customer_agreement: minimalAgreementSchema.nullable(),
});

export const assignmentSchema = z.object({
  num_successful_assignments: int,
  num_already_associated: int,
  license_assignments: z.array(z.object({ user_email: str, license: str })),
});

export const renewalSchema = z.object({
  id: int,
  prior_subscription_plan: str,
  prior_subscription_plan_title: nullableString,
  renewed_subscription_plan: nullableString,
  renewed_subscription_plan_title: nullableString,
  enterprise_customer_uuid: nullableString,
  salesforce_opportunity_id: nullableString,
  number_of_licenses: int,
  effective_date: str,
  renewed_expiration_date: str,
  renewed_plan_title: nullableString,
  license_types_to_copy: str,
  disable_auto_apply_licenses: z.boolean(),
  exempt_from_batch_processing: z.boolean(),
  processed: z.boolean(),
  processed_datetime: nullableString,
  created: str,
  modified: str,
});
export const renewalPageSchema = page(renewalSchema);

export const outboxPageSchema = page(
  z.object({
    id: int,
    kind: str,
    recipient: str,
    subject: str,
    enterprise_customer_uuid: nullableString,
    subscription_plan_uuid: nullableString,
    license_uuid: nullableString,
    payload: z.unknown(),
    created: str,
    sent_at: nullableString,
  }),
);

export const licensesForEmailsSchema = z.object({
  enterprise_customer_uuid: str,
  customer_agreement_uuid: str,
  results: z.array(
    z.object({
      email: str,
      licenses: z.array(
        z.object({
          license_uuid: str,
          status: str,
          user_email: nullableString,
          lms_user_id: int.nullable(),
          activation_key: nullableString,
          activation_link: nullableString,
          assigned_date: nullableString,
          activation_date: nullableString,
          revoked_date: nullableString,
          subscription_plan_uuid: str,
          subscription_plan_title: str,
          plan_is_active: z.boolean(),
          plan_is_current: z.boolean(),
          start_date: str,
          expiration_date: str,
          enterprise_catalog_uuid: str,
        }),
      ),
    }),
  ),
});
