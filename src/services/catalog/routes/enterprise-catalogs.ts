import { sql } from 'kysely';
import { z } from 'zod';
import {
  intField,
  invalidPk,
  isUuid,
  optionalUuidQuery,
  parseBody,
  uuidField,
  uuidParam,
} from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { DetailError, FieldErrorMap, MessageListError } from '../../../lib/fastify/error-schemas';
import { badRequest, HttpError, notFound } from '../../../lib/http-errors';
import type { ServiceContext } from '../../common/service';
import { listQuery, textField } from '../fields';
import { assertCanRead, CATALOG_CRUD_ROLES, customersFor, requireCatalogAdmin, requireReader } from '../permissions';
import type { CatalogDB } from '../schema';
import {
  type CatalogDb,
  type CatalogWithQuery,
  catalogByUuid,
  catalogContent,
  catalogQueryExists,
  catalogsFrom,
  catalogView,
  contentMetadataView,
  keysInCatalog,
  selectCatalogs,
  upsertCatalog,
} from '../store';
import { contentMetadataSchema } from './content-metadata';

const API = '/api/v1/enterprise-catalogs';

export const catalogSchema = z.object({
  uuid: z.string(),
  title: z.string(),
  enterprise_customer: z.string(),
  enterprise_catalog_query: z.number().int().nullable(),
  content_count: z.number().int(),
});

/**
 * The PUT body, as edx-enterprise sends it when it saves an EnterpriseCustomerCatalog (upstream
 * also sends `uuid` and `enterprise_customer_name`, which are ignored: the uuid is the URL's).
 */
const upsertBody = z.object({
  title: textField(255),
  enterprise_customer: uuidField(),
  enterprise_catalog_query: intField('integer', { min: 1 }).nullable(),
});

/** Upstream's `require_at_least_one_query_parameter`: a DRF ValidationError of a bare string, a JSON list. */
export const missingContentParams = () =>
  new HttpError(400, [
    'You must provide at least one of the following query parameters: course_run_ids, program_uuids.',
  ]);

/** Upstream's limit on `content_keys` in a GET. */
const MAX_GET_CONTENT_KEYS = 100;

const catalogParams = z.object({ uuid: z.string() });

/**
 * The catalog named by the URL, or 404; then 403 unless the caller holds one of `roles` (by
 * default the read roles) for its customer.
 */
async function readableCatalog(
  db: CatalogDb,
  req: Parameters<typeof assertCanRead>[0],
  raw: string,
  roles?: readonly string[],
) {
  const uuid = uuidParam(raw);
  const catalog = uuid && (await catalogByUuid(db, uuid));
  if (!catalog) throw notFound();
  assertCanRead(req, catalog.enterprise_customer_uuid, roles);
  return catalog;
}

const contentCount = (db: CatalogDb, catalog: CatalogWithQuery) =>
  countRows(catalogContent(db, catalog.content_filter));

/**
 * enterprise-catalog's catalogs: the lms keeps them in step (PUT by the lms catalog's uuid);
 * enterprise-access asks whether content is in one and reads its content metadata.
 */
