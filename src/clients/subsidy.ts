import type { HttpClient } from '../lib/http-client';
import { fetchAllPages } from './pagination';

/** enterprise-subsidy records as the orchestrator reads them (spec learner-credit §12). */
export interface SubsidyRecord {
  uuid: string;
  title: string;
  enterprise_customer_uuid: string;
  active_datetime: string;
  expiration_datetime: string;
  unit: string;
  current_balance: number;
  starting_balance: number;
  is_active: boolean;
  total_deposits: number;
}

export interface LedgerTransaction {
  uuid: string;
  state: 'created' | 'pending' | 'committed' | 'failed';
  idempotency_key: string;
  lms_user_id: number | null;
  lms_user_email: string | null;
  content_key: string | null;
  parent_content_key: string | null;
  content_title: string | null;
  quantity: number;
  unit: string;
  fulfillment_identifier: string | null;
  subsidy_access_policy_uuid: string | null;
  metadata: unknown;
  created: string;
  modified: string;
  reversal: { uuid: string; state: string; quantity: number; idempotency_key: string; created: string | null } | null;
  transaction_status_api_url: string;
}

export interface SubsidyCanRedeem {
  can_redeem: boolean;
  content_price: number | null;
  unit: string;
  all_transactions: LedgerTransaction[];
  active: boolean;
}

/** A committed reversal, as the subsidy's reversal feed lists it. */
export interface LedgerReversal {
  reversal_uuid: string;
  transaction_uuid: string;
  subsidy_uuid: string;
  subsidy_access_policy_uuid: string | null;
  lms_user_id: number | null;
  content_key: string | null;
  quantity: number;
  created: string;
}

/** Non-failed transactions: they hold value against the ledger. */
const LIVE_STATES = ['created', 'pending', 'committed'];

const tx = (subsidy: string) => `/api/v2/subsidies/${subsidy}/admin/transactions`;

/** Typed calls to the subsidy service's ledger endpoints. */
export class SubsidyClient {
  constructor(readonly http: HttpClient) {}

  async get(subsidyUuid: string): Promise<SubsidyRecord> {
    const { body } = await this.http.call<SubsidyRecord>({
      operation: 'get subsidy',
      method: 'GET',
      path: `/api/v1/subsidies/${subsidyUuid}/`,
    });
    return body;
  }

  async canRedeem(subsidyUuid: string, lmsUserId: number, contentKey: string): Promise<SubsidyCanRedeem> {
    const { body } = await this.http.call<SubsidyCanRedeem>({
      operation: 'can_redeem',
      method: 'GET',
      path: `/api/v1/subsidies/${subsidyUuid}/can_redeem/`,
      query: { lms_user_id: lmsUserId, content_key: contentKey },
    });
    return body;
  }

  /** A learner's non-failed transactions in one subsidy (every page). */
  learnerTransactions(subsidyUuid: string, lmsUserId: number): Promise<LedgerTransaction[]> {
    return fetchAllPages(this.http, 'list learner transactions', `${tx(subsidyUuid)}/`, {
      lms_user_id: lmsUserId,
      state: LIVE_STATES,
    });
  }

  /** Every transaction (all states) of a learner for one content key: the redemption history. */
  learnerContentTransactions(subsidyUuid: string, lmsUserId: number, contentKey: string): Promise<LedgerTransaction[]> {
    return fetchAllPages(this.http, 'list learner content transactions', `${tx(subsidyUuid)}/`, {
      lms_user_id: lmsUserId,
      content_key: contentKey,
    });
  }

  /** Committed transactions of a policy that have been reversed (refunded), every page. */
  reversedPolicyTransactions(subsidyUuid: string, policyUuid: string): Promise<LedgerTransaction[]> {
    return fetchAllPages(this.http, 'list reversed transactions', `${tx(subsidyUuid)}/`, {
      subsidy_access_policy_uuid: policyUuid,
      state: 'committed',
      reversed: true,
    });
  }

  /** Σ quantity (≤ 0, reversals netted) of a policy's non-failed transactions. */
  async policySpent(subsidyUuid: string, policyUuid: string): Promise<number> {
    const { body } = await this.http.call<{ aggregates: { total_quantity: number } }>({
      operation: 'policy aggregates',
      method: 'GET',
      path: `${tx(subsidyUuid)}/`,
      query: {
        subsidy_access_policy_uuid: policyUuid,
        state: LIVE_STATES,
        include_aggregates: true,
        page_size: 1,
      },
    });
    return body.aggregates.total_quantity;
  }

  /** Committed reversals created at or after `since` across every subsidy, oldest first (at most `limit`). */
  async reversalsSince(since: Date, limit: number): Promise<LedgerReversal[]> {
    const { body } = await this.http.call<{ results: LedgerReversal[] }>({
      operation: 'list reversals',
      method: 'GET',
      path: '/api/v1/transaction-reversals/',
      query: { created_after: since.toISOString(), limit },
    });
    return body.results;
  }

  /** lms_user_id → the learner's committed, un-reversed redemptions in one policy. */
  async enrollmentCountsByLearner(subsidyUuid: string, policyUuid: string): Promise<Map<number, number>> {
    const { body } = await this.http.call<Array<{ lms_user_id: number; total?: number; enrollment_count?: number }>>({
      operation: 'aggregates by learner',
      method: 'GET',
      path: `/api/v1/subsidies/${subsidyUuid}/aggregates-by-learner/`,
      query: { subsidy_access_policy_uuid: policyUuid },
    });
    return new Map(body.map((r) => [r.lms_user_id, r.enrollment_count ?? r.total ?? 0]));
  }

  /** Reserves the price in a pending transaction: 201 new, 200 for a known key or a learner who holds it. */
  async reserve(input: {
    subsidyUuid: string;
    lmsUserId: number;
    contentKey: string;
    policyUuid: string;
    idempotencyKey: string;
    metadata: Record<string, unknown> | null;
    requestedPriceCents?: number;
  }): Promise<{ created: boolean; transaction: LedgerTransaction }> {
    const { status, body } = await this.http.call<LedgerTransaction>({
      operation: 'create transaction',
      method: 'POST',
      path: `${tx(input.subsidyUuid)}/`,
      body: {
        subsidy_uuid: input.subsidyUuid,
        lms_user_id: input.lmsUserId,
        content_key: input.contentKey,
        subsidy_access_policy_uuid: input.policyUuid,
        metadata: input.metadata,
        idempotency_key: input.idempotencyKey,
        ...(input.requestedPriceCents === undefined ? {} : { requested_price_cents: input.requestedPriceCents }),
      },
    });
    return { created: status === 201, transaction: body };
  }

  async commit(subsidyUuid: string, txUuid: string, fulfillmentIdentifier: string): Promise<LedgerTransaction> {
    const { body } = await this.http.call<LedgerTransaction>({
      operation: 'commit transaction',
      method: 'POST',
      path: `${tx(subsidyUuid)}/${txUuid}/commit/`,
      body: { fulfillment_identifier: fulfillmentIdentifier },
    });
    return body;
  }

  async fail(subsidyUuid: string, txUuid: string, reason: string): Promise<LedgerTransaction> {
    const { body } = await this.http.call<LedgerTransaction>({
      operation: 'fail transaction',
      method: 'POST',
      path: `${tx(subsidyUuid)}/${txUuid}/fail/`,
      body: { reason },
    });
    return body;
  }
}
