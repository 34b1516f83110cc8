import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  booleanField,
  choiceField,
  dateTimeField,
  intField,
  isUuid,
  normalizeUuid,
  parseBody,
  textField,
  uuidField,
  uuidParam,
} from '../../../lib/drf/fields';
import { countRows, paginateWithPosition } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { DetailError, FieldErrorMap, MessageError, ViewsetError } from '../../../lib/fastify/error-schemas';
import { badRequest, detail, forbidden, HttpError, notFound } from '../../../lib/http-errors';
import { isCheckViolation, isUniqueViolation } from '../../../lib/pg-errors';
import { isGlobalOperator, requireOperatorSomewhere } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { fetchContentPrice } from '../catalog';
import { requiredTextQuery, requiredUserIdQuery, uuidQuery } from '../fields';
import { isSubsidyActive } from '../ledger-rules';
import { holds, PERMISSIONS, readableCustomers, readsEveryCustomer, requirePermission } from '../permissions';
import { subsidyRepresentation, transactionRepresentation } from '../representation';
import { aggregatesByLearnerSchema, canRedeemSchema, subsidyPageSchema, subsidySchema } from '../response-schemas';
import { REFERENCE_TYPES, REVENUE_CATEGORIES, type SubsidyDB, UNITS } from '../schema';
import {
  aggregatesByLearner,
  committedUnreversed,
  customerOfReference,
  findSubsidy,
  getOrCreateSubsidy,
  learnerContentTransactions,
  type NewSubsidy,
  SUBSIDY_SORT_FIELDS,
  type SubsidyChanges,
  type SubsidyDb,
  type SubsidySort,
  type SubsidyView,
  softDeleteSubsidy,
  subsidyList,
  subsidyPage,
  totalDeposits,
  updateSubsidy,
} from '../store';
import { viewsetErrorShape } from '../viewset-errors';
import { originOf } from './shared';

const bothDates = (b: { active_datetime?: unknown; expiration_datetime?: unknown }) =>
  b.active_datetime instanceof Date && b.expiration_datetime instanceof Date;
const EXPIRATION_AFTER_ACTIVATION = 'expiration_datetime must be later than active_datetime.';

/** Upstream SubsidyCreationRequestSerializer: `reference_id` and the `default_*` values of a new subsidy. */
const createBody = z
  .object({
    reference_id: textField(255),
    default_title: textField(255),
    default_enterprise_customer_uuid: uuidField(),
    default_active_datetime: dateTimeField(),
    default_expiration_datetime: dateTimeField(),
    default_unit: choiceField(UNITS),
    default_starting_balance: intField('cents', { min: 0 }),
    default_revenue_category: choiceField(REVENUE_CATEGORIES),
    default_internal_only: booleanField(),
  })
  // Zod runs object refinements even when a field failed: compare only two parsed dates.
  .refine(
    (b) =>
      !bothDates({ active_datetime: b.default_active_datetime, expiration_datetime: b.default_expiration_datetime }) ||
      b.default_active_datetime.getTime() < b.default_expiration_datetime.getTime(),
    { path: ['default_expiration_datetime'], error: EXPIRATION_AFTER_ACTIVATION },
  );

/**
 * The project's earlier body (the subsidy's own field names, `reference_id` optional), still
 * accepted from callers written against it; deprecated in favour of upstream's `default_*` body.
 */
const legacyCreateBody = z
  .object({
    title: textField(255),
    enterprise_customer_uuid: uuidField(),
    active_datetime: dateTimeField(),
    expiration_datetime: dateTimeField(),
    unit: choiceField(UNITS).optional(),
    starting_balance: intField('cents', { min: 0 }),
    reference_id: textField(255).nullable().optional(),
    reference_type: choiceField(REFERENCE_TYPES).optional(),
    internal_only: booleanField().optional(),
    revenue_category: choiceField(REVENUE_CATEGORIES).optional(),
  })
  .refine((b) => !bothDates(b) || b.active_datetime.getTime() < b.expiration_datetime.getTime(), {
    path: ['expiration_datetime'],
    error: EXPIRATION_AFTER_ACTIVATION,
  });

const isLegacyBody = (body: Record<string, unknown>) =>
  !Object.keys(body).some((k) => k.startsWith('default_')) &&
  ['title', 'enterprise_customer_uuid', 'starting_balance'].some((k) => k in body);

/** Upstream SubsidyUpdateRequestSerializer's fields (the read-only ones are ignored, as DRF does). */
const updateFields = {
  title: textField(255, { allowBlank: true }).nullable(),
  enterprise_customer_uuid: uuidField(),
  active_datetime: dateTimeField(),
  expiration_datetime: dateTimeField(),
  unit: choiceField(UNITS),
  reference_id: textField(255, { allowBlank: true }).nullable(),
  reference_type: choiceField(REFERENCE_TYPES),
  internal_only: booleanField(),
  revenue_category: choiceField(REVENUE_CATEGORIES),
};
const patchBody = z.object(updateFields).partial();
const putBody = patchBody.extend({ enterprise_customer_uuid: updateFields.enterprise_customer_uuid });

