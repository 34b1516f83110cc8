import type { Generated, Selectable } from 'kysely';

/** Tables of the lms schema (edx-platform accounts + edx-enterprise records). */
export interface LmsDB {
  users: {
    /** The lms_user_id other services refer to. */
    id: Generated<number>;
    username: string;
    email: string;
    date_joined: Generated<Date>;
  };
  /** django.contrib.sites: a customer belongs to one site, looked up by domain. */
  sites: {
    id: Generated<number>;
    domain: string;
    name: string;
  };
  enterprise_customers: {
    uuid: Generated<string>;
    name: string;
    /** Unique, ≤ 30 characters of `[-a-zA-Z0-9_]`. */
    slug: string;
    /** ISO 3166-1 alpha-2, upper case. */
    country: string;
    active: Generated<boolean>;
    site_domain: string;
    enable_portal_subscription_management_screen: Generated<boolean>;
    enable_analytics_screen: Generated<boolean>;
    created: Generated<Date>;
    modified: Generated<Date>;
  };
  /** EnterpriseCatalogQuery: the content filter a catalog uses (only id and title are kept). */
  catalog_queries: {
    id: number;
    title: string;
  };
  enterprise_customer_catalogs: {
    uuid: Generated<string>;
    enterprise_customer: string;
    title: string;
    enterprise_catalog_query: number | null;
    created: Generated<Date>;
    modified: Generated<Date>;
  };
  /** EnterpriseCustomerUser: a learner linked to a customer. */
  enterprise_customer_users: {
    id: Generated<number>;
    enterprise_customer: string;
    user_id: number;
    active: Generated<boolean>;
    created: Generated<Date>;
  };
  /** SystemWideEnterpriseUserRoleAssignment, always scoped to one customer here. */
  role_assignments: {
    id: Generated<number>;
    user_id: number;
    role: string;
    enterprise_customer: string;
  };
  /** PendingEnterpriseCustomerAdminUser: an admin-to-be who has no account yet. */
  pending_enterprise_admins: {
    id: Generated<number>;
    enterprise_customer: string;
    user_email: string;
    created: Generated<Date>;
  };
}
export type UserRow = Selectable<LmsDB['users']>;
export type CustomerRow = Selectable<LmsDB['enterprise_customers']>;
export type CatalogRow = Selectable<LmsDB['enterprise_customer_catalogs']>;
export type PendingAdminRow = Selectable<LmsDB['pending_enterprise_admins']>;

/** Role names as edx-enterprise stores them. */
export const ENTERPRISE_ADMIN_ROLE = 'enterprise_admin';
export const ENTERPRISE_LEARNER_ROLE = 'enterprise_learner';
