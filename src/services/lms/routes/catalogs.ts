import { sql } from 'kysely';
import { z } from 'zod';
import type { ZodApp } from '../../../lib/fastify/app';
import { badRequest, type FieldErrors } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import { incorrectPkType, invalidPk, MAX_INT } from '../../common/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../common/pagination';
import type { ServiceContext } from '../../common/service';
import { text, uuidField, uuidFilter } from '../fields';
import type { LmsDB } from '../schema';
import { catalogByCustomerAndQuery, catalogQueryExists, catalogView, customerByUuid } from '../store';

const API = '/enterprise/api/v1';
/** PROVISIONING_DEFAULTS.catalog.catalog_query_id upstream. */
const DEFAULT_CATALOG_QUERY_ID = 1;

const catalogSchema = z.object({
  uuid: z.string(),
  title: z.string(),
  enterprise_customer: z.string(),
  enterprise_catalog_query: z.number().int().nullable(),
  created: z.string(),
  modified: z.string(),
});

/** A catalog query id as DRF's PrimaryKeyRelatedField takes it (number or digit string); falsy → the default query. */
const catalogQueryField = z
  .unknown()
  .optional()
  .transform((value, ctx) => {
    if (!value) return DEFAULT_CATALOG_QUERY_ID;
    const id =
      typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (Number.isInteger(id)) return id;
    ctx.addIssue({ code: 'custom', message: incorrectPkType(value) });
    return z.NEVER;
  });

/**
 * Customer catalogs: `enterprise_catalogs/` (read) and `enterprise_customer_catalog/` (write).
 * Create is get-or-create by (customer, catalog query), as upstream; the unique constraint makes
 * it hold under concurrency too (upstream's Python check races).
 */
export function catalogRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  app.get(
    `${API}/enterprise_catalogs`,
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({
          enterprise_customer: uuidFilter(),
          // Upstream's filterset ignores this parameter although provisioning sends it, so
          // `results[0]` there can be another query's catalog; here it filters.
          enterprise_catalog_query: z.string().regex(/^\d+$/, 'Enter a number.').optional(),
          uuid: uuidFilter(),
          ...pageQuery,
        }),
        response: { 200: pageSchema(catalogSchema) },
      },
    },
    async (req) => {
      const { enterprise_customer: customer, enterprise_catalog_query: query, uuid } = req.query;
      let q = db.selectFrom('enterprise_customer_catalogs');
      if (customer !== undefined) q = q.where('enterprise_customer', '=', customer);
      if (uuid !== undefined) q = q.where('uuid', '=', uuid);
      if (query !== undefined) {
        // An id beyond `integer` matches nothing (and must not reach Postgres as an int parameter).
        q =
          Number(query) <= MAX_INT
            ? q.where('enterprise_catalog_query', '=', Number(query))
            : q.where(sql<boolean>`false`);
      }
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await q.selectAll().orderBy('created').orderBy('uuid').limit(limit).offset(offset).execute()).map(
            catalogView,
          ),
      );
    },
  );

  app.post(
    `${API}/enterprise_customer_catalog`,
    {
      onRequest: requireOperator,
      schema: {
        body: z.object({
          title: text(255),
          enterprise_customer: uuidField(),
          enterprise_catalog_query: catalogQueryField,
        }),
        response: { 200: catalogSchema, 201: catalogSchema },
      },
    },
    async (req, reply) => {
      const { title, enterprise_customer: customerUuid, enterprise_catalog_query: queryId } = req.body;
      const [customer, queryExists] = await Promise.all([
        customerByUuid(db, customerUuid),
        queryId >= 1 && queryId <= MAX_INT ? catalogQueryExists(db, queryId) : false,
      ]);
      const errors: FieldErrors = {};
      if (!customer) errors.enterprise_customer = [invalidPk(customerUuid)];
      if (!queryExists) errors.enterprise_catalog_query = [invalidPk(queryId)];
      if (!customer || Object.keys(errors).length > 0) throw badRequest(errors);

      const existing = await catalogByCustomerAndQuery(db, customer.uuid, queryId);
      if (existing) return reply.code(200).send(catalogView(existing));
      try {
        const created = await db
          .insertInto('enterprise_customer_catalogs')
          .values({ enterprise_customer: customer.uuid, title, enterprise_catalog_query: queryId })
          .returningAll()
          .executeTakeFirstOrThrow();
        return reply.code(201).send(catalogView(created));
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // A concurrent create of the same (customer, query) won: answer with its catalog.
        const winner = await catalogByCustomerAndQuery(db, customer.uuid, queryId);
        if (!winner) throw err;
        return reply.code(200).send(catalogView(winner));
      }
    },
  );
}
