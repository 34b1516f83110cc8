import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { resultRows } from '../../src/access/bulk-enrollment/store';
import type { AccessDB } from '../../src/access/schema';
import type { LmsDB } from '../../src/services/lms/schema';
import { type Json, type Res, request } from '../helpers/http';
import { importRuns } from '../helpers/learner-credit';
import type { TestStack } from '../helpers/stack';

/**
 * A customer set up for bulk license enrollment through the services' own endpoints: an lms
 * customer with a catalog (all content, synced to the catalog service), a license-manager
 * agreement and plans on that catalog, course runs imported into the catalog, licenses assigned.
 */

const DAY = 86_400_000;
export const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();
export const newEmail = (who = 'learner') => `${who}-${randomBytes(5).toString('hex')}@example.com`;

async function must<T = Json>(what: string, p: Promise<Res<T>>, ok = [200, 201]): Promise<T> {
  const res = await p;
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface LicensedCustomer {
  customer: string;
  agreement: string;
  catalog: string;
  /** Token of an admin of the customer (with user id and email). */
  admin: string;
}

export async function licensedCustomer(stack: TestStack): Promise<LicensedCustomer> {
  const op = await stack.operatorToken();
  const slug = `bulk-${randomBytes(5).toString('hex')}`;
  const customer = await must<{ uuid: string }>(
    'customer',
    request(
      'POST',
      `${stack.urls.lms}/enterprise/api/v1/enterprise-customer/`,
      { name: 'Bulk Co', slug, country: 'US' },
      op,
    ),
  );
  const catalog = await must<{ uuid: string }>(
    'catalog',
    request(
      'POST',
      `${stack.urls.lms}/enterprise/api/v1/enterprise_customer_catalog/`,
      { enterprise_customer: customer.uuid, title: `All ${slug}`, enterprise_catalog_query: 1 },
      op,
    ),
  );
  const agreement = await must<{ uuid: string }>(
    'agreement',
    request(
      'POST',
      `${stack.urls['license-manager']}/api/v1/provisioning-admins/customer-agreement/`,
      {
        enterprise_customer_uuid: customer.uuid,
        enterprise_customer_slug: slug,
        default_enterprise_catalog_uuid: catalog.uuid,
      },
      op,
    ),
  );
  const admin = await stack.token({
    roles: [`enterprise_admin:${customer.uuid}`],
    userId: 1,
    email: newEmail('admin'),
  });
  return { customer: customer.uuid, agreement: agreement.uuid, catalog: catalog.uuid, admin };
}

/** A plan of `licenses` licenses; by default current, active, on the customer's catalog. */
export async function newPlan(
  stack: TestStack,
  c: LicensedCustomer,
  licenses: number,
  overrides: Json = {},
): Promise<string> {
  const op = await stack.operatorToken();
  const plan = await must<{ uuid: string }>(
    'plan',
    request(
      'POST',
      `${stack.urls['license-manager']}/api/v1/provisioning-admins/subscriptions/`,
      {
        title: `Plan ${randomBytes(4).toString('hex')}`,
        start_date: daysFromNow(-10),
        expiration_date: daysFromNow(365),
        customer_agreement: c.agreement,
        enterprise_catalog_uuid: c.catalog,
        desired_num_licenses: licenses,
        product: 2,
        salesforce_opportunity_line_item: null,
        change_reason: 'new',
        is_active: true,
        ...overrides,
      },
      op,
    ),
  );
  return plan.uuid;
}

export async function assignLicenses(stack: TestStack, c: LicensedCustomer, plan: string, emails: string[]) {
  for (let i = 0; i < emails.length; i += 1000) {
    await must(
      'assign',
      request(
        'POST',
        `${stack.urls['license-manager']}/api/v1/subscriptions/${plan}/licenses/assign/`,
        { user_emails: emails.slice(i, i + 1000), notify_users: false },
        c.admin,
      ),
    );
  }
}

export async function revokeLicenses(stack: TestStack, c: LicensedCustomer, plan: string, emails: string[]) {
  await must(
    'revoke',
    request(
      'POST',
      `${stack.urls['license-manager']}/api/v1/subscriptions/${plan}/licenses/bulk-revoke/`,
      { user_emails: emails },
      c.admin,
    ),
  );
}

/** Activates `email`'s license in `plan` as the learner would (the learner gets an lms account first). */
export async function activateLicense(stack: TestStack, c: LicensedCustomer, plan: string, email: string) {
  const user = await newLmsUser(stack, email);
  const key = await stack.db.database
    .forSchema<{ licenses: { activation_key: string | null; user_email: string | null; subscription_plan: string } }>(
      'license_manager',
    )
    .selectFrom('licenses')
    .select('activation_key')
    .where('subscription_plan', '=', plan)
    .where('user_email', '=', email.toLowerCase())
    .executeTakeFirstOrThrow();
  const token = await stack.token({ roles: [`enterprise_learner:${c.customer}`], email, userId: user.id });
  await must(
    'activate',
    request(
      'POST',
      `${stack.urls['license-manager']}/api/v1/license-activation/?activation_key=${key.activation_key}`,
      undefined,
      token,
    ),
  );
  return user;
}

/** An lms account (so an enrollment of this email is a success rather than pending). */
export async function newLmsUser(stack: TestStack, email: string): Promise<{ id: number; email: string }> {
  return must(
    'user',
    request('POST', `${stack.urls.lms}/api/user/v1/accounts`, { email }, await stack.operatorToken()),
  );
}

export async function courseRuns(stack: TestStack, count: number): Promise<string[]> {
  return importRuns(stack, count, 10_000);
}

export const api = (stack: TestStack) => ({
  start: (token: string | null, query: string, body: unknown) =>
    request<Json>('POST', `${stack.apiUrl}/api/v1/bulk-license-enrollment/?${query}`, body, token),
  job: (token: string | null, query: string) =>
    request<Json>('GET', `${stack.apiUrl}/api/v1/bulk-license-enrollment/?${query}`, undefined, token),
});

export interface JobView {
  job_id: string;
  state: string;
  download_url: string | null;
  counts: { total: number; queued: number; success: number; pending: number; failed: number };
  progress: { pairs_total: number | null; pairs_done: number; percent: number };
  count: number;
  next: string | null;
  results: Array<{ email: string; course_run_key: string; status: string; notes: string; license_uuid: string | null }>;
}

/** Polls the job (as `token`) until it has ended. */
export async function jobEnded(stack: TestStack, token: string, customer: string, job: string, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await api(stack).job(token, `enterprise_customer_uuid=${customer}&bulk_enrollment_job_uuid=${job}`);
    if (res.status !== 200) throw new Error(`job: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    const view = res.body as unknown as JobView;
    if (view.state === 'completed' || view.state === 'failed') return view;
    if (Date.now() > deadline) throw new Error(`job still ${view.state}: ${JSON.stringify(view.counts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every pair of the job with its outcome, from the job record. */
export function resultsOf(stack: TestStack, job: string) {
  return resultRows(stack.db.database.forSchema<AccessDB>('access'), job, {});
}

/**
 * The lms's records of these learners' enrollments in these courses, per (email, course):
 * enterprise enrollments of linked learners and pending enrollments of unknown emails.
 */
export async function lmsEnrollments(stack: TestStack, customer: string, emails: string[]) {
  const lms = stack.db.database.forSchema<LmsDB>('lms');
  const lower = emails.map((e) => e.toLowerCase());
  const enrolled = await lms
    .selectFrom('enterprise_course_enrollments as e')
    .innerJoin('enterprise_customer_users as ecu', 'ecu.id', 'e.enterprise_customer_user')
    .innerJoin('users as u', 'u.id', 'ecu.user_id')
    .select([sql<string>`lower(u.email)`.as('email'), 'e.course_id', 'e.license_uuid'])
    .where('ecu.enterprise_customer', '=', customer)
    .where(sql<string>`lower(u.email)`, '=', sql<string>`any(${lower}::text[])`)
    .execute();
  const pending = await lms
    .selectFrom('pending_enrollments as p')
    .innerJoin('pending_enterprise_customer_users as pu', 'pu.id', 'p.pending_user')
    .select([sql<string>`lower(pu.user_email)`.as('email'), 'p.course_id', 'p.license_uuid'])
    .where('pu.enterprise_customer', '=', customer)
    .where(sql<string>`lower(pu.user_email)`, '=', sql<string>`any(${lower}::text[])`)
    .execute();
  return { enrolled, pending };
}
