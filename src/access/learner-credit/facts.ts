/**
 * Every fact about a learner-credit decision that lives outside the orchestrator's own records:
 * the learner's link to the customer (lms), the content in a policy's catalog and its price
 * (catalog), the subsidy and the learner's ledger transactions (subsidy). Both `GET can-redeem`
 * and the redemption's check-and-reserve step read them here and turn them into the same
 * `ExternalFacts`, so the two cannot disagree; they differ only in freshness: can-redeem reuses
 * cached answers, a redemption reads everything fresh. Nothing here writes.
 *
 * The learner's ledger transactions are cached under a fingerprint of the learner's own
 * redemption records (see `learnerRedemptionState`): a redemption, a release or a reversal (learnt
 * from the ledger's reversal feed) changes the fingerprint, so a cached copy is used exactly as
 * long as nothing it describes has changed, and a learner who holds a key costs no ledger call.
 */
import type { ServiceClients } from '../../clients';
import type { ContentMetadata } from '../../clients/catalog';
import type { LmsEnterpriseLearner } from '../../clients/lms';
import type { LedgerTransaction, SubsidyRecord } from '../../clients/subsidy';
import { ServiceError } from '../../lib/http-client';
import { ReadThrough } from '../../lib/read-through-cache';
import type { ExternalFacts } from './can-redeem';
import { historicalRedemptionUuids, redemptionIdempotencyKey } from './idempotency';
import type { EnterpriseAdministrator } from './reasons';

/** A committed transaction that has not been reversed: the learner holds the content. */
export const isSuccessfulRedemption = (t: LedgerTransaction) =>
  t.state === 'committed' && t.reversal?.state !== 'committed';

/** Subsidy balances move with every redemption: can-redeem reuses them for two seconds at most. */
const SUBSIDY_CACHE_SECONDS = 2;

export interface PolicyRef {
  uuid: string;
  enterprise_customer_uuid: string;
  subsidy_uuid: string;
  catalog_uuid: string;
}

/** Everything a redemption needs from the other systems, read fresh. */
export interface RedemptionFacts {
  external: ExternalFacts;
  /** The ledger key this redemption will use (spec §7.3): it changes after a failure or reversal. */
  idempotencyKey: string;
  /** The learner's transactions of this content that were reversed (refunds to give back). */
  reversedTransactionUuids: string[];
}

export class LearnerCreditFacts {
  private readonly learners: ReadThrough<LmsEnterpriseLearner | null>;
  private readonly contents: ReadThrough<ContentMetadata | null>;
  private readonly administrators: ReadThrough<EnterpriseAdministrator[]>;
  private readonly subsidies: ReadThrough<SubsidyRecord | null>;
  private readonly ledgers: ReadThrough<LedgerTransaction[]>;

  constructor(
    private readonly clients: ServiceClients,
    cacheSeconds: number,
  ) {
    this.learners = new ReadThrough(cacheSeconds);
    this.contents = new ReadThrough(cacheSeconds);
    this.administrators = new ReadThrough(cacheSeconds);
    this.subsidies = new ReadThrough(Math.min(cacheSeconds, SUBSIDY_CACHE_SECONDS));
    // Keyed by the fingerprint of the local records, so the time limit is only a bound on memory.
    this.ledgers = new ReadThrough(cacheSeconds > 0 ? 600 : 0, 20_000);
  }

  /** The learner's enterprise record, or null when the learner is not linked to the customer. */
  learner(customerUuid: string, lmsUserId: number, fresh = false): Promise<LmsEnterpriseLearner | null> {
    const read = async () => (await this.clients.lmsApi.findLearner(customerUuid, lmsUserId)) ?? null;
    return fresh ? read() : this.learners.get(`${customerUuid}|${lmsUserId}`, read);
  }

  /** The subsidy, or null when the subsidy service does not know it. */
  subsidy(subsidyUuid: string, fresh = false): Promise<SubsidyRecord | null> {
    const read = async () => {
      try {
        return await this.clients.subsidyApi.get(subsidyUuid);
      } catch (err) {
        if (err instanceof ServiceError && err.status === 404) return null;
        throw err;
      }
    };
    return fresh ? read() : this.subsidies.get(subsidyUuid, read);
  }

