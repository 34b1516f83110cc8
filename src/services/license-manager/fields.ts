import { z } from 'zod';
import { BLANK, isUuid, maxLength, normalizeUuid, unlessMissing } from '../common/fields';

/**
 * license-manager's own variants of DRF fields; the generic ones (and the messages) are in
 * ../common/fields. These differ from lms's on purpose: uuids may also be 32 hex digits and are
 * normalized, text keeps its whitespace and refuses NUL bytes (Postgres refuses them).
 */

/** A uuid path parameter, normalized; undefined when malformed (404, as upstream's URL patterns do). */
export const uuidParam = (raw: string) => (isUuid(raw) ? normalizeUuid(raw) : undefined);

export const uuidField = () =>
  z
    .string({ error: unlessMissing('Must be a valid UUID.') })
    .refine(isUuid, { error: 'Must be a valid UUID.' })
    .transform(normalizeUuid);

/** A CharField: no NUL bytes (Postgres refuses them), DRF's blank and length messages. */
export const textField = (max: number, opts: { allowBlank?: boolean } = {}) =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .refine((s) => opts.allowBlank || s.trim() !== '', { error: BLANK })
    .refine((s) => s.length <= max, { error: maxLength(max) });

/** A uuid query filter; absent or empty means "no filter". */
export const optionalUuidQuery = () =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || isUuid(v), { error: 'Must be a valid UUID.' })
    .transform((v) => (v ? normalizeUuid(v) : undefined));
