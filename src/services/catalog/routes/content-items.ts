import { z } from 'zod';
import { parseBody } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { badRequest, type FieldErrors } from '../../../lib/http-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { type ContentItemInput, importBodySchema } from '../content-items';
import type { CatalogDB } from '../schema';
import { type CatalogDb, existingCourses, upsertContentItems } from '../store';

/**
 * Field errors no schema can see: a key twice in one call, a run whose course is neither in the
 * call nor stored. Keyed by the item's position, as the schema's errors are.
 */
async function crossItemErrors(db: CatalogDb, items: readonly ContentItemInput[]): Promise<FieldErrors> {
  const errors: Record<string, FieldErrors> = {};
  const add = (i: number, field: string, message: string) => {
    const key = String(i);
    errors[key] = { ...errors[key], [field]: [message] };
  };
  const firstIndex = new Map<string, number>();
  items.forEach((item, i) => {
    const first = firstIndex.get(item.content_key);
    if (first === undefined) firstIndex.set(item.content_key, i);
    else add(i, 'content_key', `Duplicate of item ${first}: each content key may appear once per request.`);
  });
  const typeInCall = new Map(items.map((item) => [item.content_key, item.content_type]));
  const parents = items.flatMap((item) =>
    item.parent_content_key !== null && !typeInCall.has(item.parent_content_key) ? [item.parent_content_key] : [],
  );
  const storedCourses = await existingCourses(db, parents);
  items.forEach((item, i) => {
    const parent = item.parent_content_key;
    if (parent === null) return;
    const type = typeInCall.get(parent);
    const isCourse = type === undefined ? storedCourses.has(parent) : type === 'course';
    if (!isCourse) add(i, 'parent_content_key', `No course with the key "${parent}" exists or is in this request.`);
  });
  return Object.keys(errors).length > 0 ? { items: errors } : {};
}

/** Bulk upsert of courses and runs (operators; `npm run catalog:import` calls it in chunks). */
export function contentItemRoutes(app: ZodApp, { db }: ServiceContext<CatalogDB>) {
  app.post(
    '/api/v1/content-items/import',
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: importBodySchema,
        response: { 200: z.object({ created: z.number().int(), updated: z.number().int() }) },
        errors: { 400: FieldErrorMap },
      },
    },
    async (req) => {
      const { items } = parseBody(importBodySchema, req.body);
      const errors = await crossItemErrors(db, items);
      if (Object.keys(errors).length > 0) throw badRequest(errors);
      // One transaction: a call is imported whole or not at all.
      return db.transaction().execute((trx) => upsertContentItems(trx, items));
    },
  );
}