const params = z.object({ uuid: z.string() });
const canRedeemQuery = z.object({ lms_user_id: requiredUserIdQuery(), content_key: requiredTextQuery() });
const aggregatesQuery = z.object({ subsidy_access_policy_uuid: uuidQuery() });
/** The list's query as documented (the handler reads it itself, after the permission check). */
const listQueryDoc = z.object({
  enterprise_customer_uuid: z.string().optional(),
  uuid: z.string().optional(),
  title: z.string().optional(),
  sort_by: z.string().optional(),
  page: z.string().optional(),
  page_size: z.string().optional(),
});

async function render(db: SubsidyDb, rows: SubsidyView[]) {
  const deposits = await totalDeposits(
    db,
    rows.map((r) => r.ledger_uuid),
  );
  const now = new Date();
  return rows.map((r) => subsidyRepresentation(r, deposits.get(r.ledger_uuid) ?? 0, now));
}

/** Parses a query after the permission check (as upstream): 400 with DRF field errors. */
const parseQuery = <S extends z.ZodType>(schema: S, query: unknown): z.output<S> => parseBody(schema, query);

/** A list query uuid (upstream ParseError: `<value> is not a valid uuid.`); absent or empty: none. */
function queryUuid(req: FastifyRequest, name: string): string | undefined {
  const raw = (req.query as Record<string, unknown>)[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !isUuid(value)) throw detail(400, `${String(value)} is not a valid uuid.`);
  return normalizeUuid(value);
}

function querySort(req: FastifyRequest): SubsidySort {
  const raw = (req.query as Record<string, unknown>).sort_by;
  if (raw === undefined || raw === '') return { field: 'uuid', descending: false };
  const value = String(Array.isArray(raw) ? raw[raw.length - 1] : raw);
  const field = value.replace(/^-/, '');
  if (!(SUBSIDY_SORT_FIELDS as readonly string[]).includes(field)) {
    throw badRequest({ sort_by: [`Cannot sort by "${value}". Choose one of: ${SUBSIDY_SORT_FIELDS.join(', ')}.`] });
  }
  return { field: field as SubsidySort['field'], descending: value.startsWith('-') };
}

/** 400 for a subsidy whose dates a write would put in the wrong order (the table's CHECK). */
async function checkedWrite<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isCheckViolation(err)) throw badRequest({ expiration_datetime: [EXPIRATION_AFTER_ACTIVATION] });
    if (isUniqueViolation(err)) {
      throw badRequest({ reference_id: ['A subsidy with this reference_id already exists.'] });
    }
    throw err;
  }
}

/**
 * Subsidies (enterprise-subsidy `api/v1/subsidies/`, its SubsidyViewSet): list and read for the
 * customer's admins and operators, get-or-create, update and soft delete for operators, and the
 * can-redeem and per-learner views the orchestrator uses. Errors take the viewset's body shape.
 * Permission is checked first, against the customer the request names (a subsidy that does not
 * exist names none: 403), then the query or body is validated.
 */
export function subsidyRoutes(app: ZodApp, ctx: ServiceContext<SubsidyDB>) {
  app.register(async (scope: ZodApp) => {
    scope.addHook('onSend', viewsetErrorShape);
    // Documented so: a `{"detail"}` error of these routes is written in the viewset's shape.
    scope.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, detailAs: ViewsetError };
    });
    viewsetRoutes(scope, ctx);
  });
}

