import { z } from 'zod';
import { isUuid, normalizeUuid } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError, MessageListError } from '../../../lib/fastify/error-schemas';
import { detail } from '../../../lib/http-errors';
import type { ServiceContext } from '../../common/service';
import { listQuery, presenceFlag } from '../fields';
import { assertCanRead, requireReader } from '../permissions';
import type { CatalogDB } from '../schema';
import { catalogsOfCustomer, keysInCatalog } from '../store';
import { missingContentParams } from './enterprise-catalogs';

/** Questions about all of a customer's catalogs at once. */
export function enterpriseCustomerRoutes(app: ZodApp, { db }: ServiceContext<CatalogDB>) {
  app.get(
    '/api/v1/enterprise-customer/:customer_uuid/contains_content_items',
    {
      onRequest: requireReader,
      schema: {
        params: z.object({ customer_uuid: z.string() }),
        querystring: z.object({
          course_run_ids: listQuery(),
          program_uuids: listQuery(),
          get_catalogs_containing_specified_content_ids: presenceFlag(),
          get_catalog_list: presenceFlag(),
        }),
        response: {
          200: z.object({ contains_content_items: z.boolean(), catalog_list: z.array(z.string()).optional() }),
        },
        errors: { 400: [DetailError, MessageListError] },
      },
    },
    async (req) => {
      const raw = req.params.customer_uuid;
      assertCanRead(req, raw);
      if (!isUuid(raw)) throw detail(400, `Error: invalid enterprise customer uuid: "${raw}" provided.`);
      const q = req.query;
      if (q.course_run_ids.length === 0 && q.program_uuids.length === 0) throw missingContentParams();
      const wantList = q.get_catalogs_containing_specified_content_ids || q.get_catalog_list;
      const containing: string[] = [];
      for (const catalog of await catalogsOfCustomer(db, normalizeUuid(raw))) {
        if ((await keysInCatalog(db, catalog.content_filter, q.course_run_ids)).length === 0) continue;
        containing.push(catalog.uuid);
        // Without the list, the first catalog that has the content answers the question.
        if (!wantList) break;
      }
      return {
        contains_content_items: containing.length > 0,
        ...(wantList ? { catalog_list: containing } : {}),
      };
    },
  );
}