  /** Metadata of those `keys` the catalog holds (null for the others): one catalog call at most. */
  async catalogContents(
    catalogUuid: string,
    keys: readonly string[],
    fresh = false,
  ): Promise<Map<string, ContentMetadata | null>> {
    const fetch = async (wanted: readonly string[]) => {
      const items = await this.clients.catalogApi.contentInCatalog(catalogUuid, wanted);
      return new Map(items.map((i) => [i.content_key, i]));
    };
    if (fresh) {
      const found = await fetch(keys);
      return new Map(keys.map((k) => [k, found.get(k) ?? null]));
    }
    const prefix = `${catalogUuid}|`;
    const found = await this.contents.getMany(
      keys.map((k) => prefix + k),
      async (missing) => {
        const items = await fetch(missing.map((m) => m.slice(prefix.length)));
        return new Map([...items].map(([k, v]) => [prefix + k, v]));
      },
      null,
    );
    return new Map(keys.map((k) => [k, found.get(prefix + k) ?? null]));
  }

  /** Who a learner should ask for more credit (the reasons' `enterprise_administrators`). */
  admins(customerUuid: string): Promise<EnterpriseAdministrator[]> {
    return this.administrators.get(customerUuid, async () => {
      const c = await this.clients.lmsApi.getCustomer(customerUuid);
      const contact = c?.contact_email;
      if (contact) return [{ email: contact, lms_user_id: null }];
      return (c?.admin_users ?? []).map((a) => ({ email: a.email, lms_user_id: a.lms_user_id }));
    });
  }

  /**
   * The learner's non-failed transactions in one subsidy, reused while `version` (the
   * fingerprint of the learner's local redemption records) is unchanged.
   */
  learnerTransactions(subsidyUuid: string, lmsUserId: number, version: string): Promise<LedgerTransaction[]> {
    return this.ledgers.get(`${subsidyUuid}|${lmsUserId}|${version}`, () =>
      this.clients.subsidyApi.learnerTransactions(subsidyUuid, lmsUserId),
    );
  }

  /** Everything one redemption needs from the lms, the catalog and the ledger, fresh and at once. */
  async forRedemption(policy: PolicyRef, lmsUserId: number, contentKey: string): Promise<RedemptionFacts> {
    const [learner, contents, subsidy, history] = await Promise.all([
      this.learner(policy.enterprise_customer_uuid, lmsUserId, true),
      this.catalogContents(policy.catalog_uuid, [contentKey], true),
      this.subsidy(policy.subsidy_uuid, true),
      this.clients.subsidyApi.learnerContentTransactions(policy.subsidy_uuid, lmsUserId, contentKey),
    ]);
    return {
      external: externalFacts(learner, contents.get(contentKey) ?? null, subsidy, history.some(isSuccessfulRedemption)),
      idempotencyKey: idempotencyKeyOf(policy, lmsUserId, contentKey, history),
      reversedTransactionUuids: history.filter((t) => t.reversal?.state === 'committed').map((t) => t.uuid),
    };
  }
}

/** The other systems' answers as the can_redeem rules read them. */
export function externalFacts(
  learner: LmsEnterpriseLearner | null,
  content: ContentMetadata | null,
  subsidy: SubsidyRecord | null,
  heldInSubsidy: boolean,
): ExternalFacts {
  return {
    learner: learner ? { groupUuids: learner.enterprise_group ?? [] } : null,
    content: content
      ? {
          priceCents: content.content_price,
          enrollBy: content.enroll_by_date ? new Date(content.enroll_by_date) : null,
        }
      : null,
    subsidy: subsidy ? { active: subsidy.is_active, balanceCents: subsidy.current_balance } : null,
    heldInSubsidy,
  };
}

function idempotencyKeyOf(
  policy: PolicyRef,
  lmsUserId: number,
  contentKey: string,
  history: readonly LedgerTransaction[],
): string {
  return redemptionIdempotencyKey({
    subsidyUuid: policy.subsidy_uuid,
    lmsUserId,
    contentKey,
    policyUuid: policy.uuid,
    historicalRedemptionUuids: historicalRedemptionUuids(history),
  });
}
