import { z } from 'zod';
import {
  integerField,
  optionalQueryFlag,
  parseBody,
  queryFlag,
  textField,
  uuidField,
  uuidParam,
} from '../../../lib/drf/fields';
import { countRows, pageQuery, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { notFound } from '../../../lib/http-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { fetchContentSummary } from '../catalog';
import { refuse } from '../errors';
import { MAX_CENTS, MAX_INT, metadataField, multipleChoiceQuery, textQuery, userIdQuery, uuidQuery } from '../fields';
import { adminReversalKey, isRequestedPriceAcceptable, isSubsidyActive } from '../ledger-rules';
import { requireAdminReader, requireLearnerReader } from '../permissions';
import { transactionRepresentation } from '../representation';
import { type SubsidyDB, TRANSACTION_STATES } from '../schema';
import {
  committedUnreversed,
  filteredTransactions,
  findSubsidy,
  findSubsidyOfLedger,
  findTransaction,
  findTransactionByKey,
  reserve,
  reverse,
  subsetBalance,
  transactionPage,
  transition,
} from '../store';
import { loadSubsidy, originOf } from './shared';

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
  ...pageQuery,
});

const reserveBody = z.object({
  lms_user_id: integerField(1, MAX_INT),
  content_key: textField(255),
  subsidy_access_policy_uuid: uuidField(),
  idempotency_key: textField(255),
  metadata: metadataField().optional(),
  lms_user_email: textField(255, { allowBlank: true }).nullable().optional(),
  requested_price_cents: integerField(0, MAX_CENTS).nullable().optional(),
});
const commitBody = z.object({ fulfillment_identifier: textField(255) });
const failBody = z.object({ reason: textField(1000, { allowBlank: true }).nullable().optional() });
const reverseBody = z.object({ idempotency_key: textField(255).optional() });

/**
 * Ledger transactions of a subsidy (enterprise-subsidy v2 admin API). Unlike upstream, creating
 * a transaction does not enroll the learner: the orchestrator's redemption workflow enrolls, then
 * commits or fails the reservation through the endpoints below, each one step it can retry.
 */
