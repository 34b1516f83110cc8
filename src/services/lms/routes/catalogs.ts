import { sql } from 'kysely';
import { z } from 'zod';
import { inColumn, incorrectPkType, intFilter, invalidPk, NO_MATCH } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError } from '../../../lib/fastify/error-schemas';
import { describeBody, ServiceError } from '../../../lib/http-client';
import { badRequest, detail, type FieldErrors } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { text, uuidField, uuidFilter } from '../fields';
import type { CatalogRow, LmsDB } from '../schema';
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
 *
 * Every create answer (new or found) first upserts the catalog into enterprise-catalog under the
 * same uuid, as edx-enterprise's post_save signal does, but synchronously: a transient failure
 * answers 503 and the caller's retry finds the lms row and syncs it again, so the two services
 * cannot stay apart (upstream's signal drops the update when enterprise-catalog is down).
 */
export function catalogRoutes(app: ZodApp, { db, logger, peer }: ServiceContext<LmsDB>) {
  const syncToCatalogService = async (catalog: CatalogRow) => {
    try {
      await peer('catalog').call({
        operation: 'sync enterprise catalog',
        method: 'PUT',
        path: `/api/v1/enterprise-catalogs/${catalog.uuid}/`,
        body: {
          title: catalog.title,
          enterprise_customer: catalog.enterprise_customer,
          enterprise_catalog_query: catalog.enterprise_catalog_query,
        },
      });
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      logger.warn({ err, catalog: catalog.uuid }, 'catalog sync to enterprise-catalog failed');
      if (err.retryable) throw detail(503, 'Could not sync the catalog to enterprise-catalog; retry.');
      // enterprise-catalog refused it (a configuration fault, e.g. an unknown catalog query there):
      // retrying cannot help, so answer a 4xx that callers do not retry, with its reason.
      throw detail(422, `Could not sync the catalog to enterprise-catalog: ${describeBody(err.body) || err.message}`);
    }
  };

  app.get(
    `${API}/enterprise_catalogs`,
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({
          enterprise_customer: uuidFilter(),
          // Upstream's filterset ignores this parameter although provisioning sends it, so
          // `results[0]` there can be another query's catalog; here it filters.
          enterprise_catalog_query: intFilter('integer', { min: 1 }),
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
      // An id outside `integer` matches nothing (and never reaches Postgres as an int parameter).
      if (query === NO_MATCH) q = q.where(sql<boolean>`false`);
      else if (query !== undefined) q = q.where('enterprise_catalog_query', '=', query);
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
        // enterprise-catalog refused the catalog's sync (422) or could not be reached (503).
        errors: { 422: DetailError, 503: DetailError },
      },
    },
    async (req, reply) => {
      const { title, enterprise_customer: customerUuid, enterprise_catalog_query: queryId } = req.body;
      const [customer, queryExists] = await Promise.all([
        customerByUuid(db, customerUuid),
        inColumn('integer', queryId, { min: 1 }) ? catalogQueryExists(db, queryId) : false,
      ]);
      const errors: FieldErrors = {};
      if (!customer) errors.enterprise_customer = [invalidPk(customerUuid)];
      if (!queryExists) errors.enterprise_catalog_query = [invalidPk(queryId)];
      if (!customer || Object.keys(errors).length > 0) throw badRequest(errors);

      let catalog = await catalogByCustomerAndQuery(db, customer.uuid, queryId);
      let status: 200 | 201 = 200;
      if (!catalog) {
        try {
          catalog = await db
            .insertInto('enterprise_customer_catalogs')
            .values({ enterprise_customer: customer.uuid, title, enterprise_catalog_query: queryId })
            .returningAll()
            .executeTakeFirstOrThrow();
          status = 201;
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          // A concurrent create of the same (customer, query) won: answer with its catalog.
          catalog = await catalogByCustomerAndQuery(db, customer.uuid, queryId);
          if (!catalog) throw err;
        }
      }
      await syncToCatalogService(catalog);
      return reply.code(status).send(catalogView(catalog));
    },
  );
}