function viewsetRoutes(app: ZodApp, ctx: ServiceContext<SubsidyDB>) {
  const { db } = ctx;
  const requireCaller = async (req: FastifyRequest) => {
    requirePrincipal(req);
  };
  /** The subsidy of the path, or null when the uuid is malformed or names no (live) subsidy. */
  const subsidyOf = async (req: FastifyRequest): Promise<SubsidyView | null> => {
    const uuid = uuidParam((req.params as { uuid: string }).uuid);
    return (uuid ? await findSubsidy(db, uuid) : undefined) ?? null;
  };
  /** The subsidy of the path once the caller holds `permission` on its customer (403 otherwise). */
  const permitted = async (req: FastifyRequest, permission: Parameters<typeof holds>[1]) => {
    const subsidy = await subsidyOf(req);
    requirePermission(req, permission, subsidy?.enterprise_customer_uuid ?? null, 'viewset');
    return subsidy as SubsidyView;
  };

  app.post(
    '/api/v1/subsidies',
    {
      onRequest: requireOperatorSomewhere,
      schema: {
        documentedBody: z.union([createBody, legacyCreateBody]),
        documentedResponses: { 200: subsidySchema, 201: subsidySchema },
        errors: { 400: [MessageError, FieldErrorMap] },
      },
    },
    async (req, reply) => {
      const raw = req.body;
      if (raw === undefined || raw === null || (typeof raw === 'object' && Object.keys(raw).length === 0)) {
        // Upstream answers `Response("Request body is required", 400)`: a bare JSON string.
        throw new HttpError(400, new JsonString('Request body is required'));
      }
      const body = (typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
      const legacy = isLegacyBody(body);
      // The permission context: the customer of the subsidy the reference names, else the new one's.
      const reference = body.reference_id;
      const named = legacy ? body.enterprise_customer_uuid : body.default_enterprise_customer_uuid;
      const existing =
        typeof reference === 'string' && reference !== '' ? await customerOfReference(db, reference) : undefined;
      const context = existing ?? (typeof named === 'string' && isUuid(named) ? normalizeUuid(named) : null);
      const principal = requirePrincipal(req);
      if (context === null ? !isGlobalOperator(principal) : !holds(principal, PERMISSIONS.writeSubsidies, context)) {
        throw forbidden(`MISSING: ${PERMISSIONS.writeSubsidies}`);
      }

      let values: NewSubsidy;
      if (legacy) {
        ctx.logger.warn('POST /api/v1/subsidies/ with the deprecated body; send reference_id and default_* fields');
        const b = parseBody(legacyCreateBody, body);
        values = {
          title: b.title,
          enterprise_customer_uuid: b.enterprise_customer_uuid,
          active_datetime: b.active_datetime,
          expiration_datetime: b.expiration_datetime,
          unit: b.unit ?? 'usd_cents',
          starting_balance: b.starting_balance,
          reference_id: b.reference_id ?? null,
          reference_type: b.reference_type ?? 'salesforce_opportunity_line_item',
          internal_only: b.internal_only ?? false,
          revenue_category: b.revenue_category ?? 'bulk-enrollment-prepay',
        };
      } else {
        const b = parseBody(createBody, body);
        values = {
          title: b.default_title,
          enterprise_customer_uuid: b.default_enterprise_customer_uuid,
          active_datetime: b.default_active_datetime,
          expiration_datetime: b.default_expiration_datetime,
          unit: b.default_unit,
          starting_balance: b.default_starting_balance,
          reference_id: b.reference_id,
          reference_type: 'salesforce_opportunity_line_item',
          internal_only: b.default_internal_only,
          revenue_category: b.default_revenue_category,
        };
      }
      const { subsidy, created } = await getOrCreateSubsidy(db, values);
      // Upstream returns whatever subsidy holds the reference. A line item that already funds
      // another customer is a caller's mistake that would hand that customer's money to this one.
      if (!created && subsidy.enterprise_customer_uuid !== values.enterprise_customer_uuid) {
        throw badRequest({
          reference_id: [
            `Subsidy ${subsidy.uuid} already exists with this reference_id for another enterprise customer.`,
          ],
        });
      }
      const [json] = await render(db, [subsidy]);
      return reply.code(created ? 201 : 200).send(json);
    },
  );

  app.get(
    '/api/v1/subsidies',
    {
      onRequest: requireCaller,
      schema: {
        documentedQuery: listQueryDoc,
        documentedResponses: { 200: subsidyPageSchema },
        errors: { 400: [DetailError, FieldErrorMap] },
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const scope = readableCustomers(principal);
      // PermissionRequiredForListingMixin: no admin or operator role on any customer is a 403.
      if (scope !== 'all' && scope.length === 0) throw forbidden();
      const customer = queryUuid(req, 'enterprise_customer_uuid');
      const uuid = queryUuid(req, 'uuid');
      const titleRaw = (req.query as Record<string, unknown>).title;
      const title = typeof titleRaw === 'string' && titleRaw !== '' ? titleRaw : undefined;
      const sort = querySort(req);
      const query = req.query as { page_size?: string };
      // Outside the caller's customers the list is empty, not a 403 (the mixin filters by context).
      const q = subsidyList(db, { customer, uuid, title, customers: scope === 'all' ? undefined : scope });
      const { page } = await paginateWithPosition(
        req,
        () => countRows(q),
        async (limit, offset) => render(db, await subsidyPage(q, limit, offset, sort)),
        { pageSize: 10, maxPageSize: 100 },
      );
      // SubsidyListPaginator's page_count, over the page size asked for (10 by default).
      const asked = Number(query.page_size);
      const size = Number.isInteger(asked) && asked > 0 ? asked : 10;
      return { ...page, page_count: Math.ceil(page.count / size) };
    },
  );

  app.get(
    '/api/v1/subsidies/:uuid',
    {
      onRequest: requireCaller,
      schema: { params, documentedResponses: { 200: subsidySchema }, errors: { 404: DetailError } },
    },
    async (req) => {
      const subsidy = await subsidyOf(req);
      // Upstream answers 403 here too (no customer, no permission). A caller who may read every
      // customer's subsidies learns nothing from a 404, and the orchestrator tells "no such subsidy"
      // from "not allowed" by it.
      if (!subsidy && readsEveryCustomer(requirePrincipal(req))) throw notFound();
      requirePermission(req, PERMISSIONS.readSubsidies, subsidy?.enterprise_customer_uuid ?? null, 'viewset');
      const [json] = await render(db, [subsidy as SubsidyView]);
      return json;
    },
  );

  const update = (partial: boolean) => async (req: FastifyRequest) => {
    const subsidy = await permitted(req, PERMISSIONS.writeSubsidies);
    const changes: SubsidyChanges = parseBody(partial ? patchBody : putBody, req.body);
    if (
      changes.enterprise_customer_uuid !== undefined &&
      !holds(requirePrincipal(req), PERMISSIONS.writeSubsidies, changes.enterprise_customer_uuid)
    ) {
      throw forbidden(`MISSING: ${PERMISSIONS.writeSubsidies}`);
    }
    const active = changes.active_datetime ?? subsidy.active_datetime;
    const expiration = changes.expiration_datetime ?? subsidy.expiration_datetime;
    if (new Date(active).getTime() >= new Date(expiration).getTime()) {
      throw badRequest({ expiration_datetime: [EXPIRATION_AFTER_ACTIVATION] });
    }
    const updated = await checkedWrite(() => updateSubsidy(db, subsidy.uuid, changes));
    if (!updated) throw notFound();
    const [json] = await render(db, [updated]);
    return json;
  };
  const updateErrors = { 400: FieldErrorMap, 404: DetailError };
  const updated = { 200: subsidySchema };
  app.put(
    '/api/v1/subsidies/:uuid',
    {
      onRequest: requireOperatorSomewhere,
      schema: { params, documentedBody: putBody, documentedResponses: updated, errors: updateErrors },
    },
    update(false),
  );
  app.patch(
    '/api/v1/subsidies/:uuid',
    {
      onRequest: requireOperatorSomewhere,
      schema: { params, documentedBody: patchBody, documentedResponses: updated, errors: updateErrors },
    },
    update(true),
  );

  app.delete(
    '/api/v1/subsidies/:uuid',
    { onRequest: requireOperatorSomewhere, schema: { params, documentedResponses: { 204: z.null() } } },
    async (req, reply) => {
      const subsidy = await permitted(req, PERMISSIONS.writeSubsidies);
      await softDeleteSubsidy(db, subsidy.uuid);
      return reply.code(204).send();
    },
  );

  /**
   * Can this learner redeem this content from the subsidy now: active, enough balance for the
   * catalog price, and not already holding a committed, un-reversed redemption of it. Returns
   * every transaction of the pair (all states, oldest first): the orchestrator derives its
   * redemption idempotency key from the failed and reversed ones (spec §7.3).
   */
  app.get(
    '/api/v1/subsidies/:uuid/can_redeem',
    {
      onRequest: requireCaller,
      schema: {
        params,
        documentedQuery: canRedeemQuery,
        documentedResponses: { 200: canRedeemSchema },
        // 422 content not in the catalog; 502 / 503 the catalog refused or could not be reached.
        errors: { 400: [DetailError, FieldErrorMap], 422: DetailError, 502: DetailError, 503: DetailError },
      },
    },
    async (req) => {
      const subsidy = await permitted(req, PERMISSIONS.readSubsidies);
      const query = req.query as Record<string, unknown>;
      if (!query.lms_user_id || !query.content_key) throw detail(400, 'A lms_user_id and content_key are required');
      const { lms_user_id: lmsUserId, content_key: contentKey } = parseQuery(canRedeemQuery, query);
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
    {
      onRequest: requireCaller,
      schema: {
        params,
        documentedQuery: aggregatesQuery,
        documentedResponses: { 200: aggregatesByLearnerSchema },
        errors: { 400: FieldErrorMap },
      },
    },
    async (req) => {
      const subsidy = await permitted(req, PERMISSIONS.readSubsidies);
      const { subsidy_access_policy_uuid: policy } = parseQuery(aggregatesQuery, req.query);
      return aggregatesByLearner(db, subsidy.ledger_uuid, policy);
    },
  );
}

/** Serializes as a bare JSON string: upstream answers some errors with `Response("message", status)`. */
class JsonString {
  constructor(private readonly value: string) {}
  toJSON() {
    return this.value;
  }
}
