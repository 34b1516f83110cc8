/**
 * `GET .../can-redeem/` (spec learner-credit §13): for each content key, the learner's existing
 * redemptions, and either the policy that would pay for it or the reasons none would. Facts
 * come from the services (cached where upstream caches them too) and the local aggregates.
 */
import type { Kysely } from 'kysely';
import { evaluateCanRedeem, isLateRedemptionAllowed, resolutionOrder } from '../../access/learner-credit/can-redeem';
import { learnerRedemptionState } from '../../access/learner-credit/learner-state';
import { type Policy, policyFacts } from '../../access/learner-credit/policy-store';
import {
  type EnterpriseAdministrator,
  type ReasonCode,
  type ReasonObject,
  reasonObjects,
} from '../../access/learner-credit/reasons';
import { reconcileReversals } from '../../access/learner-credit/redemption-store';
import type { AccessDB } from '../../access/schema';
import type { ServiceClients } from '../../clients';
import type { ContentMetadata } from '../../clients/catalog';
import type { LmsEnterpriseLearner } from '../../clients/lms';
import type { LedgerTransaction, SubsidyRecord } from '../../clients/subsidy';
import { ServiceError } from '../../lib/http-client';
import { HttpError, notFound } from '../../lib/http-errors';
import { ReadThrough } from './caches';

export interface Redemption extends LedgerTransaction {
  policy_redemption_status_url: string;
  courseware_url: string;
}

export interface CanRedeemItem {
  content_key: string;
  list_price: { usd: number; usd_cents: number } | null;
  redemptions: Redemption[];
  has_successful_redemption: boolean;
  redeemable_subsidy_access_policy: RedeemablePolicy | null;
  can_redeem: boolean;
  reasons: ReasonObject[];
  display_reason: ReasonObject | null;
}

/** The policy as can-redeem shows it (upstream's redeemable-policy serializer: no aggregates). */
export function redeemablePolicyView(p: Policy, subsidy: SubsidyRecord | null, now: Date) {
  const facts = policyFacts(p);
  return {
    uuid: p.uuid,
    policy_type: p.policy_type,
    display_name: p.display_name,
    description: p.description,
    active: p.active,
    retired: p.retired,
    enterprise_customer_uuid: p.enterprise_customer_uuid,
    catalog_uuid: p.catalog_uuid,
    subsidy_uuid: p.subsidy_uuid,
    access_method: p.access_method,
    spend_limit: facts.spendLimit,
    per_learner_spend_limit: facts.perLearnerSpendLimit,
    per_learner_enrollment_limit: facts.perLearnerEnrollmentLimit,
    subsidy_active_datetime: subsidy?.active_datetime ?? null,
    subsidy_expiration_datetime: subsidy?.expiration_datetime ?? null,
    is_subsidy_active: subsidy?.is_active ?? null,
    late_redemption_allowed_until: p.late_redemption_allowed_until?.toISOString() ?? null,
    is_late_redemption_allowed: isLateRedemptionAllowed(facts, now),
    group_associations: p.group_uuids,
    created: p.created.toISOString(),
    policy_redemption_url: `/api/v1/policy-redemption/${p.uuid}/redeem/`,
  };
}

export type RedeemablePolicy = ReturnType<typeof redeemablePolicyView>;

export interface CanRedeemReaderDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
  cacheSeconds: number;
}

const isSuccessful = (t: LedgerTransaction) => t.state === 'committed' && t.reversal?.state !== 'committed';

/** A subsidy failure as upstream answers it: 422 with the subsidy's words and status. */
export function subsidyApiError(err: unknown): unknown {
  if (!(err instanceof ServiceError) || err.service !== 'subsidy') return err;
  const body = typeof err.body === 'object' && err.body !== null ? (err.body as Record<string, unknown>) : {};
  const words = typeof body.detail === 'string' ? body.detail : typeof err.body === 'string' ? err.body : err.message;
  return new HttpError(422, {
    ...body,
    detail: `Subsidy Transaction API error: ${words}`,
    subsidy_status_code: String(err.status ?? 503),
  });
}

