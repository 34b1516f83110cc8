import { type HttpClient, ServiceError } from '../lib/http-client';
import { fetchAllPages, type Page } from './pagination';

/** edx-enterprise records as the LMS returns them (the fields the orchestrator reads). */
export interface LmsEnterpriseCustomer {
  uuid: string;
  name: string;
  slug: string;
  country: string;
  active?: boolean;
}

export interface LmsEnterpriseLearner {
  id: number;
  enterprise_customer: string;
  user_id: number;
  user: { id: number; email: string; username?: string };
  /** Uuids of the customer's groups this learner belongs to. */
  enterprise_group?: string[];
}

export interface LmsCustomerDetail extends LmsEnterpriseCustomer {
  contact_email?: string | null;
  admin_users: Array<{ email: string; lms_user_id: number }>;
}

export interface LmsEnrollment {
  uuid: string;
  enterprise_customer_uuid: string;
  lms_user_id: number;
  course_run_key: string;
  source: string;
  transaction_id: string | null;
  license_uuid: string | null;
  is_active: boolean;
}

export interface LmsPendingAdmin {
  id: number;
  enterprise_customer: string;
  user_email: string;
}

export interface LmsCatalog {
  uuid: string;
  title: string;
  enterprise_customer: string;
  enterprise_catalog_query: number | null;
}

/** The answer of `enroll_learners_in_courses` (201, 202 and 409 alike). */
export interface LmsBulkEnrollmentAnswer {
  successes: Array<{
    user_id: number;
    email: string;
    course_run_key: string;
    created: boolean;
    enterprise_fulfillment_source_uuid: string;
  }>;
  pending: Array<{ email: string; course_run_key: string; created: boolean }>;
  failures: Array<{ user_id: number | null; email: string | null; course_run_key: string }>;
  invalid_email_addresses?: string[];
  invalid_user_ids?: number[];
}

const BASE = '/enterprise/api/v1';

/** Typed calls to the LMS (edx-enterprise) endpoints that provisioning uses (spec provisioning §5). */
export interface LmsGroupMember {
  enterprise_group_membership_uuid: string;
  lms_user_id: number | null;
  member_details: { user_email: string; user_name: string | null };
  status: string;
  created: string;
  [key: string]: unknown;
}

export class LmsClient {
  constructor(readonly http: HttpClient) {}

  async findCustomerBySlug(slug: string): Promise<LmsEnterpriseCustomer | undefined> {
    const { body } = await this.http.call<Page<LmsEnterpriseCustomer>>({
      operation: 'get enterprise customer',
      method: 'GET',
      path: `${BASE}/enterprise-customer/`,
      query: { slug },
    });
    return body.results[0];
  }

  /** 201 with the customer; a 400 for a slug taken meanwhile is reported as `{ conflict: true }`. */
  async createCustomer(input: {
    name: string;
    slug: string;
    country: string;
    siteDomain: string;
  }): Promise<LmsEnterpriseCustomer | { conflict: true }> {
    try {
      const { body } = await this.http.call<LmsEnterpriseCustomer>({
        operation: 'create enterprise customer',
        method: 'POST',
        path: `${BASE}/enterprise-customer/`,
        body: {
          name: input.name,
          slug: input.slug,
          country: input.country,
          enable_analytics_screen: false,
          enable_portal_subscription_management_screen: true,
          site: { domain: input.siteDomain },
        },
      });
      return body;
    } catch (err) {
      if (err instanceof ServiceError && err.status === 400 && hasFieldError(err.body, 'slug'))
        return { conflict: true };
      throw err;
    }
  }

  listAdmins(customerUuid: string): Promise<LmsEnterpriseLearner[]> {
    return fetchAllPages(this.http, 'list enterprise admins', `${BASE}/enterprise-learner/`, {
      enterprise_customer_uuid: customerUuid,
      role: 'enterprise_admin',
    });
  }

  listPendingAdmins(customerUuid: string): Promise<LmsPendingAdmin[]> {
    return fetchAllPages(this.http, 'list pending enterprise admins', `${BASE}/pending-enterprise-admin/`, {
      enterprise_customer: customerUuid,
    });
  }

  /** 'created' (201), 'existing' (200), or 'no-user' when no LMS user has the email (404). */
  async createAdminByEmail(customerUuid: string, email: string): Promise<'created' | 'existing' | 'no-user'> {
    const { status } = await this.http.call({
      operation: 'create admin by email',
      method: 'POST',
      path: `${BASE}/enterprise-customer-admin/create_admin_by_email/`,
      body: { enterprise_customer_uuid: customerUuid, email },
      accept: [404],
    });
    if (status === 404) return 'no-user';
    return status === 201 ? 'created' : 'existing';
  }

