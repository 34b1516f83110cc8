import { randomBytes } from 'node:crypto';
import { type Json, type Res, request } from '../helpers/http';
import { createBudget, DEMO_RUN, newLearner } from '../helpers/learner-credit';
import type { TestStack } from '../helpers/stack';
import type { KnownValues } from './openapi-fuzzer';

const DAY = 86_400_000;
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();

async function must<T = Json>(what: string, p: Promise<Res<T>>, ok = [200, 201, 202]): Promise<T> {
  const res = await p;
  if (!ok.includes(res.status))
    throw new Error(`fuzz fixture, ${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface FuzzWorld {
  tokens: Record<string, string | null>;
  known: KnownValues;
  uuidByPath: Array<[RegExp, string]>;
}

/**
 * A real customer for the fuzzer to find: a catalog, a subsidy with a policy and a transaction, a
 * customer agreement with two plans (renewed one into the other) and an assigned license, a
 * learner, an admin, a group and a bulk enrollment job, all made through the apps' own endpoints.
 * The known values let generated requests name these records; the tokens are an operator's, the
 * customer's admin's and learner's, a scoped operator's, and none.
 */
export async function buildFuzzWorld(stack: TestStack): Promise<FuzzWorld> {
  const op = await stack.operatorToken();
  const { lms, subsidy: subsidyUrl } = stack.urls;
  const lm = stack.urls['license-manager'];
  const budget = await createBudget(stack);
  const customer = budget.customer;
  const learner = await newLearner(stack, customer);
  const admin = await newLearner(stack, customer);
  await must(
    'admin',
    request(
      'POST',
      `${lms}/enterprise/api/v1/enterprise-customer-admin/create_admin_by_email`,
      { email: admin.email, enterprise_customer_uuid: customer },
      op,
    ),
  );
  const group = await must<{ uuid: string }>(
    'group',
    request(
      'POST',
      `${lms}/enterprise/api/v1/enterprise_group/`,
      { name: 'Fuzz group', enterprise_customer: customer },
      op,
    ),
  );
  await must(
    'group members',
    request(
      'POST',
      `${lms}/enterprise/api/v1/enterprise_group/${group.uuid}/assign_learners/`,
      { learner_emails: [learner.email, 'pending-fuzz@example.com'] },
      op,
    ),
  );
  const enrollment = await must<{ uuid: string }>(
    'enrollment',
    request(
      'POST',
      `${lms}/enterprise/api/v1/enterprise-course-enrollment/`,
      {
        enterprise_customer_uuid: customer,
        lms_user_id: learner.id,
        course_run_key: DEMO_RUN,
        source: 'customer_admin',
      },
      op,
    ),
  );

  const agreement = await must<{ uuid: string }>(
    'agreement',
    request(
      'POST',
      `${lm}/api/v1/provisioning-admins/customer-agreement/`,
      {
        enterprise_customer_uuid: customer,
        enterprise_customer_slug: `fuzz-${randomBytes(4).toString('hex')}`,
        default_enterprise_catalog_uuid: budget.catalog,
      },
      op,
    ),
  );
  const plan = (title: string, start: number, end: number) =>
    must<{ uuid: string }>(
      `plan ${title}`,
      request(
        'POST',
        `${lm}/api/v1/provisioning-admins/subscriptions/`,
        {
          title,
          customer_agreement: agreement.uuid,
          start_date: daysFromNow(start),
          expiration_date: daysFromNow(end),
          desired_num_licenses: 5,
          product: 2,
          change_reason: 'new',
          salesforce_opportunity_line_item: null,
          enterprise_catalog_uuid: budget.catalog,
        },
        op,
      ),
    );
  const current = await plan('Fuzz trial', -1, 60);
  const next = await plan('Fuzz paid', 60, 425);
  const renewal = await must<{ id: number }>(
    'renewal',
    request(
      'POST',
      `${lm}/api/v1/provisioning-admins/subscription-plan-renewals/`,
      {
        prior_subscription_plan: current.uuid,
        renewed_subscription_plan: next.uuid,
        number_of_licenses: 5,
        effective_date: daysFromNow(60),
        renewed_expiration_date: daysFromNow(425),
      },
      op,
    ),
  );
  await must(
    'assign',
    request(
      'POST',
      `${lm}/api/v1/subscriptions/${current.uuid}/licenses/assign/`,
      { user_emails: [learner.email] },
      op,
    ),
  );
  const licenses = await must<{ results: Array<{ uuid: string; activation_key?: string }> }>(
    'licenses',
    request('GET', `${lm}/api/v1/subscriptions/${current.uuid}/licenses/?status=assigned`, undefined, op),
  );
  const license = licenses.results[0];

  const tx = await must<{ uuid: string }>(
    'transaction',
    request(
      'POST',
      `${subsidyUrl}/api/v2/subsidies/${budget.subsidy}/admin/transactions/`,
      { lms_user_id: learner.id, content_key: DEMO_RUN, subsidy_access_policy_uuid: budget.policy },
      op,
    ),
  );
  const job = await must<{ job_id: string }>(
    'bulk enrollment',
    request(
      'POST',
      `${stack.apiUrl}/api/v1/bulk-license-enrollment?enterprise_customer_uuid=${customer}`,
      { emails: [learner.email], course_run_keys: [DEMO_RUN], notify: false },
      op,
    ),
  );

  const roles = (role: string) => [`${role}:${customer}`];
  const tokens: Record<string, string | null> = {
    operator: op,
    provisioningAdmin: await stack.token({ roles: ['enterprise_provisioning_admin:*'], username: 'provisioner' }),
    scopedOperator: await stack.token({ roles: roles('enterprise_openedx_operator'), userId: admin.id }),
    admin: await stack.token({
      roles: [...roles('enterprise_admin'), ...roles('enterprise_catalog_admin')],
      userId: admin.id,
      email: admin.email,
    }),
    learner: await stack.token({ roles: roles('enterprise_learner'), userId: learner.id, email: learner.email }),
    anonymous: null,
  };

  const uuids = [
    customer,
    budget.catalog,
    budget.subsidy,
    budget.policy,
    group.uuid,
    enrollment.uuid,
    agreement.uuid,
    current.uuid,
    next.uuid,
    tx.uuid,
    job.job_id,
    ...(license ? [license.uuid] : []),
  ];
  const known: KnownValues = {
    uuid: uuids,
    customer_uuid: [customer],
    enterprise_customer_uuid: [customer],
    default_enterprise_customer_uuid: [customer],
    enterprise_customer: [customer],
    enterprise_uuid: [customer],
    enterprise_uuids: [customer],
    catalog_uuid: [budget.catalog],
    enterprise_catalog_uuid: [budget.catalog],
    default_enterprise_catalog_uuid: [budget.catalog],
    subsidy_uuid: [budget.subsidy],
    policy_uuid: [budget.policy],
    subsidy_access_policy_uuid: [budget.policy],
    group_uuid: [group.uuid],
    group_association: [group.uuid],
    enrollment_uuid: [enrollment.uuid],
    customer_agreement_uuid: [agreement.uuid],
    customer_agreement: [agreement.uuid],
    subscription_uuid: [current.uuid, next.uuid],
    subscription_plan: [current.uuid],
    prior_subscription_plan: [current.uuid, next.uuid],
    renewed_subscription_plan: [next.uuid],
    license_uuid: license ? [license.uuid] : [],
    license: license ? [license.uuid] : [],
    activation_key: license?.activation_key ? [license.activation_key] : [],
    tx_uuid: [tx.uuid],
    transaction_uuid: [tx.uuid],
    bulk_enrollment_job_uuid: [job.job_id],
    id: [renewal.id, 1],
    lms_user_id: [learner.id, admin.id],
    user_id: [learner.id, admin.id],
    user_ids: [String(learner.id)],
    email: [learner.email, admin.email],
    user_email: [learner.email],
    learner_email: [learner.email, 'pending-fuzz@example.com'],
    user_emails: [[learner.email]],
    emails: [[learner.email]],
    recipient: [learner.email],
    content_key: [DEMO_RUN],
    course_run_key: [DEMO_RUN],
    course_run_keys: [[DEMO_RUN]],
    content_keys: [DEMO_RUN],
    course_run_ids: [DEMO_RUN],
    product: [2, 1],
    enterprise_catalog_query: [1],
    catalog_query_id: [1],
  };
  const uuidByPath: Array<[RegExp, string]> = [
    [/enterprise-customer\/\{uuid\}|enterprise-customer\/\{customer_uuid\}/, 'customer_uuid'],
    [/enterprise[-_]group\/\{uuid\}/, 'group_uuid'],
    [/enterprise-course-enrollment\/\{uuid\}/, 'enrollment_uuid'],
    [/enterprise-catalogs\/\{uuid\}/, 'catalog_uuid'],
    [/subsidy-access-policies\/\{uuid\}/, 'policy_uuid'],
    [/subsidies\/\{uuid\}/, 'subsidy_uuid'],
    [/transactions\/\{uuid\}/, 'tx_uuid'],
  ];
  return { tokens, known, uuidByPath };
}
