import type { Generated, Insertable, Selectable } from 'kysely';

export const LICENSE_STATUSES = ['unassigned', 'assigned', 'activated', 'revoked'] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

/** Why a plan was created or changed (upstream keeps it as the history reason; we keep the latest). */
export const CHANGE_REASONS = [
  'new',
  'incorrect_user_input',
  'delayed_payment',
  'organization_requested_change',
  'other',
] as const;
export type ChangeReason = (typeof CHANGE_REASONS)[number];

/** Which licenses renewal processing copies into the future plan. */
export const LICENSE_TYPES_TO_COPY = ['assigned_and_activated', 'activated', 'nothing'] as const;
export type LicenseTypesToCopy = (typeof LICENSE_TYPES_TO_COPY)[number];

export interface CustomerAgreementTable {
  uuid: Generated<string>;
  /** edx-enterprise EnterpriseCustomer id; one agreement per customer. */
  enterprise_customer_uuid: string;
  enterprise_customer_slug: string | null;
  enterprise_customer_name: string | null;
  /** Used for a plan created without a catalog of its own. */
  default_enterprise_catalog_uuid: string | null;
  disable_expiration_notifications: Generated<boolean>;
  /** Suppresses the assignment and post-activation emails. */
  disable_onboarding_notifications: Generated<boolean>;
  enable_auto_applied_subscriptions_with_universal_link: Generated<boolean>;
  created: Generated<Date>;
  modified: Generated<Date>;
}

export interface SubscriptionPlanTable {
  uuid: Generated<string>;
  title: string;
  customer_agreement: string;
  start_date: Date;
  expiration_date: Date;
  enterprise_catalog_uuid: string;
  is_active: Generated<boolean>;
  is_revocation_cap_enabled: Generated<boolean>;
  revoke_max_percentage: Generated<number>;
  num_revocations_applied: Generated<number>;
  salesforce_opportunity_line_item: string | null;
  product_id: number;
  for_internal_use_only: Generated<boolean>;
  can_freeze_unused_licenses: Generated<boolean>;
  should_auto_apply_licenses: boolean | null;
  /** Licenses are provisioned up to this count, never down. */
  desired_num_licenses: number | null;
  expiration_processed: Generated<boolean>;
  last_freeze_timestamp: Date | null;
  change_reason: ChangeReason;
  created: Generated<Date>;
  modified: Generated<Date>;
}

export interface LicenseTable {
  uuid: Generated<string>;
  subscription_plan: string;
  status: Generated<LicenseStatus>;
  user_email: string | null;
  lms_user_id: number | null;
  activation_key: string | null;
  assigned_date: Date | null;
  activation_date: Date | null;
  last_remind_date: Date | null;
  revoked_date: Date | null;
  auto_applied: boolean | null;
  /** The copy of this license in the plan it was renewed into. */
  renewed_to: string | null;
  created: Generated<Date>;
  modified: Generated<Date>;
}

export interface SubscriptionPlanRenewalTable {
  id: Generated<number>;
  prior_subscription_plan: string;
  renewed_subscription_plan: string | null;
  /** Named "opportunity id" upstream, but it holds an opportunity line item. */
  salesforce_opportunity_id: string | null;
  number_of_licenses: number;
  effective_date: Date;
  renewed_expiration_date: Date;
  renewed_plan_title: string | null;
  license_types_to_copy: Generated<LicenseTypesToCopy>;
  disable_auto_apply_licenses: Generated<boolean>;
  exempt_from_batch_processing: Generated<boolean>;
  processed: Generated<boolean>;
  processed_datetime: Date | null;
  created: Generated<Date>;
  modified: Generated<Date>;
}

/** The Salesforce id a license assignment came from (upstream SubscriptionLicenseSource). */
export interface LicenseSourceTable {
  license: string;
  source_id: string;
  source_type: Generated<string>;
  created: Generated<Date>;
}

/** The emails upstream sends (Braze campaigns, ECS notices), recorded instead of sent. */
export const EMAIL_KINDS = [
  'license_assignment',
  'license_reminder',
  'post_activation',
  'auto_applied_license',
  'revocation_cap_reached',
] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

export interface EmailOutboxTable {
  id: Generated<number>;
  kind: EmailKind;
  recipient: string;
  subject: string;
  enterprise_customer_uuid: string | null;
  subscription_plan: string | null;
  license: string | null;
  payload: unknown;
  created: Generated<Date>;
  sent_at: Date | null;
}

/** Tables of the license_manager schema. */
export interface LicenseManagerDB {
  plan_types: {
    id: number;
    label: string;
    description: string;
    is_paid_subscription: boolean;
    ns_id_required: boolean;
    sf_id_required: boolean;
    internal_use_only: boolean;
  };
  products: {
    id: number;
    name: string;
    description: string;
    salesforce_product_id: string | null;
    netsuite_id: number | null;
    plan_type_id: number;
    created: Generated<Date>;
  };
  customer_agreements: CustomerAgreementTable;
  subscription_plans: SubscriptionPlanTable;
  licenses: LicenseTable;
  subscription_plan_renewals: SubscriptionPlanRenewalTable;
  license_sources: LicenseSourceTable;
  email_outbox: EmailOutboxTable;
}

export type CustomerAgreementRow = Selectable<CustomerAgreementTable>;
export type SubscriptionPlanRow = Selectable<SubscriptionPlanTable>;
export type NewSubscriptionPlan = Insertable<SubscriptionPlanTable>;
export type LicenseRow = Selectable<LicenseTable>;
export type RenewalRow = Selectable<SubscriptionPlanRenewalTable>;
export type EmailOutboxRow = Selectable<EmailOutboxTable>;