  /** 'created', or 'existing' when the email is already pending (or already admin) for the customer. */
  async createPendingAdmin(customerUuid: string, email: string): Promise<'created' | 'existing'> {
    try {
      await this.http.call({
        operation: 'create pending enterprise admin',
        method: 'POST',
        path: `${BASE}/pending-enterprise-admin/`,
        body: { enterprise_customer: customerUuid, user_email: email },
      });
      return 'created';
    } catch (err) {
      if (
        err instanceof ServiceError &&
        err.status === 400 &&
        /already (exists|has admin permission)/.test(JSON.stringify(err.body))
      ) {
        return 'existing';
      }
      throw err;
    }
  }

  /** Every member of an enterprise group (real and pending); undefined when the group is unknown. */
  async groupMembers(groupUuid: string): Promise<LmsGroupMember[] | undefined> {
    try {
      return await fetchAllPages<LmsGroupMember>(
        this.http,
        'list group members',
        `${BASE}/enterprise_group/${groupUuid}/learners/`,
        {},
      );
    } catch (err) {
      if (err instanceof ServiceError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** The learner's link to the customer (with its groups), or undefined when not a member. */
  async findLearner(customerUuid: string, lmsUserId: number): Promise<LmsEnterpriseLearner | undefined> {
    const { body } = await this.http.call<Page<LmsEnterpriseLearner>>({
      operation: 'get enterprise learner',
      method: 'GET',
      path: `${BASE}/enterprise-learner/`,
      query: { enterprise_customer_uuid: customerUuid, user_ids: lmsUserId },
    });
    return body.results.find((l) => l.user_id === lmsUserId && l.enterprise_customer === customerUuid);
  }

  async getCustomer(customerUuid: string): Promise<LmsCustomerDetail | undefined> {
    const { status, body } = await this.http.call<LmsCustomerDetail>({
      operation: 'get enterprise customer',
      method: 'GET',
      path: `${BASE}/enterprise-customer/${customerUuid}/`,
      accept: [404],
    });
    return status === 404 ? undefined : body;
  }

  /** Enrolls a learner in a course run, idempotently (the same enrollment comes back on a repeat). */
  async enroll(input: {
    customerUuid: string;
    lmsUserId: number;
    courseRunKey: string;
    transactionUuid: string;
  }): Promise<LmsEnrollment> {
    const { body } = await this.http.call<LmsEnrollment>({
      operation: 'enroll learner',
      method: 'POST',
      path: `${BASE}/enterprise-course-enrollment/`,
      body: {
        enterprise_customer_uuid: input.customerUuid,
        lms_user_id: input.lmsUserId,
        course_run_key: input.courseRunKey,
        source: 'learner_credit',
        transaction_id: input.transactionUuid,
      },
    });
    return body;
  }

  /**
   * Enrolls learners (by email) in course runs under their licenses, best effort, in one call of
   * at most 1000 items (edx-enterprise `enroll_learners_in_courses`). Safe to repeat: a repeat
   * answers the same items with `created: false`. A 409 (some failed) is an answer, not an error.
   */
  async enrollLearnersInCourses(
    customerUuid: string,
    body: { licenses_info: Array<{ email: string; course_run_key: string; license_uuid: string }>; notify: boolean },
  ): Promise<{ status: number; body: LmsBulkEnrollmentAnswer }> {
    return this.http.call<LmsBulkEnrollmentAnswer>({
      operation: 'enroll learners in courses',
      method: 'POST',
      path: `${BASE}/enterprise-customer/${customerUuid}/enroll_learners_in_courses/`,
      body,
      accept: [409],
    });
  }

  /** Get-or-create on the LMS side too: 200 existing / 201 new. */
  async createCatalog(customerUuid: string, title: string, catalogQueryId: number): Promise<LmsCatalog> {
    const { body } = await this.http.call<LmsCatalog>({
      operation: 'create enterprise catalog',
      method: 'POST',
      path: `${BASE}/enterprise_customer_catalog/`,
      body: { enterprise_customer: customerUuid, title, enterprise_catalog_query: catalogQueryId },
    });
    return body;
  }
}

function hasFieldError(body: unknown, field: string): boolean {
  return typeof body === 'object' && body !== null && field in body;
}
