import { type core, z } from 'zod';
import { presence, pythonType } from '../../lib/drf/fields';
import { issuesToFieldErrors } from '../../lib/validation';

/**
 * DRF's `many=True` serializer field, with its error shapes: a list whose errors are a list with
 * one entry per item (`{}` for a valid one), or `{"non_field_errors": [...]}` when the value is not
 * a list at all. Pure: no I/O.
 */

/** Python's name for a JSON value's type, as DRF's messages give it (a whole number is an `int`). */
export const pyType = pythonType;

/** DRF's message for a body (or list item) that is not a JSON object. */
export const notADictionary = (v: unknown) => `Invalid data. Expected a dictionary, but got ${pyType(v)}.`;

export type ListResult<T> = { ok: true; items: T[] | undefined } | { ok: false; errors: unknown };

/**
 * Parses `raw` as a list of `item`s (absent is `items: undefined`). `rule` is the item's own
 * `validate()`: checked only on items whose fields are valid, its message under `non_field_errors`.
 */
export function parseListField<S extends core.$ZodType>(
  raw: unknown,
  item: S,
  opts: { maxItems: number; rule?: (value: core.output<S>) => string | undefined },
): ListResult<core.output<S>> {
  if (raw === undefined) return { ok: true, items: undefined };
  if (raw === null) return { ok: false, errors: ['This field may not be null.'] };
  if (!Array.isArray(raw)) {
    return { ok: false, errors: { non_field_errors: [`Expected a list of items but got type "${pyType(raw)}".`] } };
  }
  if (raw.length > opts.maxItems) {
    return {
      ok: false,
      errors: { non_field_errors: [`Ensure this field has no more than ${opts.maxItems} elements.`] },
    };
  }
  const items: core.output<S>[] = [];
  const errors: Array<ReturnType<typeof issuesToFieldErrors>> = [];
  for (const entry of raw) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push({ non_field_errors: [presence({ input: entry }) ?? notADictionary(entry)] });
      continue;
    }
    const parsed = z.safeParse(item, entry);
    if (!parsed.success) {
      errors.push(issuesToFieldErrors(parsed.error.issues));
      continue;
    }
    const message = opts.rule?.(parsed.data);
    errors.push(message ? { non_field_errors: [message] } : {});
    items.push(parsed.data);
  }
  return errors.some((e) => Object.keys(e).length > 0) ? { ok: false, errors } : { ok: true, items };
}
