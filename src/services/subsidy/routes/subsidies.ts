import { z } from 'zod';
import {
  booleanField,
  choiceField,
  dateTimeField,
  integerField,
  parseBody,
  textField,
  uuidField,
} from '../../../lib/drf/fields';
import { countRows, pageQuery, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { badRequest } from '../../../lib/http-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { fetchContentPrice } from '../catalog';
import { MAX_CENTS, requiredTextQuery, requiredUserIdQuery, uuidQuery } from '../fields';
import { isSubsidyActive } from '../ledger-rules';
import { readableCustomers, requireAdminReader, requireLearnerReader, requireReader } from '../permissions';
import { subsidyRepresentation, transactionRepresentation } from '../representation';
import { REFERENCE_TYPES, REVENUE_CATEGORIES, type SubsidyDB, UNITS } from '../schema';
import {
  aggregatesByLearner,
  committedUnreversed,
  getOrCreateSubsidy,
  learnerContentTransactions,
  type SubsidyDb,
  type SubsidyView,
  subsidyList,
  subsidyPage,
  totalDeposits,
} from '../store';
import { loadSubsidy, originOf } from './shared';

const bothDates = (b: { active_datetime: unknown; expiration_datetime: unknown }) =>
  b.active_datetime instanceof Date && b.expiration_datetime instanceof Date;

const createBody = z
  .object({
    title: textField(255),
    enterprise_customer_uuid: uuidField(),
    active_datetime: dateTimeField(),
    expiration_datetime: dateTimeField(),
    unit: choiceField(UNITS).optional(),
    starting_balance: integerField(0, MAX_CENTS),
    reference_id: textField(255).nullable().optional(),
    reference_type: choiceField(REFERENCE_TYPES).optional(),
    internal_only: booleanField().optional(),
    revenue_category: choiceField(REVENUE_CATEGORIES).optional(),
  })
  // Zod runs object refinements even when a field failed: compare only two parsed dates.
  .refine((b) => !bothDates(b) || b.active_datetime.getTime() < b.expiration_datetime.getTime(), {
    path: ['expiration_datetime'],
    error: 'expiration_datetime must be later than active_datetime.',
  });

const params = z.object({ uuid: z.string() });
const listQuery = z.object({ enterprise_customer_uuid: uuidQuery(), ...pageQuery });
const canRedeemQuery = z.object({ lms_user_id: requiredUserIdQuery(), content_key: requiredTextQuery() });
const aggregatesQuery = z.object({ subsidy_access_policy_uuid: uuidQuery() });

async function render(db: SubsidyDb, rows: SubsidyView[]) {
  const deposits = await totalDeposits(
    db,
    rows.map((r) => r.ledger_uuid),
  );
  const now = new Date();
  return rows.map((r) => subsidyRepresentation(r, deposits.get(r.ledger_uuid) ?? 0, now));
}

/**
 * Subsidies (enterprise-subsidy `api/v1/subsidies/`): get-or-create for the support tools and
 * provisioning, reads for the orchestrator and the portals, and the learner-level views the
 * orchestrator's can-redeem uses.
 */
export function subsidyRoutes(app: ZodApp, ctx: ServiceContext<SubsidyDB>) {
  const { db } = ctx;
  const requireCaller = async (req: Parameters<typeof requirePrincipal>[0]) => {
    requirePrincipal(req);
  };

  app.post('/api/v1/subsidies', { onRequest: requireOperator }, async (req, reply) => {
    const body = parseBody(createBody, req.body);
    const { subsidy, created } = await getOrCreateSubsidy(db, {
      title: body.title,
      enterprise_customer_uuid: body.enterprise_customer_uuid,
      active_datetime: body.active_datetime,
      expiration_datetime: body.expiration_datetime,
      unit: body.unit ?? 'usd_cents',
      starting_balance: body.starting_balance,
      reference_id: body.reference_id ?? null,
      reference_type: body.reference_type ?? 'salesforce_opportunity_line_item',
      internal_only: body.internal_only ?? false,
      revenue_category: body.revenue_category ?? 'bulk-enrollment-prepay',
    });
    // Upstream returns whatever subsidy holds the reference. A line item that already funds
    // another customer is a caller's mistake that would hand that customer's money to this one.
    if (!created && subsidy.enterprise_customer_uuid !== body.enterprise_customer_uuid) {
      throw badRequest({
        reference_id: [
          `Subsidy ${subsidy.uuid} already exists with this reference_id and reference_type for another enterprise customer.`,
        ],
      });
    }
    const [json] = await render(db, [subsidy]);
    return reply.code(created ? 201 : 200).send(json);
  });

  app.get('/api/v1/subsidies', { onRequest: requireCaller, schema: { querystring: listQuery } }, async (req) => {
    const scope = readableCustomers(requirePrincipal(req));
    const customer = req.query.enterprise_customer_uuid;
    // A caller without a role on the customer sees an empty list, not a 403 (upstream's listing mixin).
    if (scope !== 'all' && (scope.length === 0 || (customer && !scope.includes(customer)))) {
      return paginate(
        req,
        async () => 0,
        async () => [],
      );
    }
    const q = subsidyList(db, { customer, customers: scope === 'all' ? undefined : scope });
    return paginate(
      req,
      () => countRows(q),
      async (limit, offset) => render(db, await subsidyPage(q, limit, offset)),
    );
  });

  app.get('/api/v1/subsidies/:uuid', { onRequest: requireCaller, schema: { params } }, async (req) => {
    const subsidy = await loadSubsidy(db, req.params.uuid);
    requireReader(requirePrincipal(req), subsidy.enterprise_customer_uuid);
    const [json] = await render(db, [subsidy]);
    return json;
  });

  /**
   * Can this learner redeem this content from the subsidy now: active, enough balance for the
   * catalog price, and not already holding a committed, un-reversed redemption of it. Returns
   * every transaction of the pair (all states, oldest first): the orchestrator derives its
   * redemption idempotency key from the failed and reversed ones (spec §7.3).
   */
  app.get(
    '/api/v1/subsidies/:uuid/can_redeem',
    { onRequest: requireCaller, schema: { params, querystring: canRedeemQuery } },
    async (req) => {
      const subsidy = await loadSubsidy(db, req.params.uuid);
      const { lms_user_id: lmsUserId, content_key: contentKey } = req.query;
      requireLearnerReader(requirePrincipal(req), subsidy.enterprise_customer_uuid, lmsUserId);
      const price = await fetchContentPrice(ctx, contentKey);
      const [transactions, redeemed] = await Promise.all([
        learnerContentTransactions(db, subsidy.ledger_uuid, lmsUserId, contentKey),
        committedUnreversed(db, subsidy.ledger_uuid, lmsUserId, contentKey),
      ]);
      const active = isSubsidyActive(subsidy, new Date());
      const origin = originOf(req);
      return {
        can_redeem: active && price !== null && Number(subsidy.balance) >= price && redeemed === undefined,
        content_price: price,
        unit: subsidy.unit,
        all_transactions: transactions.map((t) => transactionRepresentation(t, subsidy.unit, origin)),
        active,
      };
    },
  );

  app.get(
    '/api/v1/subsidies/:uuid/aggregates-by-learner',
    { onRequest: requireCaller, schema: { params, querystring: aggregatesQuery } },
    async (req) => {
      const subsidy = await loadSubsidy(db, req.params.uuid);
      requireAdminReader(requirePrincipal(req), subsidy.enterprise_customer_uuid);
      return aggregatesByLearner(db, subsidy.ledger_uuid, req.query.subsidy_access_policy_uuid);
    },
  );
}
