import { z } from 'zod';
import {
  BLANK,
  booleanField,
  choiceField,
  dateTimeField,
  intField,
  maxLength,
  presence,
  pythonType,
  unlessMissing,
} from '../../lib/drf/fields';
import { CONTENT_TYPES } from './schema';

/**
 * The shape of a content item as the import endpoint, the seed file and `npm run catalog:import`
 * take it: the columns of `content_items`, with DRF's field messages.
 */

/** Items per import call: one call is one transaction, and its body stays well under the body limit. */
export const MAX_IMPORT_ITEMS = 10_000;

const NUL = 'Null characters are not allowed.';

const text = (max: number) =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .refine((s) => !s.includes('\0'), { error: NUL })
    .refine((s) => s.trim() !== '', { error: BLANK })
    .refine((s) => s.length <= max, { error: maxLength(max) });

/** Content keys never hold whitespace: query strings turn `+` into a space, which lookups turn back. */
const contentKey = () => text(255).refine((s) => !/\s/.test(s), { error: 'Content keys may not contain whitespace.' });

const nullable = <T extends z.ZodType>(field: T) =>
  field
    .nullable()
    .optional()
    .transform((v) => v ?? null);

export const contentItemSchema = z
  .object({
    content_key: contentKey(),
    content_type: choiceField(CONTENT_TYPES),
    parent_content_key: nullable(contentKey()),
    title: text(255),
    org: text(255),
    content_price_cents: nullable(intField('integer', { min: 0 })),
    enroll_by_date: nullable(dateTimeField()),
    start_date: nullable(dateTimeField()),
    end_date: nullable(dateTimeField()),
    is_active: booleanField()
      .optional()
      .transform((v) => v ?? true),
  })
  .superRefine((item, ctx) => {
    const parent = item.parent_content_key;
    if (item.content_type === 'courserun' && parent === null) {
      ctx.addIssue({ code: 'custom', path: ['parent_content_key'], message: 'A course run needs its course key.' });
    } else if (item.content_type === 'course' && parent !== null) {
      ctx.addIssue({ code: 'custom', path: ['parent_content_key'], message: 'A course has no parent content key.' });
    } else if (parent !== null && parent === item.content_key) {
      ctx.addIssue({ code: 'custom', path: ['parent_content_key'], message: 'An item cannot be its own parent.' });
    }
  });
export type ContentItemInput = z.output<typeof contentItemSchema>;

const itemList = (max: number) =>
  z
    .array(contentItemSchema, {
      error: (iss) => presence(iss) ?? `Expected a list of items but got type "${pythonType(iss.input)}".`,
    })
    .min(1, { error: 'This list may not be empty.' })
    .max(max, { error: `Ensure this field has no more than ${max} elements.` });

/** `POST /api/v1/content-items/import/` */
export const importBodySchema = z.object({ items: itemList(MAX_IMPORT_ITEMS) });

/** The seed file: the import shape without the per-call limit. */
export const seedFileSchema = z.object({ items: itemList(Number.MAX_SAFE_INTEGER) });
