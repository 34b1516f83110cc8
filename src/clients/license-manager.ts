import { type HttpClient, ServiceError } from '../lib/http-client';
import { fetchAllPages, type Page } from './pagination';

export interface LmPlan {
  uuid: string;
  title: string;
  salesforce_opportunity_line_item: string | null;
  created: string;
  start_date: string;
  expiration_date: string;
  is_active: boolean;
  is_current: boolean;
  plan_type: string;
  enterprise_catalog_uuid: string;
  /** Missing from agreement listings (upstream quirk). */
  product?: number | null;
  customer_agreement?: string;
  desired_num_licenses?: number | null;
}

export interface LmAgreement {
  uuid: string;
  enterprise_customer_uuid: string;
  enterprise_customer_slug: string | null;
  default_enterprise_catalog_uuid: string | null;
  subscriptions: LmPlan[];
}

export interface LmRenewal {
  id: number;
  prior_subscription_plan: string;
  renewed_subscription_plan: string;
  salesforce_opportunity_id: string | null;
  number_of_licenses: number;
  effective_date: string;
  renewed_expiration_date: string;
}

export interface CreatePlanInput {
  customer_agreement: string;
  title: string;
  salesforce_opportunity_line_item: string | null;
  start_date: string;
  expiration_date: string;
  desired_num_licenses: number;
  product: number;
  enterprise_catalog_uuid: string;
  is_active: boolean;
  for_internal_use_only: boolean;
  change_reason: 'new';
}

/** One license of `licenses-for-emails` (assigned, activated or revoked; never unassigned). */
export interface LmEmailLicense {
  license_uuid: string;
  status: 'assigned' | 'activated' | 'revoked';
  user_email: string;
  lms_user_id: number | null;
  activation_key: string | null;
  activation_link: string | null;
  assigned_date: string | null;
  activation_date: string | null;
  revoked_date: string | null;
  subscription_plan_uuid: string;
  subscription_plan_title: string;
  plan_is_active: boolean;
  plan_is_current: boolean;
  start_date: string;
  expiration_date: string;
  enterprise_catalog_uuid: string | null;
}

export interface LmLicensesForEmails {
  enterprise_customer_uuid: string;
  customer_agreement_uuid: string;
  /** One per distinct lower-cased email, in request order; activated, assigned, revoked, latest-expiring first. */
  results: Array<{ email: string; licenses: LmEmailLicense[] }>;
}

/** How many licenses one page of a plan's license list may hold (license-manager's LicensePagination). */
const LICENSE_PAGE_SIZE = 500;

/** Typed calls to the license-manager provisioning endpoints (spec provisioning §5, licenses §5.1–5.3). */
export class LicenseManagerClient {
  constructor(readonly http: HttpClient) {}

  async findAgreement(customerUuid: string): Promise<LmAgreement | undefined> {
    const { body } = await this.http.call<Page<LmAgreement>>({
      operation: 'get customer agreement',
      method: 'GET',
      path: '/api/v1/customer-agreement/',
      query: { enterprise_customer_uuid: customerUuid },
    });
    return body.results[0];
  }

  /** 201 with the agreement; a 400 because one exists for the customer (a concurrent create) is `{ conflict: true }`. */
  async createAgreement(input: {
    enterprise_customer_uuid: string;
    enterprise_customer_slug: string;
    default_enterprise_catalog_uuid: string | null;
  }): Promise<LmAgreement | { conflict: true }> {
    try {
      const { body } = await this.http.call<LmAgreement>({
        operation: 'create customer agreement',
        method: 'POST',
        path: '/api/v1/provisioning-admins/customer-agreement/',
        body: input,
      });
      return body;
    } catch (err) {
      if (err instanceof ServiceError && err.status === 400 && /already exists/.test(JSON.stringify(err.body))) {
        return { conflict: true };
      }
      throw err;
    }
  }

  /** Every plan of the agreement, active or not, with `product`. */
  listPlans(agreementUuid: string): Promise<LmPlan[]> {
    return fetchAllPages(this.http, 'list subscription plans', '/api/v1/provisioning-admins/subscriptions/', {
      customer_agreement: agreementUuid,
      active_plans_only: false,
    });
  }

  /** Is `planUuid` one of the agreement's plans (active or not)? */
  async hasPlan(agreementUuid: string, planUuid: string): Promise<boolean> {
    return (await this.listPlans(agreementUuid)).some((p) => p.uuid === planUuid);
  }

  /** 201 with the plan; a 400 because the title is taken in the agreement is `{ titleTaken: true }`. */
  async createPlan(input: CreatePlanInput): Promise<LmPlan | { titleTaken: true }> {
    try {
      const { body } = await this.http.call<LmPlan>({
        operation: 'create subscription plan',
        method: 'POST',
        path: '/api/v1/provisioning-admins/subscriptions/',
        body: input,
      });
      return body;
    } catch (err) {
      if (
        err instanceof ServiceError &&
        err.status === 400 &&
        /must make a unique set/.test(JSON.stringify(err.body))
      ) {
        return { titleTaken: true };
      }
      throw err;
    }
  }

  /**
   * The licenses the learners of `emails` (at most 1000) hold with the customer, in one call
   * (`POST /api/v1/licenses-for-emails/`): for bulk enrollment's license check.
   */
  async licensesForEmails(input: {
    enterprise_customer_uuid: string;
    emails: readonly string[];
    subscription_uuid?: string | null;
  }): Promise<LmLicensesForEmails> {
    const { body } = await this.http.call<LmLicensesForEmails>({
      operation: 'get licenses for emails',
      method: 'POST',
      path: '/api/v1/licenses-for-emails/',
      body: { ...input, emails: [...input.emails] },
    });
    return body;
  }

  /** The emails of a plan's assigned and activated licenses (an enroll-all bulk enrollment's learners). */
  async planLicenseeEmails(planUuid: string): Promise<string[]> {
    const licenses = await fetchAllPages<{ user_email: string | null }>(
      this.http,
      'list subscription licenses',
      `/api/v1/subscriptions/${planUuid}/licenses/`,
      { status: 'assigned,activated', page_size: LICENSE_PAGE_SIZE },
    );
    return licenses.flatMap((l) => (l.user_email ? [l.user_email] : []));
  }

  /** License-manager's own get-or-create: 201 new, 200 exact match; 422 (a conflicting renewal) is an error. */
  async createRenewal(input: {
    prior_subscription_plan: string;
    renewed_subscription_plan: string;
    salesforce_opportunity_id: string | null;
    number_of_licenses: number;
    effective_date: string;
    renewed_expiration_date: string;
    exempt_from_batch_processing: boolean;
  }): Promise<LmRenewal> {
    const { body } = await this.http.call<LmRenewal>({
      operation: 'create subscription plan renewal',
      method: 'POST',
      path: '/api/v1/provisioning-admins/subscription-plan-renewals/',
      body: input,
    });
    return body;
  }
}
