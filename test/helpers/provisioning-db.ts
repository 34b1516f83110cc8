import { sql } from 'kysely';
import type { TestStack } from './stack';

/**
 * Row counts straight from the services' tables: the tests' proof that a record exists exactly
 * once (production code never reads another component's tables).
 */
export async function provisionedRows(stack: TestStack, slug: string) {
  const db = stack.db.database.root;
  const one = async (q: ReturnType<typeof sql<{ n: number }>>) => Number((await q.execute(db)).rows[0]?.n ?? 0);
  const customer = await sql<{ uuid: string }>`select uuid from lms.enterprise_customers where slug = ${slug}`.execute(
    db,
  );
  const customerUuids = customer.rows.map((r) => r.uuid);
  const uuid = customerUuids[0] ?? '00000000-0000-0000-0000-000000000000';
  return {
    customers: customerUuids.length,
    customerUuid: customerUuids[0],
    admins: await one(
      sql`select count(*)::int as n from lms.role_assignments where enterprise_customer = ${uuid} and role = 'enterprise_admin'`,
    ),
    pendingAdmins: await one(
      sql`select count(*)::int as n from lms.pending_enterprise_admins where enterprise_customer = ${uuid}`,
    ),
    catalogs: await one(
      sql`select count(*)::int as n from lms.enterprise_customer_catalogs where enterprise_customer = ${uuid}`,
    ),
    agreements: await one(
      sql`select count(*)::int as n from license_manager.customer_agreements where enterprise_customer_uuid = ${uuid}`,
    ),
    plans: await one(sql`select count(*)::int as n from license_manager.subscription_plans p
      join license_manager.customer_agreements a on a.uuid = p.customer_agreement where a.enterprise_customer_uuid = ${uuid}`),
    licenses: await one(sql`select count(*)::int as n from license_manager.licenses l
      join license_manager.subscription_plans p on p.uuid = l.subscription_plan
      join license_manager.customer_agreements a on a.uuid = p.customer_agreement where a.enterprise_customer_uuid = ${uuid}`),
    renewals: await one(sql`select count(*)::int as n from license_manager.subscription_plan_renewals r
      join license_manager.subscription_plans p on p.uuid = r.prior_subscription_plan
      join license_manager.customer_agreements a on a.uuid = p.customer_agreement where a.enterprise_customer_uuid = ${uuid}`),
  };
}

/** POST /api/v1/provisioning through the api (inject: no socket needed). */
export async function provision(stack: TestStack, body: unknown, token?: string) {
  const t = token ?? (await stack.token({ roles: ['enterprise_provisioning_admin:*'] }));
  const res = await stack.api.inject({
    method: 'POST',
    url: '/api/v1/provisioning',
    headers: { authorization: `JWT ${t}` },
    payload: body as object,
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { detail?: string } };
}
