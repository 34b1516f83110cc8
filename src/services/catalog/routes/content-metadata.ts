import { z } from 'zod';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError } from '../../../lib/fastify/error-schemas';
import { notFound } from '../../../lib/http-errors';
import type { ServiceContext } from '../../common/service';
import { contentKeyFromUrl } from '../fields';
import { assertCanRead, requireReader } from '../permissions';
import type { CatalogDB } from '../schema';
import { contentMetadataView, contentWithParentPrice } from '../store';

export const contentMetadataSchema = z.object({
  content_key: z.string(),
  content_type: z.string(),
  parent_content_key: z.string().nullable(),
  title: z.string(),
  org: z.string(),
  /** USD cents. */
  content_price: z.number().int().nullable(),
  enroll_by_date: z.string().nullable(),
  start_date: z.string().nullable(),
  end_date: z.string().nullable(),
  is_active: z.boolean(),
});

/**
 * One course or run with the fields redemption reads: price (cents) and dates. Content metadata is
 * not secret: any admin, learner or operator may read it; when the caller names a customer
 * (`?enterprise_customer_uuid=`, as enterprise-access does through subsidy), its role must be for
 * that customer.
 */
export function contentMetadataRoutes(app: ZodApp, { db }: ServiceContext<CatalogDB>) {
  app.get(
    '/api/v1/content-metadata/:content_key',
    {
      onRequest: requireReader,
      schema: {
        params: z.object({ content_key: z.string() }),
        querystring: z.object({ enterprise_customer_uuid: z.string().optional() }),
        response: { 200: contentMetadataSchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const customer = req.query.enterprise_customer_uuid;
      if (customer) assertCanRead(req, customer);
      const row = await contentWithParentPrice(db)
        .where('ci.content_key', '=', contentKeyFromUrl(req.params.content_key))
        .executeTakeFirst();
      if (!row) throw notFound();
      return contentMetadataView(row);
    },
  );
}
