import { type HttpClient, ServiceError } from './http';
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

const BASE = '/enterprise/api/v1';

/** Typed calls to the LMS (edx-enterprise) endpoints that provisioning uses (spec provisioning §5). */
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
