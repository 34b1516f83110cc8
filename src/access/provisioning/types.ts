/** The shapes of downstream records that the pure provisioning rules read (a subset of each). */
export interface PlanLike {
  uuid: string;
  title: string;
  salesforce_opportunity_line_item?: string | null;
  created: string;
  start_date: string;
  expiration_date: string;
  is_active: boolean;
  is_current: boolean;
  plan_type: string;
  enterprise_catalog_uuid: string;
  product?: number | null;
}

export interface AgreementLike {
  uuid: string;
  enterprise_customer_uuid: string;
  default_enterprise_catalog_uuid?: string | null;
  subscriptions?: PlanLike[];
}

export interface RenewalLike {
  id: number;
  prior_subscription_plan: string;
  renewed_subscription_plan: string;
  number_of_licenses: number;
  effective_date: string;
  renewed_expiration_date: string;
  salesforce_opportunity_id?: string | null;
}
