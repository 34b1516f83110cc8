import { type core, z } from 'zod';

/**
 * Zod fields with DRF's wording, so clients see the messages the upstream serializers give.
 * A missing or null value falls through to the global messages ("This field is required." /
 * "This field may not be null.") of lib/validation.
 */
const unlessMissing =
  (message: string) =>
  (issue: core.$ZodRawIssue): string | undefined =>
    issue.input === undefined || issue.input === null ? undefined : message;

export const BLANK = 'This field may not be blank.';
export const maxLength = (n: number) => `Ensure this field has no more than ${n} characters.`;

/** A non-blank string, trimmed as DRF's CharField does. */
export const text = (max = 255) => z.string().trim().min(1, BLANK).max(max, maxLength(max));

/** A uuid in a request body (DRF UUIDField / primary key). */
export const uuidField = () => z.guid({ error: unlessMissing('Must be a valid UUID.') });

/** A uuid query filter (django-filter's wording); absent means "no filter". */
export const uuidFilter = () => z.guid({ error: unlessMissing('Enter a valid UUID.') }).optional();

export const emailField = () =>
  z
    .string()
    .trim()
    .pipe(z.email({ error: unlessMissing('Enter a valid email address.') }));

/** DRF's PrimaryKeyRelatedField message for a key that matches no row. */
export const invalidPk = (pk: unknown) => `Invalid pk "${String(pk)}" - object does not exist.`;

/** Largest value of a Postgres `integer`: larger ids cannot exist (and must not reach the query as a parameter). */
export const MAX_INT = 2_147_483_647;
