import { z } from 'zod';
import { intRange, isUuid, maxLength, normalizeUuid, unlessMissing } from '../../lib/drf/fields';

/**
 * subsidy's own fields (amounts, metadata, django-filter query filters); the generic ones (uuids,
 * text, and DRF's messages) are in ../common/fields.
 */

/** A JSONField holding an object (upstream spreads it into keyword arguments, so it must be a dict). */
export const metadataField = () =>
  z
    .record(z.string(), z.unknown(), {
      error: (iss) => (iss.input === undefined ? 'This field is required.' : 'Must be a JSON object.'),
    })
    .nullable();

// ---- query filters (django-filter wording) --------------------------------------------------

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);

/** A uuid filter; absent or empty means "no filter". */
export const uuidQuery = () =>
  z.preprocess(
    blankToUndefined,
    z.string().refine(isUuid, { error: 'Enter a valid UUID.' }).transform(normalizeUuid).optional(),
  );

/** An lms user id (a positive Postgres integer) in a query string; empty counts as absent. */
const userIdString = () => {
  const { max } = intRange('integer');
  return z
    .string({ error: unlessMissing('Enter a whole number.') })
    .regex(/^\d+$/, { error: 'Enter a whole number.' })
    .transform(Number)
    .refine((n) => n <= max, { error: `Ensure this value is less than or equal to ${max}.` })
    .meta({ type: 'integer', minimum: 0, maximum: max });
};

/** An lms user id filter; absent or empty means "no filter". */
export const userIdQuery = () => z.preprocess(blankToUndefined, userIdString().optional());

/** A required lms user id query parameter. */
export const requiredUserIdQuery = () => z.preprocess(blankToUndefined, userIdString());

const queryText = () =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .max(255, maxLength(255))
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' });

/** A text filter; absent or empty means "no filter". */
export const textQuery = () => z.preprocess(blankToUndefined, queryText().optional());

/** A required text query parameter. */
export const requiredTextQuery = () => z.preprocess(blankToUndefined, queryText());

/** A repeatable choice filter (`?state=a&state=b`, OR'd); empty values are ignored. */
export const multipleChoiceQuery = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).filter((s) => s !== '')),
    z.array(
      z.enum(values, {
        error: (iss) => `Select a valid choice. ${String(iss.input)} is not one of the available choices.`,
      }),
    ),
  );