export function enterpriseCatalogRoutes(app: ZodApp, { db }: ServiceContext<CatalogDB>) {
  // The catalogs themselves (upstream's EnterpriseCatalogCRUDViewSet): catalog admins and the
  // provisioning admin, each for their customers; learners read content through the actions below.
  app.get(
    API,
    {
      onRequest: requireCatalogAdmin,
      schema: {
        querystring: z.object({ enterprise_customer: optionalUuidQuery(), ...pageQuery }),
        response: { 200: pageSchema(catalogSchema) },
      },
    },
    async (req) => {
      const scope = customersFor(requirePrincipal(req), CATALOG_CRUD_ROLES);
      let q = catalogsFrom(db);
      if (req.query.enterprise_customer) q = q.where('c.enterprise_customer_uuid', '=', req.query.enterprise_customer);
      if (scope !== 'all') {
        q = scope.length > 0 ? q.where('c.enterprise_customer_uuid', 'in', scope) : q.where(sql<boolean>`false`);
      }
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) => {
          const catalogs = await selectCatalogs(q.orderBy('c.created').orderBy('c.uuid').limit(limit).offset(offset));
          // One count per catalog query, not per catalog: a page of catalogs shares a few queries.
          const counts = new Map<number | null, Promise<number>>();
          for (const c of catalogs) {
            if (!counts.has(c.catalog_query_id)) counts.set(c.catalog_query_id, contentCount(db, c));
          }
          return Promise.all(
            catalogs.map(async (c) => catalogView(c, await (counts.get(c.catalog_query_id) ?? contentCount(db, c)))),
          );
        },
      );
    },
  );

  app.get(
    `${API}/:uuid`,
    {
      onRequest: requireCatalogAdmin,
      schema: { params: catalogParams, response: { 200: catalogSchema }, errors: { 404: DetailError } },
    },
    async (req) => {
      const catalog = await readableCatalog(db, req, req.params.uuid, CATALOG_CRUD_ROLES);
      return catalogView(catalog, await contentCount(db, catalog));
    },
  );

  app.put(
    `${API}/:uuid`,
    {
      onRequest: requireCatalogAdmin,
      schema: {
        params: catalogParams,
        documentedBody: upsertBody,
        response: { 200: catalogSchema, 201: catalogSchema },
        errors: { 400: FieldErrorMap, 404: DetailError },
      },
    },
    async (req, reply) => {
      const uuid = uuidParam(req.params.uuid);
      if (!uuid) throw notFound();
      // An admin of the catalog's customer (as it is, and as the body would make it).
      const existing = await catalogByUuid(db, uuid);
      if (existing) assertCanRead(req, existing.enterprise_customer_uuid, CATALOG_CRUD_ROLES);
      const named = (req.body as { enterprise_customer?: unknown } | undefined)?.enterprise_customer;
      if (typeof named === 'string' && isUuid(named)) assertCanRead(req, named, CATALOG_CRUD_ROLES);
      const body = parseBody(upsertBody, req.body);
      assertCanRead(req, body.enterprise_customer, CATALOG_CRUD_ROLES);
      const queryId = body.enterprise_catalog_query;
      if (queryId !== null && !(await catalogQueryExists(db, queryId))) {
        throw badRequest({ enterprise_catalog_query: [invalidPk(queryId)] });
      }
      const { created } = await upsertCatalog(db, {
        uuid,
        title: body.title,
        enterprise_customer_uuid: body.enterprise_customer,
        catalog_query_id: queryId,
      });
      const catalog = await catalogByUuid(db, uuid);
      if (!catalog) throw new Error(`catalog ${uuid} vanished after its upsert`);
      return reply.code(created ? 201 : 200).send(catalogView(catalog, await contentCount(db, catalog)));
    },
  );

  app.get(
    `${API}/:uuid/contains_content_items`,
    {
      onRequest: requireReader,
      schema: {
        params: catalogParams,
        querystring: z.object({ course_run_ids: listQuery(), program_uuids: listQuery() }),
        response: { 200: z.object({ contains_content_items: z.boolean() }) },
        errors: { 400: MessageListError, 404: DetailError },
      },
    },
    async (req) => {
      const catalog = await readableCatalog(db, req, req.params.uuid);
      const { course_run_ids: keys, program_uuids: programs } = req.query;
      if (keys.length === 0 && programs.length === 0) throw missingContentParams();
      // No programs are kept here, so program uuids are never contained.
      const found = await keysInCatalog(db, catalog.content_filter, keys);
      return { contains_content_items: found.length > 0 };
    },
  );

  app.get(
    `${API}/:uuid/get_content_metadata`,
    {
      onRequest: requireReader,
      schema: {
        params: catalogParams,
        querystring: z.object({ content_keys: listQuery(), ...pageQuery }),
        response: {
          200: pageSchema(contentMetadataSchema).extend({
            uuid: z.string(),
            title: z.string(),
            enterprise_customer: z.string(),
          }),
        },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const catalog = await readableCatalog(db, req, req.params.uuid);
      const keys = [...new Set(req.query.content_keys)];
      if (keys.length > MAX_GET_CONTENT_KEYS) {
        throw badRequest({ content_keys: [`Ensure this field has no more than ${MAX_GET_CONTENT_KEYS} elements.`] });
      }
      let q = catalogContent(db, catalog.content_filter);
      if (keys.length > 0) q = q.where('ci.content_key', 'in', keys);
      const page = await paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (
            await q
              .selectAll('ci')
              .select('p.content_price_cents as parent_price_cents')
              .orderBy('ci.content_key')
              .limit(limit)
              .offset(offset)
              .execute()
          ).map(contentMetadataView),
      );
      return {
        ...page,
        uuid: catalog.uuid,
        title: catalog.title,
        enterprise_customer: catalog.enterprise_customer_uuid,
      };
    },
  );
}