async function applySeenReversals(db: Kysely<AccessDB>, txs: LedgerTransaction[]): Promise<boolean> {
  const byPolicy = new Map<string, string[]>();
  for (const t of txs) {
    if (t.reversal?.state !== 'committed' || !t.subsidy_access_policy_uuid) continue;
    byPolicy.set(t.subsidy_access_policy_uuid, [...(byPolicy.get(t.subsidy_access_policy_uuid) ?? []), t.uuid]);
  }
  let changed = 0;
  for (const [policy, uuids] of byPolicy) {
    changed += await reconcileReversals(db, { policy_uuid: policy, reversed_transaction_uuids: uuids });
  }
  return changed > 0;
}

export function createCanRedeemReader({ db, clients, cacheSeconds }: CanRedeemReaderDeps) {
  const learners = new ReadThrough<LmsEnterpriseLearner | null>(cacheSeconds);
  const contents = new ReadThrough<ContentMetadata | null>(cacheSeconds);
  const admins = new ReadThrough<EnterpriseAdministrator[]>(cacheSeconds);
  // Balance and activity move with every redemption: a very short reuse only.
  const subsidies = new ReadThrough<SubsidyRecord | null>(Math.min(cacheSeconds, 2));
  const lmsBase = clients.lms.baseUrl;

  const learnerOf = (customer: string, user: number) =>
    learners.get(`${customer}|${user}`, async () => (await clients.lmsApi.findLearner(customer, user)) ?? null);
  const subsidyOf = (uuid: string) =>
    subsidies.get(uuid, async () => {
      try {
        return await clients.subsidyApi.get(uuid);
      } catch (err) {
        if (err instanceof ServiceError && err.status === 404) return null;
        throw err;
      }
    });
  const adminsOf = (customer: string) =>
    admins.get(customer, async () => {
      const c = await clients.lmsApi.getCustomer(customer);
      const contact = c?.contact_email;
      if (contact) return [{ email: contact, lms_user_id: null }];
      return (c?.admin_users ?? []).map((a) => ({ email: a.email, lms_user_id: a.lms_user_id }));
    });
  /** Content metadata by key, for the keys each catalog contains (one catalog call per catalog). */
  async function catalogContents(catalogs: string[], keys: string[]) {
    const byCatalog = new Map<string, Map<string, ContentMetadata | null>>();
    await Promise.all(
      catalogs.map(async (catalog) => {
        const found = await contents.getMany(
          keys.map((k) => `${catalog}|${k}`),
          async (missing) => {
            const wanted = missing.map((m) => m.slice(catalog.length + 1));
            const items = await clients.catalogApi.contentInCatalog(catalog, wanted);
            return new Map(items.map((i) => [`${catalog}|${i.content_key}`, i]));
          },
          null,
        );
        byCatalog.set(catalog, new Map(keys.map((k) => [k, found.get(`${catalog}|${k}`) ?? null])));
      }),
    );
    return byCatalog;
  }

  return async function canRedeem(input: {
    customerUuid: string;
    lmsUserId: number;
    contentKeys: string[];
    now?: Date;
  }): Promise<CanRedeemItem[]> {
    const now = input.now ?? new Date();
    const keys = [...new Set(input.contentKeys)];
    const state = await learnerRedemptionState(db, input.customerUuid, input.lmsUserId, keys);
    let policies = state.policies;
    if (policies.length === 0) throw notFound('No active policies for this customer');
    const subsidyUuids = [...new Set(policies.map((p) => p.subsidy_uuid))];
    const catalogUuids = [...new Set(policies.map((p) => p.catalog_uuid))];

    let gathered: [
      LmsEnterpriseLearner | null,
      Array<SubsidyRecord | null>,
      LedgerTransaction[][],
      Awaited<ReturnType<typeof catalogContents>>,
      EnterpriseAdministrator[],
    ];
    try {
      gathered = await Promise.all([
        learnerOf(input.customerUuid, input.lmsUserId),
        Promise.all(subsidyUuids.map(subsidyOf)),
        // The ledger is asked only when the learner holds some of these keys here: their
        // transactions (and any reversal since) come from it fresh. Otherwise there are none.
        state.heldKeys.size === 0
          ? Promise.resolve(subsidyUuids.map(() => []))
          : Promise.all(subsidyUuids.map((s) => clients.subsidyApi.learnerTransactions(s, input.lmsUserId))),
        catalogContents(catalogUuids, keys),
        adminsOf(input.customerUuid),
      ]);
    } catch (err) {
      throw subsidyApiError(err);
    }
    const [learner, subsidyRecords, txLists, catalogs, administrators] = gathered;
    // Refunds the local aggregates have not seen yet are given back before the limits are read.
    if (await applySeenReversals(db, txLists.flat())) {
      policies = (await learnerRedemptionState(db, input.customerUuid, input.lmsUserId, keys)).policies;
    }
    const subsidyBy = new Map(subsidyUuids.map((s, i) => [s, subsidyRecords[i]]));
    const txBySubsidy = new Map(subsidyUuids.map((s, i) => [s, txLists[i] ?? []]));
    const ordered = resolutionOrder(
      policies.map((p) => {
        const s = subsidyBy.get(p.subsidy_uuid);
        return {
          policy: p,
          type: p.policy_type,
          subsidyExpiration: s?.expiration_datetime ?? '',
          subsidyBalance: s?.current_balance ?? 0,
        };
      }),
    );

    return keys.map((key) => {
      const redemptions: Redemption[] = [...txBySubsidy.values()]
        .flat()
        .filter((t) => t.content_key === key)
        .map((t) => ({
          ...t,
          policy_redemption_status_url: t.transaction_status_api_url,
          courseware_url: `${lmsBase}/courses/${key}/courseware`,
        }));
      const successful = redemptions.find(isSuccessful);
      const priceFrom = (p: Policy | undefined) => catalogs.get(p?.catalog_uuid ?? '')?.get(key)?.content_price ?? null;
      const anyPrice = () => {
        for (const c of catalogs.values()) {
          const price = c.get(key)?.content_price;
          if (price !== null && price !== undefined) return price;
        }
        return null;
      };
      const listPrice = (cents: number | null) => (cents === null ? null : { usd: cents / 100, usd_cents: cents });
      if (successful) {
        const paidBy = policies.find((p) => p.uuid === successful.subsidy_access_policy_uuid);
        return {
          content_key: key,
          list_price: listPrice(priceFrom(paidBy) ?? anyPrice()),
          redemptions,
          has_successful_redemption: true,
          redeemable_subsidy_access_policy: null,
          can_redeem: false,
          reasons: [],
          display_reason: null,
        };
      }

      const verdicts: Array<{ policyUuid: string; reason: ReasonCode }> = [];
      let resolved: Policy | null = null;
      for (const { policy } of ordered) {
        const meta = catalogs.get(policy.catalog_uuid)?.get(key) ?? null;
        const subsidy = subsidyBy.get(policy.subsidy_uuid) ?? null;
        if (meta && meta.content_price === null) {
          throw new HttpError(422, { detail: `Could not determine the price of content ${key}.` });
        }
        const price = meta?.content_price ?? 0;
        const heldInSubsidy = (txBySubsidy.get(policy.subsidy_uuid) ?? []).some(
          (t) => t.content_key === key && isSuccessful(t),
        );
        const active = subsidy?.is_active ?? false;
        const verdict = evaluateCanRedeem({
          now,
          policy: policyFacts(policy),
          learner: { inEnterprise: learner !== null, groupUuids: learner?.enterprise_group ?? [] },
          catalogContainsContent: meta !== null,
          content: meta
            ? { priceCents: price, enrollBy: meta.enroll_by_date ? new Date(meta.enroll_by_date) : null }
            : null,
          subsidy: { active, canRedeem: active && (subsidy?.current_balance ?? 0) >= price && !heldInSubsidy },
          policySpent: policy.policySpent,
          learnerSpent: policy.learnerSpent,
          learnerRedemptions: policy.learnerRedemptions,
        });
        if (verdict.canRedeem) {
          resolved = policy;
          break;
        }
        verdicts.push({ policyUuid: policy.uuid, reason: verdict.reason });
      }
      const reasons = resolved ? [] : reasonObjects(verdicts, administrators);
      return {
        content_key: key,
        list_price: listPrice(resolved ? priceFrom(resolved) : anyPrice()),
        redemptions,
        has_successful_redemption: false,
        redeemable_subsidy_access_policy: resolved
          ? redeemablePolicyView(resolved, subsidyBy.get(resolved.subsidy_uuid) ?? null, now)
          : null,
        can_redeem: resolved !== null,
        reasons,
        display_reason: reasons[0] ?? null,
      };
    });
  };
}

export type CanRedeemReader = ReturnType<typeof createCanRedeemReader>;
