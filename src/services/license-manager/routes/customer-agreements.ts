import { sql } from 'kysely';
import { z } from 'zod';
import {
  booleanField,
  optionalUuidQuery,
  parseBody,
  queryFlag,
  textField,
  uuidField,
  uuidParam,
} from '../../../lib/drf/fields';
import { countRows, pageQuery, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { DetailError, FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { badRequest, type FieldErrors, forbidden, notFound } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { AGREEMENT_READ_ROLES, canReadCustomer, readableCustomers } from '../permissions';
import { agreementRepresentation } from '../representation';
import { agreementPageSchema, agreementSchema } from '../response-schemas';
import type { CustomerAgreementRow, LicenseManagerDB } from '../schema';
import { findAgreement, type LmDb, loadPlanFacts, plansOfAgreements } from '../store';
import { requireCaller } from './shared';

/** Blank slugs are stored as null: "" would collide with every other blank slug on the unique index. */
const slugField = () =>
  textField(128, { allowBlank: true })
    .nullable()
    .optional()
    .transform((s) => (s === undefined ? undefined : s?.trim() ? s : null));

const agreementFields = {
  enterprise_customer_slug: slugField(),
  enterprise_customer_name: textField(255, { allowBlank: true }).nullable().optional(),
  default_enterprise_catalog_uuid: uuidField().nullable().optional(),
  disable_expiration_notifications: booleanField().optional(),
  // Upstream documents this field but its serializer ignores it; we store it.
  disable_onboarding_notifications: booleanField().optional(),
  enable_auto_applied_subscriptions_with_universal_link: booleanField().optional(),
};

const createBody = z.object({ enterprise_customer_uuid: uuidField(), ...agreementFields });
const patchBody = z.object({ enterprise_customer_uuid: z.unknown().optional(), ...agreementFields });

const oneAgreement = { 200: agreementSchema };
const agreementParams = z.object({ customer_agreement_uuid: z.string() });
const readQuery = z.object({ active_plans_only: queryFlag(true) });
const listQuery = z.object({
  enterprise_customer_uuid: optionalUuidQuery(),
  active_plans_only: queryFlag(true),
  ...pageQuery,
});

/** The message Django's unique validator gives, which clients of the upstream match on. */
const alreadyExists = (field: string) => [`customer agreement with this ${field} already exists.`];

/**
 * The unique-field errors a write would hit, or null. Run before writing (to name every
 * duplicate field at once, as DRF does) and again after a unique violation (a concurrent
 * write won the race): either way the caller gets a 400, never a 500.
 */
async function duplicates(
  db: LmDb,
  values: { enterprise_customer_uuid?: string; enterprise_customer_slug?: string | null },
  exceptUuid?: string,
): Promise<FieldErrors | null> {
  const errors: FieldErrors = {};
  const taken = async (column: 'enterprise_customer_uuid' | 'enterprise_customer_slug', value: string) => {
    let q = db.selectFrom('customer_agreements').select('uuid').where(column, '=', value);
    if (exceptUuid) q = q.where('uuid', '<>', exceptUuid);
    return (await q.executeTakeFirst()) !== undefined;
  };
  if (values.enterprise_customer_uuid && (await taken('enterprise_customer_uuid', values.enterprise_customer_uuid))) {
    errors.enterprise_customer_uuid = alreadyExists('enterprise customer uuid');
  }
  if (values.enterprise_customer_slug && (await taken('enterprise_customer_slug', values.enterprise_customer_slug))) {
    errors.enterprise_customer_slug = alreadyExists('enterprise customer slug');
  }
  return Object.keys(errors).length ? errors : null;
}

/** Runs a write; a unique violation becomes the 400 naming the duplicate field. */
async function uniqueWrite<T>(
  db: LmDb,
  values: Parameters<typeof duplicates>[1],
  exceptUuid: string | undefined,
  write: () => Promise<T>,
): Promise<T> {
  const before = await duplicates(db, values, exceptUuid);
  if (before) throw badRequest(before);
  try {
    return await write();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const after = await duplicates(db, values, exceptUuid);
    if (after) throw badRequest(after);
    throw err;
  }
}

/**
 * Customer agreements (spec 5.1 provisioning, 5.4 read): one per enterprise customer, the parent
 * of its subscription plans.
 */
export function customerAgreementRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  const render = async (rows: CustomerAgreementRow[], activePlansOnly: boolean) => {
    const plans = await plansOfAgreements(
      db,
      rows.map((r) => r.uuid),
    );
    const facts = await loadPlanFacts(db, plans);
    const now = new Date();
    return rows.map((a) =>
      agreementRepresentation(
        a,
        plans.filter((p) => p.customer_agreement === a.uuid),
        facts,
        now,
        activePlansOnly,
      ),
    );
  };
  const renderOne = async (row: CustomerAgreementRow, activePlansOnly = true) =>
    (await render([row], activePlansOnly))[0];

  app.post(
    '/api/v1/provisioning-admins/customer-agreement',
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: createBody,
        documentedResponses: { 201: agreementSchema },
        errors: { 400: FieldErrorMap },
      },
    },
    async (req, reply) => {
      const body = parseBody(createBody, req.body);
      const values = {
        enterprise_customer_uuid: body.enterprise_customer_uuid,
        enterprise_customer_slug: body.enterprise_customer_slug ?? null,
        enterprise_customer_name: body.enterprise_customer_name ?? null,
        default_enterprise_catalog_uuid: body.default_enterprise_catalog_uuid ?? null,
        disable_expiration_notifications: body.disable_expiration_notifications,
        disable_onboarding_notifications: body.disable_onboarding_notifications,
        enable_auto_applied_subscriptions_with_universal_link:
          body.enable_auto_applied_subscriptions_with_universal_link,
      };
      const row = await uniqueWrite(db, values, undefined, () =>
        db.insertInto('customer_agreements').values(values).returningAll().executeTakeFirstOrThrow(),
      );
      return reply.code(201).send(await renderOne(row));
    },
  );

  app.get(
    '/api/v1/provisioning-admins/customer-agreement/:customer_agreement_uuid',
    {
      onRequest: requireOperator,
      schema: { params: agreementParams, documentedResponses: oneAgreement, errors: { 404: DetailError } },
    },
    async (req) => {
      const uuid = uuidParam(req.params.customer_agreement_uuid);
      const row = uuid ? await findAgreement(db, uuid) : undefined;
      if (!row) throw notFound();
      return renderOne(row);
    },
  );

  app.patch(
    '/api/v1/provisioning-admins/customer-agreement/:customer_agreement_uuid',
    {
      onRequest: requireOperator,
      schema: {
        params: agreementParams,
        documentedBody: patchBody,
        documentedResponses: oneAgreement,
        errors: { 400: FieldErrorMap, 404: DetailError },
      },
    },
    async (req) => {
      const uuid = uuidParam(req.params.customer_agreement_uuid);
      const existing = uuid ? await findAgreement(db, uuid) : undefined;
      if (!uuid || !existing) throw notFound();
      const body = parseBody(patchBody, req.body);
      // The customer an agreement belongs to is its identity: upstream refuses to move it.
      if (body.enterprise_customer_uuid !== undefined) {
        throw badRequest({ enterprise_customer_uuid: ['enterprise_customer_uuid cannot be updated'] });
      }
      const { enterprise_customer_uuid: _ignored, ...changes } = body;
      const row = await uniqueWrite(db, { enterprise_customer_slug: changes.enterprise_customer_slug }, uuid, () =>
        db
          .updateTable('customer_agreements')
          .set({ ...changes, modified: sql<Date>`now()` })
          .where('uuid', '=', uuid)
          .returningAll()
          .executeTakeFirstOrThrow(),
      );
      return renderOne(row);
    },
  );

  app.get(
    '/api/v1/customer-agreement',
    { onRequest: requireCaller, schema: { querystring: listQuery, documentedResponses: { 200: agreementPageSchema } } },
    async (req) => {
      const scope = readableCustomers(requirePrincipal(req), AGREEMENT_READ_ROLES);
      const { enterprise_customer_uuid: customer, active_plans_only: activeOnly } = req.query;
      // A caller without a role on the customer sees an empty list, not a 403 (upstream's listing mixin).
      if (scope !== 'all' && (scope.length === 0 || (customer && !scope.includes(customer)))) {
        return paginate(
          req,
          async () => 0,
          async () => [],
        );
      }
      let q = db.selectFrom('customer_agreements');
      if (customer) q = q.where('enterprise_customer_uuid', '=', customer);
      if (scope !== 'all') q = q.where('enterprise_customer_uuid', 'in', scope);
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          render(
            await q.selectAll().orderBy('created').orderBy('uuid').limit(limit).offset(offset).execute(),
            activeOnly,
          ),
      );
    },
  );

  app.get(
    '/api/v1/customer-agreement/:customer_agreement_uuid',
    {
      onRequest: requireCaller,
      schema: {
        params: agreementParams,
        querystring: readQuery,
        documentedResponses: oneAgreement,
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const uuid = uuidParam(req.params.customer_agreement_uuid);
      const row = uuid ? await findAgreement(db, uuid) : undefined;
      // As upstream: a caller with no role on the (possibly missing) customer gets 403; only a
      // caller with a role over every customer learns that the agreement does not exist.
      if (!row) {
        if (readableCustomers(principal, AGREEMENT_READ_ROLES) === 'all') throw notFound();
        throw forbidden();
      }
      if (!canReadCustomer(principal, row.enterprise_customer_uuid)) throw forbidden();
      return renderOne(row, req.query.active_plans_only);
    },
  );
}
