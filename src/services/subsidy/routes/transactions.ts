import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  intField,
  isUuid,
  normalizeUuid,
  optionalQueryFlag,
  parseBody,
  queryFlag,
  textField,
  uuidField,
  uuidParam,
} from '../../../lib/drf/fields';
import { countRows, paginateEdx } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { CodedDetailError, DetailError, FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { detail, notFound } from '../../../lib/http-errors';
import { requireOperatorSomewhere } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { fetchContentSummary } from '../catalog';
import { refuse } from '../errors';
import { metadataField, multipleChoiceQuery, textQuery, userIdQuery, uuidQuery } from '../fields';
import {
  adminReversalKey,
  isRequestedPriceAcceptable,
  isSubsidyActive,
  pyStrRepr,
  redemptionKey,
} from '../ledger-rules';
import { emailForLearner } from '../lms';
import { accessTo, holds, PERMISSIONS, requirePermission } from '../permissions';
import { transactionRepresentation } from '../representation';
import { edxPageSchema, transactionListSchema, transactionSchema } from '../response-schemas';
import { type SubsidyDB, TRANSACTION_STATES } from '../schema';
import {
  committedUnreversed,
  fillLearnerEmail,
  filteredTransactions,
  findSubsidy,
  findSubsidyOfLedger,
  findTransaction,
  findTransactionByKey,
  reserve,
  reverse,
  subsetBalance,
  TRANSACTION_ORDERINGS,
  type TransactionOrdering,
  transactionPage,
  transition,
} from '../store';
import { originOf, permittedSubsidy } from './shared';

const BASE = '/api/v2/subsidies/:uuid/admin/transactions';

const params = z.object({ uuid: z.string() });
const txParams = z.object({ uuid: z.string(), tx_uuid: z.string() });

const listQuery = z.object({
  lms_user_id: userIdQuery(),
  content_key: textQuery(),
  subsidy_access_policy_uuid: uuidQuery(),
  state: multipleChoiceQuery(TRANSACTION_STATES),
  include_aggregates: queryFlag(false),
  /** Our extension: only reversed (`true`) or only unreversed (`false`) transactions. */
  reversed: optionalQueryFlag(),
  /** DRF SearchFilter over `lms_user_email` and `content_title` (case-insensitive, every term). */
  search: z
    .string()
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .optional(),
  /** DRF OrderingFilter: `created` or `quantity`, `-` for descending; default `-created`. */
  ordering: z.string().optional(),
  page: z.string().optional(),
  page_size: z.string().optional(),
});

/** Upstream TransactionCreationRequestSerializer (+ our optional `lms_user_email`). */
const reserveBody = z.object({
  lms_user_id: intField('integer', { min: 1 }),
  content_key: textField(255),
  subsidy_access_policy_uuid: uuidField(),
  idempotency_key: textField(255).optional(),
  metadata: metadataField().optional(),
  lms_user_email: textField(255, { allowBlank: true }).nullable().optional(),
  requested_price_cents: intField('cents', { min: 0 }).nullable().optional(),
});
const commitBody = z.object({ fulfillment_identifier: textField(255) });
const failBody = z.object({ reason: textField(1000, { allowBlank: true }).nullable().optional() });
const reverseBody = z.object({ idempotency_key: textField(255).optional() });

/** A transaction's state change: its body's field errors, no such transaction, or a change the ledger refuses. */
const txErrors = { 400: FieldErrorMap, 404: DetailError, 422: CodedDetailError };
const oneTx = { 200: transactionSchema };
const pageOnly = z.object({ page: z.string().optional(), page_size: z.string().optional() });

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** DRF OrderingFilter: the first valid term wins the order; none (or only invalid ones) keeps the default. */
function orderingOf(raw: string | undefined): TransactionOrdering {
  for (const term of (raw ?? '').split(',').map((t) => t.trim())) {
    const field = term.replace(/^-/, '');
    if ((TRANSACTION_ORDERINGS as readonly string[]).includes(field)) {
      return { field: field as TransactionOrdering['field'], descending: term.startsWith('-') };
    }
  }
  return { field: 'created', descending: true };
}

/**
 * Ledger transactions of a subsidy (enterprise-subsidy v2 admin API). Unlike upstream, creating
 * a transaction does not enroll the learner: the orchestrator's redemption workflow enrolls, then
 * commits or fails the reservation through the endpoints below, each one step it can retry.
 * Every route checks its permission on the subsidy's customer first (403 `Missing: …`, also for
 * a subsidy that does not exist), then validates the query or body.
 */
export function transactionRoutes(app: ZodApp, ctx: ServiceContext<SubsidyDB>) {
  const { db } = ctx;
  const requireCaller = async (req: FastifyRequest) => {
    requirePrincipal(req);
  };

  app.get(
    BASE,
    {
      onRequest: requireCaller,
      schema: {
        params,
        documentedQuery: listQuery,
        documentedResponses: { 200: transactionListSchema },
        errors: { 400: FieldErrorMap },
      },
    },
    async (req) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.readAllTransactions);
      const query = parseBody(listQuery, req.query);
      const { lms_user_id, content_key, subsidy_access_policy_uuid, state, include_aggregates, reversed } = query;
      const q = filteredTransactions(db, subsidy.ledger_uuid, {
        lmsUserId: lms_user_id,
        contentKey: content_key,
        policy: subsidy_access_policy_uuid,
        states: state,
        reversed,
        search: query.search,
      });
      const origin = originOf(req);
      const ordering = orderingOf(query.ordering);
      const page = await paginateEdx(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await transactionPage(q, limit, offset, ordering)).map((t) =>
            transactionRepresentation(t, subsidy.unit, origin),
          ),
      );
      if (!include_aggregates) return page;
      // Read after the page so remaining_subsidy_balance is at least as fresh as the rows.
      const [total, fresh] = await Promise.all([subsetBalance(q), findSubsidy(db, subsidy.uuid)]);
      return {
        ...page,
        aggregates: {
          unit: subsidy.unit,
          remaining_subsidy_balance: Number((fresh ?? subsidy).balance),
          total_quantity: total,
        },
      };
    },
  );

  /**
   * Reserves a redemption (spec §7.4 steps 1–5, without the enrollment): the subsidy must be
   * active; a learner who already holds the content gets that transaction (200), as does a
   * retry with a known idempotency key (given, or derived from the request as upstream derives
   * it); otherwise the price is taken from the ledger in a pending transaction (201) or refused
   * (422), under the ledger lock. The learner's email is read from the lms when not given.
   */
  app.post(
    BASE,
    {
      onRequest: requireOperatorSomewhere,
      schema: {
        params,
        documentedBody: reserveBody,
        documentedResponses: { 200: transactionSchema, 201: transactionSchema },
        // 422 refused by the ledger; 502 / 503 the catalog refused or could not be reached.
        errors: { 400: FieldErrorMap, 422: CodedDetailError, 502: DetailError, 503: DetailError },
      },
    },
    async (req, reply) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.createTransactions);
      if (!isSubsidyActive(subsidy, new Date())) {
        throw refuse('inactive_subsidy_creation_error', 'Cannot create a transaction in an inactive subsidy');
      }
      const body = parseBody(reserveBody, req.body);
      const origin = originOf(req);
      const answer = (status: number, tx: Parameters<typeof transactionRepresentation>[0]) =>
        reply.code(status).send(transactionRepresentation(tx, subsidy.unit, origin));

      const held = await committedUnreversed(db, subsidy.ledger_uuid, body.lms_user_id, body.content_key);
      if (held) return answer(200, held);
      if (body.idempotency_key !== undefined) {
        const known = await findTransactionByKey(db, subsidy.ledger_uuid, body.idempotency_key);
        if (known) return answer(200, known);
      }

      const content = await fetchContentSummary(ctx, body.content_key);
      if (content.price === null) {
        throw refuse('transaction_creation_error', `The catalog has no price for ${body.content_key}.`);
      }
      let price = content.price;
      const requested = body.requested_price_cents;
      if (requested !== undefined && requested !== null) {
        if (!isRequestedPriceAcceptable(requested, content.price)) {
          // Upstream puts str() of the ValidationError's message list in `detail`.
          const message = `Requested price ${requested} for ${body.content_key} outside of acceptable interval on canonical course price of ${content.price}.`;
          throw refuse('invalid_requested_price', `[${pyStrRepr(message)}]`);
        }
        // Upstream redeems at the requested price: assignments lock the price in when allocated.
        price = requested;
      }
      const idempotencyKey = body.idempotency_key ?? redemptionKey(subsidy.ledger_key, 0 - price, body, md5);
      const email = body.lms_user_email ?? (await emailForLearner(ctx, body.lms_user_id));
      const { tx, created } = await reserve(db, {
        ledger: subsidy.ledger_uuid,
        idempotency_key: idempotencyKey,
        quantity: -price,
        lms_user_id: body.lms_user_id,
        lms_user_email: email,
        content_key: body.content_key,
        parent_content_key: content.parent_content_key,
        content_title: content.title,
        subsidy_access_policy_uuid: body.subsidy_access_policy_uuid,
        metadata: body.metadata ?? null,
      });
      return answer(created ? 201 : 200, tx);
    },
  );

  app.post(
    `${BASE}/:tx_uuid/commit`,
    {
      onRequest: requireOperatorSomewhere,
      schema: { params: txParams, documentedBody: commitBody, documentedResponses: oneTx, errors: txErrors },
    },
    async (req) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.createTransactions);
      const txUuid = uuidParam(req.params.tx_uuid);
      const body = parseBody(commitBody, req.body);
      let tx = txUuid
        ? await transition(db, subsidy.ledger_uuid, txUuid, 'committed', {
            fulfillment_identifier: body.fulfillment_identifier,
          })
        : undefined;
      if (!tx) throw notFound();
      // A committed redemption carries the learner's email (upstream reads it from the lms).
      if (tx.state === 'committed' && tx.kind === 'redemption' && !tx.lms_user_email && tx.lms_user_id !== null) {
        const email = await emailForLearner(ctx, tx.lms_user_id);
        if (email) tx = (await fillLearnerEmail(db, tx.uuid, email)) ?? tx;
      }
      return transactionRepresentation(tx, subsidy.unit, originOf(req));
    },
  );

  app.post(
    `${BASE}/:tx_uuid/fail`,
    {
      onRequest: requireOperatorSomewhere,
      schema: { params: txParams, documentedBody: failBody, documentedResponses: oneTx, errors: txErrors },
    },
    async (req) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.createTransactions);
      const txUuid = uuidParam(req.params.tx_uuid);
      const body = parseBody(failBody, req.body);
      const tx = txUuid
        ? await transition(db, subsidy.ledger_uuid, txUuid, 'failed', {
            failure_reason: body.reason ?? undefined,
          })
        : undefined;
      if (!tx) throw notFound();
      return transactionRepresentation(tx, subsidy.unit, originOf(req));
    },
  );

  /** Refund of a committed redemption (upstream's admin "reverse" action): 201 new, 200 repeat. */
  app.post(
    `${BASE}/:tx_uuid/reverse`,
    {
      onRequest: requireOperatorSomewhere,
      schema: {
        params: txParams,
        documentedBody: reverseBody,
        documentedResponses: { 200: transactionSchema, 201: transactionSchema },
        errors: txErrors,
      },
    },
    async (req, reply) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.createTransactions);
      const txUuid = uuidParam(req.params.tx_uuid);
      const body = parseBody(reverseBody, req.body);
      const result = txUuid
        ? await reverse(db, subsidy.ledger_uuid, txUuid, body.idempotency_key ?? adminReversalKey(txUuid), {
            redemptionsOnly: true,
          })
        : undefined;
      if (!result) throw notFound();
      return reply
        .code(result.created ? 201 : 200)
        .send(transactionRepresentation(result.tx, subsidy.unit, originOf(req)));
    },
  );

  /**
   * A learner's own transactions in one subsidy (upstream `GET /api/v2/subsidies/{uuid}/transactions/`,
   * `can_read_transactions`): 404 when the token names no lms user.
   */
  app.get(
    '/api/v2/subsidies/:uuid/transactions',
    {
      onRequest: requireCaller,
      schema: {
        params,
        documentedQuery: pageOnly,
        documentedResponses: { 200: edxPageSchema(transactionSchema) },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.readTransactions);
      const userId = requirePrincipal(req).userId;
      if (userId === undefined) throw notFound('Could not determine lms_user_id in this request.');
      const q = filteredTransactions(db, subsidy.ledger_uuid, { lmsUserId: userId });
      const origin = originOf(req);
      return paginateEdx(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await transactionPage(q, limit, offset, { field: 'created', descending: false })).map((t) =>
            transactionRepresentation(t, subsidy.unit, origin),
          ),
      );
    },
  );

  /**
   * Transaction status (`policy_redemption_status_url` upstream, the v1 TransactionViewSet's
   * retrieve): admins and operators of the customer, or the learner whose transaction it is
   * (another learner's is a 404, as upstream's queryset hides it). A malformed uuid is a 400 and
   * an unknown one a 403, as upstream's permission check finds no customer for it.
   */
  app.get(
    '/api/v1/transactions/:uuid',
    {
      onRequest: requireCaller,
      schema: {
        params: z.object({ uuid: z.string() }),
        documentedResponses: { 200: transactionSchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const raw = req.params.uuid;
      if (!isUuid(raw)) throw detail(400, `${raw} is not a valid uuid.`);
      const tx = await findTransaction(db, normalizeUuid(raw));
      const subsidy = tx ? await findSubsidyOfLedger(db, tx.ledger) : undefined;
      const customer = subsidy?.enterprise_customer_uuid ?? null;
      requirePermission(req, PERMISSIONS.readTransactions, customer, 'viewset');
      const principal = requirePrincipal(req);
      if (
        !tx ||
        !subsidy ||
        (!holds(principal, PERMISSIONS.readAllTransactions, customer) &&
          accessTo(principal, subsidy.enterprise_customer_uuid) === 'learner' &&
          principal.userId !== tx.lms_user_id)
      ) {
        throw notFound();
      }
      return transactionRepresentation(tx, subsidy.unit, originOf(req));
    },
  );
}
