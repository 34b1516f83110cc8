import { type Kysely, sql } from 'kysely';
import type { CustomerAgreementRow, LicenseManagerDB, LicenseStatus, RenewalRow, SubscriptionPlanRow } from './schema';

/** Queries of the license_manager schema shared by the routes. */
export type LmDb = Kysely<LicenseManagerDB>;

/** A plan with what its representation (and its emails) need from other tables. */
export type PlanView = SubscriptionPlanRow & {
  enterprise_customer_uuid: string;
  plan_type: string;
  enterprise_customer_slug: string | null;
  enterprise_customer_name: string | null;
  disable_onboarding_notifications: boolean;
};

/** A renewal with the start dates of its two plans (for `prior_renewals`). */
export type RenewalFact = RenewalRow & { prior_start_date: Date; renewed_start_date: Date | null };

export type LicenseCounts = Record<LicenseStatus, number>;

/** Per-plan facts loaded in a fixed number of queries for a whole page of plans. */
export interface PlanFacts {
  counts: Map<string, LicenseCounts>;
  /** The renewal of a plan (it is the prior plan). */
  renewalByPrior: Map<string, RenewalFact>;
  /** The renewal that created a plan (it is the renewed plan). */
  renewalByRenewed: Map<string, RenewalFact>;
}

export const findAgreement = (db: LmDb, uuid: string): Promise<CustomerAgreementRow | undefined> =>
  db.selectFrom('customer_agreements').selectAll().where('uuid', '=', uuid).executeTakeFirst();

export function selectPlans(db: LmDb) {
  return db
    .selectFrom('subscription_plans as p')
    .innerJoin('customer_agreements as a', 'a.uuid', 'p.customer_agreement')
    .innerJoin('products as pr', 'pr.id', 'p.product_id')
    .innerJoin('plan_types as pt', 'pt.id', 'pr.plan_type_id')
    .selectAll('p')
    .select([
      'a.enterprise_customer_uuid',
      'pt.label as plan_type',
      'a.enterprise_customer_slug',
      'a.enterprise_customer_name',
      'a.disable_onboarding_notifications',
    ]);
}

export const findPlan = (db: LmDb, uuid: string): Promise<PlanView | undefined> =>
  selectPlans(db).where('p.uuid', '=', uuid).executeTakeFirst();

/** A product with the plan-type flag that decides whether a Salesforce line item is required. */
export const findProduct = (db: LmDb, id: number) =>
  db
    .selectFrom('products as pr')
    .innerJoin('plan_types as pt', 'pt.id', 'pr.plan_type_id')
    .select(['pr.id', 'pt.sf_id_required'])
    .where('pr.id', '=', id)
    .executeTakeFirst();

/**
 * Adds `n` unassigned licenses to a plan in one set-based statement (upstream creates them in
 * Python batches of 300, asynchronously above that): 10,000 rows take a fraction of a second,
 * so provisioning stays synchronous and inside the caller's transaction.
 */
export async function addUnassignedLicenses(db: LmDb, planUuid: string, n: number): Promise<void> {
  if (n <= 0) return;
  await db
    .insertInto('licenses')
    .columns(['uuid', 'subscription_plan', 'status'])
    .expression(
      db
        .selectFrom(sql<{ n: number }>`generate_series(1, ${n}::integer)`.as('g'))
        .select([
          sql<string>`gen_random_uuid()`.as('uuid'),
          sql<string>`${planUuid}::uuid`.as('subscription_plan'),
          sql<LicenseStatus>`'unassigned'`.as('status'),
        ]),
    )
    .execute();
}

/** Licenses that count towards a plan's size: all but revoked (a revocation adds a fresh one). */
export async function countNonRevokedLicenses(db: LmDb, planUuid: string): Promise<number> {
  const row = await db
    .selectFrom('licenses')
    .select(sql<number>`count(*)::integer`.as('n'))
    .where('subscription_plan', '=', planUuid)
    .where('status', '<>', 'revoked')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const emptyCounts = (): LicenseCounts => ({ unassigned: 0, assigned: 0, activated: 0, revoked: 0 });

/**
 * License counts and renewal chains for `plans`. Renewals link plans of one agreement only, so
 * loading the renewals of the plans' agreements gives every chain in full.
 */
export async function loadPlanFacts(
  db: LmDb,
  plans: ReadonlyArray<Pick<SubscriptionPlanRow, 'uuid' | 'customer_agreement'>>,
): Promise<PlanFacts> {
  const facts: PlanFacts = { counts: new Map(), renewalByPrior: new Map(), renewalByRenewed: new Map() };
  if (plans.length === 0) return facts;
  const planUuids = [...new Set(plans.map((p) => p.uuid))];
  const agreementUuids = [...new Set(plans.map((p) => p.customer_agreement))];
  const [counts, renewals] = await Promise.all([
    db
      .selectFrom('licenses')
      .select(['subscription_plan', 'status', sql<number>`count(*)::integer`.as('n')])
      .where('subscription_plan', 'in', planUuids)
      .groupBy(['subscription_plan', 'status'])
      .execute(),
    db
      .selectFrom('subscription_plan_renewals as r')
      .innerJoin('subscription_plans as pp', 'pp.uuid', 'r.prior_subscription_plan')
      .leftJoin('subscription_plans as rp', 'rp.uuid', 'r.renewed_subscription_plan')
      .selectAll('r')
      .select(['pp.start_date as prior_start_date', 'rp.start_date as renewed_start_date'])
      .where('pp.customer_agreement', 'in', agreementUuids)
      .execute(),
  ]);
  for (const uuid of planUuids) facts.counts.set(uuid, emptyCounts());
  for (const c of counts) {
    const entry = facts.counts.get(c.subscription_plan);
    if (entry) entry[c.status] = Number(c.n);
  }
  for (const r of renewals) {
    facts.renewalByPrior.set(r.prior_subscription_plan, r);
    if (r.renewed_subscription_plan) facts.renewalByRenewed.set(r.renewed_subscription_plan, r);
  }
  return facts;
}

/** Every plan of the given agreements (newest start first), for the agreement representation. */
export async function plansOfAgreements(db: LmDb, agreementUuids: readonly string[]): Promise<PlanView[]> {
  if (agreementUuids.length === 0) return [];
  return selectPlans(db)
    .where('p.customer_agreement', 'in', [...agreementUuids])
    .orderBy('p.start_date', 'desc')
    .orderBy('p.created', 'desc')
    .execute();
}

export const findRenewal = (db: LmDb, id: number): Promise<RenewalRow | undefined> =>
  db.selectFrom('subscription_plan_renewals').selectAll().where('id', '=', id).executeTakeFirst();
