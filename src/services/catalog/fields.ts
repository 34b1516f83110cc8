import { z } from 'zod';
import { BLANK, maxLength, unlessMissing } from '../../lib/drf/fields';

/**
 * catalog's request fields; the generic ones (uuids, hyphenated or 32 hex digits and normalized as
 * Django's UUIDField takes both, and DRF's messages) are in ../common/fields.
 */

/** A CharField: trimmed, not blank, no NUL bytes (Postgres refuses them). */
export const textField = (max: number) =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .trim()
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .refine((s) => s !== '', { error: BLANK })
    .refine((s) => s.length <= max, { error: maxLength(max) });

/**
 * A content key as a client put it in a URL. Course keys hold `+`, which form encoding (and
 * clients that do not escape it) turn into a space; keys hold no spaces, so every space is a `+`
 * (upstream's `unquote_course_keys`).
 */
export const contentKeyFromUrl = (raw: string) => raw.trim().replaceAll(' ', '+');

/** A list in the query string: the parameter repeated (`?k=a&k=b`, upstream) and/or comma-separated (`?k=a,b`). */
export const listQuery = () =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) =>
      (v === undefined ? [] : Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map(contentKeyFromUrl)
        .filter((s) => s !== ''),
    )
    .refine((keys) => keys.every((k) => !k.includes('\0')), { error: 'Null characters are not allowed.' });

/** A flag upstream reads as "present and not empty"; `false`/`0` count as false here too. */
export const presenceFlag = () =>
  z
    .string()
    .optional()
    .transform((v) => v !== undefined && !['', 'false', 'False', '0', 'no', 'off'].includes(v.trim()));
