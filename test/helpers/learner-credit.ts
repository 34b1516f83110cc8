import { randomBytes, randomUUID } from 'node:crypto';
import type { PolicyType } from '../../src/access/learner-credit/can-redeem';
import { type Json, type Res, request } from './http';
import type { TestStack } from './stack';

/** A run in the seed catalog: $199 course, run priced from its course, enrollable until 2028. */
export const DEMO_RUN = 'course-v1:edX+DemoX+2026';
export const DEMO_PRICE = 19_900;
export const PAST_DEADLINE_RUN = 'course-v1:edX+PastDeadlineX+2025_T2';
export const NO_PRICE_RUN = 'course-v1:edX+FreeX+2027';

const DAY = 86_400_000;
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();

export interface Budget {
  customer: string;
  catalog: string;
  subsidy: string;
  policy: string;
}

export interface BudgetOptions {
  policyType?: PolicyType;
  spendLimit?: number | null;
  perLearnerSpendLimit?: number | null;
  perLearnerEnrollmentLimit?: number | null;
  startingBalance?: number;
  groups?: string[];
  subsidyActive?: boolean;
  catalogQuery?: number;
}

async function must<T>(what: string, p: Promise<Res<T>>, ok = [200, 201]): Promise<T> {
  const res = await p;
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * A customer with a catalog (all content), a subsidy and one policy on them, made through the
 * services' and the api's own endpoints.
 */
export async function createBudget(stack: TestStack, o: BudgetOptions = {}): Promise<Budget> {
  const op = await stack.operatorToken();
  const lms = stack.urls.lms;
  const customer = await must<{ uuid: string }>(
    'customer',
    request(
      'POST',
      `${lms}/enterprise/api/v1/enterprise-customer/`,
      {
        name: 'Budget Co',
        slug: `b-${randomBytes(5).toString('hex')}`,
        country: 'US',
      },
      op,
    ),
  );
  const catalog = await must<{ uuid: string }>(
    'catalog',
    request(
      'POST',
      `${lms}/enterprise/api/v1/enterprise_customer_catalog/`,
      {
        enterprise_customer: customer.uuid,
        title: `Catalog ${randomBytes(3).toString('hex')}`,
        enterprise_catalog_query: o.catalogQuery ?? 1,
      },
      op,
    ),
  );
  const active = o.subsidyActive ?? true;
  const subsidy = await must<{ uuid: string }>(
    'subsidy',
    request(
      'POST',
      `${stack.urls.subsidy}/api/v1/subsidies/`,
      {
        reference_id: `00k${randomUUID().replaceAll('-', '').slice(0, 15)}`,
        default_title: 'Learner credit',
        default_enterprise_customer_uuid: customer.uuid,
        default_active_datetime: daysFromNow(active ? -1 : -30),
        default_expiration_datetime: daysFromNow(active ? 365 : -1),
        default_unit: 'usd_cents',
        default_starting_balance: o.startingBalance ?? 1_000_000,
        default_revenue_category: 'bulk-enrollment-prepay',
        default_internal_only: false,
      },
      op,
    ),
  );
  const type = o.policyType ?? 'PerLearnerSpendCreditAccessPolicy';
  const policy = await must<{ uuid: string }>(
    'policy',
    request(
      'POST',
      `${stack.apiUrl}/api/v1/subsidy-access-policies/`,
      {
        policy_type: type,
        enterprise_customer_uuid: customer.uuid,
        catalog_uuid: catalog.uuid,
        subsidy_uuid: subsidy.uuid,
        access_method: 'direct',
        display_name: 'Budget',
        description: 'test budget',
        active: true,
        spend_limit: o.spendLimit === undefined ? 500_000 : o.spendLimit,
        per_learner_spend_limit: type === 'PerLearnerSpendCreditAccessPolicy' ? (o.perLearnerSpendLimit ?? null) : null,
        per_learner_enrollment_limit:
          type === 'PerLearnerEnrollmentCreditAccessPolicy' ? (o.perLearnerEnrollmentLimit ?? null) : null,
        ...(o.groups ? { group_associations: o.groups } : {}),
      },
      op,
    ),
  );
  return { customer: customer.uuid, catalog: catalog.uuid, subsidy: subsidy.uuid, policy: policy.uuid };
}

/** A new lms user, linked to the customer unless `link` is false. */
export async function newLearner(
  stack: TestStack,
  customer: string,
  link = true,
): Promise<{ id: number; email: string }> {
  const op = await stack.operatorToken();
  const email = `learner-${randomBytes(5).toString('hex')}@example.com`;
  const user = await must<{ id: number; email: string }>(
    'user',
    request('POST', `${stack.urls.lms}/api/user/v1/accounts`, { email }, op),
  );
  if (link) {
    await must(
      'link learner',
      request(
        'POST',
        `${stack.urls.lms}/enterprise/api/v1/enterprise-learner/`,
        {
          enterprise_customer: customer,
          user_id: user.id,
        },
        op,
      ),
    );
  }
  return user;
}

/** Course runs imported into the catalog service: `count` runs at `price` cents each. */
export async function importRuns(stack: TestStack, count: number, price: number, tag = randomBytes(3).toString('hex')) {
  const op = await stack.operatorToken();
  const future = daysFromNow(365);
  const course = `edX+Bulk${tag}`;
  const runs = Array.from({ length: count }, (_, i) => `course-v1:edX+Bulk${tag}+R${i}`);
  const item = (content_key: string, content_type: string, parent: string | null) => ({
    content_key,
    content_type,
    parent_content_key: parent,
    title: `Title of ${content_key}`,
    org: 'edX',
    content_price_cents: price,
    enroll_by_date: future,
    start_date: future,
    end_date: future,
    is_active: true,
  });
  await must(
    'import',
    request(
      'POST',
      `${stack.urls.catalog}/api/v1/content-items/import/`,
      {
        items: [item(course, 'course', null), ...runs.map((r) => item(r, 'courserun', course))],
      },
      op,
    ),
  );
  return runs;
}

export const learnerToken = (stack: TestStack, customer: string, userId: number) =>
  stack.token({ roles: [`enterprise_learner:${customer}`], userId });

export function redeem(stack: TestStack, token: string, policy: string, body: Json) {
  return request<Json>('POST', `${stack.apiUrl}/api/v1/policy-redemption/${policy}/redeem/`, body, token);
}

export function canRedeem(stack: TestStack, token: string, customer: string, keys: string[], extra = '') {
  const q = keys.map((k) => `content_key=${encodeURIComponent(k)}`).join('&');
  return request<Json[]>(
    'GET',
    `${stack.apiUrl}/api/v1/policy-redemption/enterprise-customer/${customer}/can-redeem/?${q}${extra}`,
    undefined,
    token,
  );
}
