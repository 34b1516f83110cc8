import type { ColumnType, Generated, Selectable } from 'kysely';

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
  /** EnterpriseGroup (ADR 0018): a named subset of a customer's learners that policies can target. */
  enterprise_groups: {
    uuid: Generated<string>;
    enterprise_customer: string;
    /** Unique per customer. */
    name: string;
    created: Generated<Date>;
  };
  /**
   * EnterpriseGroupMembership: exactly one of `enterprise_customer_user` (a linked learner) and
   * `pending_learner_email` (someone without an account yet; made real when they register).
   */
  enterprise_group_memberships: {
    uuid: Generated<string>;
    group_uuid: string;
    enterprise_customer_user: number | null;
    pending_learner_email: string | null;
    created: Generated<Date>;
  };
  /** EnterpriseCourseEnrollment: one per (learner link, course run); its uuid is the fulfillment identifier. */
  enterprise_course_enrollments: {
    uuid: Generated<string>;
    enterprise_customer_user: number;
    /** A course run key, `course-v1:<org>+<course>+<run>`. */
    course_id: string;
    /** One of ENROLLMENT_SOURCES. */
    source: string;
    /** The subsidy ledger transaction that paid for it (learner credit). */
    transaction_id: string | null;
    /** The subscription license it was enrolled under. */
    license_uuid: string | null;
    is_active: Generated<boolean>;
    created: Generated<Date>;
    modified: Generated<Date>;
    unenrolled_at: Date | null;
  };
  /** PendingEnterpriseCustomerUser: an email linked to a customer before its account exists. */
  pending_enterprise_customer_users: {
    id: Generated<number>;
    enterprise_customer: string;
    user_email: string;
    created: Generated<Date>;
  };
  /** PendingEnrollment: an enrollment made real (and deleted) when its pending user registers. */
  pending_enrollments: {
    id: Generated<number>;
    pending_user: number;
    course_id: string;
    /** One of ENROLLMENT_SOURCES. */
    source: string;
    license_uuid: string | null;
    transaction_id: string | null;
    /** numeric(8,5), read back as a string. */
    discount_percentage: ColumnType<string, string | undefined, string>;
    created: Generated<Date>;
    modified: Generated<Date>;
  };
  /** An admin-enrollment email to send for one course: the learners one bulk call newly enrolled. */
  enrollment_notifications: {
    uuid: Generated<string>;
    enterprise_customer: string;
    course_id: string;
    learners: ColumnType<NotifiedLearner[], string, string>;
    admin_enrollment: Generated<boolean>;
    created: Generated<Date>;
  };
}

/** A learner named in an enrollment notification (no lms_user_id while still pending). */
export interface NotifiedLearner {
  email: string;
  lms_user_id: number | null;
}
export type UserRow = Selectable<LmsDB['users']>;
export type CustomerRow = Selectable<LmsDB['enterprise_customers']>;
export type CatalogRow = Selectable<LmsDB['enterprise_customer_catalogs']>;
export type PendingAdminRow = Selectable<LmsDB['pending_enterprise_admins']>;
export type GroupRow = Selectable<LmsDB['enterprise_groups']>;
export type EnrollmentRow = Selectable<LmsDB['enterprise_course_enrollments']>;

/** Role names as edx-enterprise stores them. */
export const ENTERPRISE_ADMIN_ROLE = 'enterprise_admin';
export const ENTERPRISE_LEARNER_ROLE = 'enterprise_learner';

/**
 * Where an enterprise enrollment came from: edx-enterprise's EnterpriseEnrollmentSource slugs plus
 * the two subsidy kinds the orchestrator fulfils. Checked by the route, not the table, so a new
 * source needs no migration.
 */
export const ENROLLMENT_SOURCES = [
  'learner_credit',
  'subscription_license',
  'manual',
  'customer_admin',
  'enterprise_api',
  'enrollment_task',
  'enrollment_url',
  'offer_redemption',
  'management_command',
] as const;
export type EnrollmentSource = (typeof ENROLLMENT_SOURCES)[number];

/** EnterpriseGroupMembership status as upstream reports it (removed members are deleted here). */
export type MembershipStatus = 'accepted' | 'pending';