export function transactionRoutes(app: ZodApp, ctx: ServiceContext<SubsidyDB>) {
  const { db } = ctx;
  const requireCaller = async (req: Parameters<typeof requirePrincipal>[0]) => {
    requirePrincipal(req);
  };

  app.get(BASE, { onRequest: requireCaller, schema: { params, querystring: listQuery } }, async (req) => {
    const subsidy = await loadSubsidy(db, req.params.uuid);
    requireAdminReader(requirePrincipal(req), subsidy.enterprise_customer_uuid);
    const { lms_user_id, content_key, subsidy_access_policy_uuid, state, include_aggregates, reversed } = req.query;
    const q = filteredTransactions(db, subsidy.ledger_uuid, {
      lmsUserId: lms_user_id,
      contentKey: content_key,
      policy: subsidy_access_policy_uuid,
      states: state,
      reversed,
    });
    const origin = originOf(req);
    const page = await paginate(
      req,
      () => countRows(q),
      async (limit, offset) =>
        (await transactionPage(q, limit, offset)).map((t) => transactionRepresentation(t, subsidy.unit, origin)),
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
  });

  /**
   * Reserves a redemption (spec §7.4 steps 1–5, without the enrollment): the subsidy must be
   * active; a learner who already holds the content gets that transaction (200), as does a
   * retry with a known idempotency key; otherwise the price is taken from the ledger in a pending
   * transaction (201) or refused (422), under the ledger lock.
   */
  app.post(BASE, { onRequest: requireOperator, schema: { params } }, async (req, reply) => {
    const subsidy = await loadSubsidy(db, req.params.uuid);
    const body = parseBody(reserveBody, req.body);
    const origin = originOf(req);
    const answer = (status: number, tx: Parameters<typeof transactionRepresentation>[0]) =>
      reply.code(status).send(transactionRepresentation(tx, subsidy.unit, origin));

    if (!isSubsidyActive(subsidy, new Date())) {
      throw refuse('inactive_subsidy_creation_error', 'Cannot create a transaction in an inactive subsidy.');
    }
    const held = await committedUnreversed(db, subsidy.ledger_uuid, body.lms_user_id, body.content_key);
    if (held) return answer(200, held);
    const known = await findTransactionByKey(db, subsidy.ledger_uuid, body.idempotency_key);
    if (known) return answer(200, known);

    const content = await fetchContentSummary(ctx, body.content_key);
    if (content.price === null) {
      throw refuse('transaction_creation_error', `The catalog has no price for ${body.content_key}.`);
    }
    let price = content.price;
    const requested = body.requested_price_cents;
    if (requested !== undefined && requested !== null) {
      if (!isRequestedPriceAcceptable(requested, content.price)) {
        throw refuse(
          'invalid_requested_price',
          `Requested price ${requested} for ${body.content_key} outside of acceptable interval on canonical course price of ${content.price}.`,
        );
      }
      // Upstream redeems at the requested price: assignments lock the price in when allocated.
      price = requested;
    }
    const { tx, created } = await reserve(db, {
      ledger: subsidy.ledger_uuid,
      idempotency_key: body.idempotency_key,
      quantity: -price,
      lms_user_id: body.lms_user_id,
      lms_user_email: body.lms_user_email ?? null,
      content_key: body.content_key,
      parent_content_key: content.parent_content_key,
      content_title: content.title,
      subsidy_access_policy_uuid: body.subsidy_access_policy_uuid,
      metadata: body.metadata ?? null,
    });
    return answer(created ? 201 : 200, tx);
  });

  app.post(`${BASE}/:tx_uuid/commit`, { onRequest: requireOperator, schema: { params: txParams } }, async (req) => {
    const subsidy = await loadSubsidy(db, req.params.uuid);
    const txUuid = uuidParam(req.params.tx_uuid);
    const body = parseBody(commitBody, req.body);
    const tx = txUuid
      ? await transition(db, subsidy.ledger_uuid, txUuid, 'committed', {
          fulfillment_identifier: body.fulfillment_identifier,
        })
      : undefined;
    if (!tx) throw notFound();
    return transactionRepresentation(tx, subsidy.unit, originOf(req));
  });

  app.post(`${BASE}/:tx_uuid/fail`, { onRequest: requireOperator, schema: { params: txParams } }, async (req) => {
    const subsidy = await loadSubsidy(db, req.params.uuid);
    const txUuid = uuidParam(req.params.tx_uuid);
    const body = parseBody(failBody, req.body);
    const tx = txUuid
      ? await transition(db, subsidy.ledger_uuid, txUuid, 'failed', {
          failure_reason: body.reason ?? undefined,
        })
      : undefined;
    if (!tx) throw notFound();
    return transactionRepresentation(tx, subsidy.unit, originOf(req));
  });

  /** Refund of a committed redemption (upstream's admin "reverse" action): 201 new, 200 repeat. */
  app.post(
    `${BASE}/:tx_uuid/reverse`,
    { onRequest: requireOperator, schema: { params: txParams } },
    async (req, reply) => {
      const subsidy = await loadSubsidy(db, req.params.uuid);
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

  /** Transaction status (`policy_redemption_status_url` upstream): admins, operators, or the learner's own. */
  app.get(
    '/api/v1/transactions/:uuid',
    { onRequest: requireCaller, schema: { params: z.object({ uuid: z.string() }) } },
    async (req) => {
      const uuid = uuidParam(req.params.uuid);
      const tx = uuid ? await findTransaction(db, uuid) : undefined;
      const subsidy = tx ? await findSubsidyOfLedger(db, tx.ledger) : undefined;
      if (!tx || !subsidy) throw notFound();
      requireLearnerReader(requirePrincipal(req), subsidy.enterprise_customer_uuid, tx.lms_user_id);
      return transactionRepresentation(tx, subsidy.unit, originOf(req));
    },
  );
}
