import { type core, z } from 'zod';
import { badRequest, HttpError } from '../http-errors';
import { issuesToFieldErrors } from '../validation';

/**
 * Request field schemas and messages with Django REST framework's wording, shared by the
 * reference services, so clients written against the upstream services see the messages they
 * know. Every value that reaches SQL is checked first (uuid syntax, integer range, NUL bytes),
 * so bad input is a 400 and never a 500.
 */

type Issue = { input?: unknown };

/** DRF's required/null messages, or undefined to let the caller word the rest. */
export const presence = (iss: Issue): string | undefined => {
  if (iss.input === undefined) return 'This field is required.';
  if (iss.input === null) return 'This field may not be null.';
  return undefined;
};

/** A zod error map: DRF's required/null messages for a missing or null value, else `message`. */
export const unlessMissing =
  (message: string) =>
  (iss: Issue): string =>
    presence(iss) ?? message;

// ---- messages -------------------------------------------------------------------------------

export const BLANK = 'This field may not be blank.';
export const maxLength = (n: number) => `Ensure this field has no more than ${n} characters.`;
export const minLength = (n: number) => `Ensure this field has at least ${n} characters.`;

/** DRF's PrimaryKeyRelatedField message for a key that matches no row. */
export const invalidPk = (pk: unknown) => `Invalid pk "${String(pk)}" - object does not exist.`;

/** The Python type name DRF puts in "Incorrect type" messages, for a JSON value. */
export function pythonType(v: unknown): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'number' && Number.isInteger(v)) return 'int';
  if (Array.isArray(v)) return 'list';
  const names: Record<string, string> = { object: 'dict', string: 'str', boolean: 'bool', number: 'float' };
  return names[typeof v] ?? typeof v;
}

/** DRF's PrimaryKeyRelatedField message for a key of the wrong type. */
export const incorrectPkType = (v: unknown) => `Incorrect type. Expected pk value, received ${pythonType(v)}.`;

// ---- integers and the columns they land in ----------------------------------------------------

/** Largest value of a Postgres `integer`: larger ids cannot exist (and must not reach the query as a parameter). */
export const MAX_INT = 2_147_483_647;

/** Largest amount in USD cents one request may carry ($10 billion): a `bigint` column, summed far inside a safe integer. */
export const MAX_CENTS = 1_000_000_000_000;

/**
 * The range of each kind of integer column that request values land in. Every integer a route
 * accepts (body, query, path) is checked against its column's range before any query sees it,
 * so an out-of-range value is the caller's 400 (or, where upstream says so, "no such row"),
 * never Postgres' `value out of range for type integer` as a 500.
 */
export const COLUMNS = {
  smallint: { min: -32_768, max: 32_767 },
  integer: { min: -MAX_INT - 1, max: MAX_INT },
  /** A `bigint`, as far as a JS number holds it exactly. */
  bigint: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  /** An amount in USD cents, kept in a `bigint`. */
  cents: { min: -MAX_CENTS, max: MAX_CENTS },
} as const;
export type IntColumn = keyof typeof COLUMNS;

/** Narrower bounds than the column's own (e.g. `min: 1` for ids); never wider. */
export interface IntBounds {
  min?: number;
  max?: number;
}

/** The bounds of a value of `column`, narrowed by `bounds`. */
export function intRange(column: IntColumn, bounds: IntBounds = {}): { min: number; max: number } {
  const range = COLUMNS[column];
  return { min: Math.max(range.min, bounds.min ?? range.min), max: Math.min(range.max, bounds.max ?? range.max) };
}

/** True for an integer that fits `column` (and `bounds`): the only kind that may reach a query. */
export function inColumn(column: IntColumn, value: unknown, bounds: IntBounds = {}): value is number {
  const { min, max } = intRange(column, bounds);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

const DIGITS = /^-?\d+$/;
const INVALID_INTEGER = 'A valid integer is required.';
const tooSmall = (min: number) => `Ensure this value is greater than or equal to ${min}.`;
const tooLarge = (max: number) => `Ensure this value is less than or equal to ${max}.`;

/**
 * An IntegerField whose value lands in a `column`: JSON numbers or digit strings (as DRF accepts
 * both), within the column's range narrowed by `bounds`, with DRF's messages ("Ensure this value
 * is less than or equal to 2147483647."). The one way routes take an integer from a body.
 */
export const intField = (column: IntColumn, bounds: IntBounds = {}) => {
  const { min, max } = intRange(column, bounds);
  return integerField(min, max);
};

/** Digit text → the number, checked against `column` (narrowed by `bounds`), with DRF's messages. */
function parseIntText(column: IntColumn, bounds: IntBounds, invalid: string) {
  const { min, max } = intRange(column, bounds);
  return (raw: string, ctx: z.RefinementCtx): number => {
    if (!DIGITS.test(raw.trim())) {
      ctx.addIssue({ code: 'custom', message: invalid });
      return z.NEVER;
    }
    const n = Number(raw.trim());
    if (n < min) ctx.addIssue({ code: 'custom', message: tooSmall(min) });
    else if (n > max) ctx.addIssue({ code: 'custom', message: tooLarge(max) });
    return n;
  };
}

/**
 * An integer query parameter landing in `column` (absent or empty: undefined), with DRF's range
 * messages; `invalid` is the message for text that is not a whole number (DRF's "A valid integer
 * is required." unless given).
 */
export const intQuery = (column: IntColumn, bounds: IntBounds = {}, opts: { invalid?: string } = {}) => {
  const parse = parseIntText(column, bounds, opts.invalid ?? INVALID_INTEGER);
  return z
    .string()
    .optional()
    .transform((raw, ctx) => (raw === undefined || raw.trim() === '' ? undefined : parse(raw, ctx)))
    .meta({ type: 'integer', minimum: intRange(column, bounds).min, maximum: intRange(column, bounds).max });
};

/** `intQuery`, required: "This field is required." when absent or empty. */
export const requiredIntQuery = (column: IntColumn, bounds: IntBounds = {}, opts: { invalid?: string } = {}) => {
  const invalid = opts.invalid ?? INVALID_INTEGER;
  const parse = parseIntText(column, bounds, invalid);
  const { min, max } = intRange(column, bounds);
  return z
    .string({ error: unlessMissing(invalid) })
    .transform((raw, ctx) => {
      if (raw.trim() !== '') return parse(raw, ctx);
      ctx.addIssue({ code: 'custom', message: 'This field is required.' });
      return z.NEVER;
    })
    .meta({ type: 'integer', minimum: min, maximum: max });
};

/**
 * An integer filter on a `column` (django-filter's NumberFilter): absent or empty is no filter,
 * text that is not a whole number is a 400 with `invalid`, and a number outside the column
 * (`bounds` narrow it) is `NO_MATCH`: no row can hold it, so the filter matches nothing (as
 * Django answers out-of-range integer lookups), and the value never reaches the query.
 */
export const NO_MATCH = null;
export const intFilter = (column: IntColumn, bounds: IntBounds = {}, opts: { invalid?: string } = {}) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): number | typeof NO_MATCH | undefined => {
      if (raw === undefined || raw.trim() === '') return undefined;
      if (!DIGITS.test(raw.trim())) {
        ctx.addIssue({ code: 'custom', message: opts.invalid ?? 'Enter a number.' });
        return z.NEVER;
      }
      const n = Number(raw.trim());
      return inColumn(column, n, bounds) ? n : NO_MATCH;
    })
    // Documented with the column's range: the values a row can hold (others match nothing).
    .meta({ type: 'integer', minimum: intRange(column, bounds).min, maximum: intRange(column, bounds).max });

/**
 * An integer in a URL path (`/renewals/:id`): the number when it is a whole number inside the
 * column (`bounds` narrow it), else undefined, which routes answer as 404 (no URL matches it upstream).
 */
export function intParam(raw: string, column: IntColumn, bounds: IntBounds = {}): number | undefined {
  if (!/^\d{1,20}$/.test(raw)) return undefined;
  const n = Number(raw);
  return inColumn(column, n, bounds) ? n : undefined;
}

// ---- uuids ----------------------------------------------------------------------------------

const UUID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

/** True for a uuid as Django's UUIDField accepts it (hyphenated or 32 hex digits). */
export const isUuid = (value: string) => UUID_RE.test(value);

/** Lower-case hyphenated form, as the API returns uuids. */
export function normalizeUuid(value: string): string {
  const hex = value.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A uuid path parameter, normalized; undefined when malformed (404, as upstream's URL patterns do). */
export const uuidParam = (raw: string) => (isUuid(raw) ? normalizeUuid(raw) : undefined);

/** A UUIDField taking hyphenated or 32-hex-digit uuids, normalized. */
export const uuidField = () =>
  z
    .string({ error: unlessMissing('Must be a valid UUID.') })
    .refine(isUuid, { error: 'Must be a valid UUID.' })
    .transform(normalizeUuid);

/** A uuid query filter; absent or empty means "no filter". */
export const optionalUuidQuery = () =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || isUuid(v), { error: 'Must be a valid UUID.' })
    .transform((v) => (v ? normalizeUuid(v) : undefined));

// ---- fields ---------------------------------------------------------------------------------

/** A CharField kept as sent (not trimmed): no NUL bytes (Postgres refuses them), DRF's blank and length messages. */
export const textField = (max: number, opts: { allowBlank?: boolean } = {}) =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .refine((s) => opts.allowBlank || s.trim() !== '', { error: BLANK })
    .refine((s) => s.length <= max, { error: maxLength(max) });

const NUL_MESSAGE = 'Null characters are not allowed.';
const noNul = (s: string) => !s.includes('\0');

/**
 * A text query parameter (a filter, a search): no NUL characters, which Postgres refuses in text
 * (Django's forms say so too, with this message).
 */
export const queryText = () => z.string().refine(noNul, { error: NUL_MESSAGE });

/** An EmailField, trimmed. */
export const emailField = () =>
  z
    .string()
    .trim()
    .pipe(z.email({ error: unlessMissing('Enter a valid email address.') }));

/**
 * An IntegerField between `min` and `max`: JSON numbers or digit strings, as DRF accepts both.
 * Routes use `intField(column, bounds)`, which takes its bounds from the column the value lands in.
 */
export const integerField = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && DIGITS.test(v.trim()) ? Number(v) : v),
    z
      .number({ error: unlessMissing(INVALID_INTEGER) })
      .int({ error: INVALID_INTEGER })
      .min(min, { error: tooSmall(min) })
      .max(max, { error: tooLarge(max) }),
  );

const TRUE = new Set(['true', 'True', 'TRUE', '1', 'yes', 'on']);
const FALSE = new Set(['false', 'False', 'FALSE', '0', 'no', 'off']);

/** A BooleanField: JSON booleans, 0/1 and the strings DRF accepts. */
export const booleanField = () =>
  z.preprocess(
    (v) => {
      if (v === 1 || (typeof v === 'string' && TRUE.has(v))) return true;
      if (v === 0 || (typeof v === 'string' && FALSE.has(v))) return false;
      return v;
    },
    z.boolean({ error: unlessMissing('Must be a valid boolean.') }),
  );

/** A query-string flag: `true`/`false` (also 1/0), else 400. */
export const queryFlag = (defaultValue: boolean) =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || TRUE.has(v) || FALSE.has(v), { error: 'Must be a valid boolean.' })
    .transform((v) => (v === undefined ? defaultValue : TRUE.has(v)));

/** A query-string flag that may be absent (undefined: no filter). */
export const optionalQueryFlag = () =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || TRUE.has(v) || FALSE.has(v), { error: 'Must be a valid boolean.' })
    .transform((v) => (v === undefined ? undefined : TRUE.has(v)));

export const choiceField = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (iss) => presence(iss) ?? `"${String(iss.input)}" is not a valid choice.` });

const DATETIME_FORMAT_ERROR =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].';
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * ISO-8601 datetime → Date. A value without an offset is UTC (upstream runs Django with
 * USE_TZ and TIME_ZONE=UTC); a date alone is midnight UTC. Returns null if it does not parse.
 */
export function parseDateTime(value: string): Date | null {
  const m = DATETIME_RE.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', tz] = m;
  // Microseconds are truncated to milliseconds (rounding .9999 up would roll the second over).
  const ms = Math.floor(Number(`0.${frac}`) * 1000);
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(local);
  // Date.UTC rolls 2024-02-31 over into March: reject what did not round-trip.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  ) {
    return null;
  }
  let offsetMinutes = 0;
  if (tz && tz.toUpperCase() !== 'Z') {
    const digits = tz.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || '0');
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (tz.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return new Date(local - offsetMinutes * 60_000);
}

export const dateTimeField = () =>
  z
    .string({ error: unlessMissing(DATETIME_FORMAT_ERROR) })
    .refine((s) => parseDateTime(s) !== null, { error: DATETIME_FORMAT_ERROR })
    .transform((s) => parseDateTime(s) as Date);

// ---- bodies ---------------------------------------------------------------------------------

/**
 * Parses a request body with `schema`; on failure throws a 400 whose body is the DRF field map,
 * wrapped by `wrap` when the upstream view wraps it (license-manager's plan provisioning views
 * answer `{"error": {...}}`). A missing body counts as `{}`, so each required field is named.
 */
export function parseBody<S extends core.$ZodType>(
  schema: S,
  body: unknown,
  wrap?: (fields: ReturnType<typeof issuesToFieldErrors>) => unknown,
): core.output<S> {
  const input = body === undefined || body === null ? {} : body;
  if (typeof input !== 'object' || Array.isArray(input)) {
    const got = Array.isArray(input) ? 'list' : typeof input === 'string' ? 'str' : typeof input;
    const fields = { non_field_errors: [`Invalid data. Expected a dictionary, but got ${got}.`] };
    throw wrap ? new HttpError(400, wrap(fields)) : badRequest(fields);
  }
  const result = z.safeParse(schema, input);
  if (result.success) return result.data;
  const fields = issuesToFieldErrors(result.error.issues);
  throw wrap ? new HttpError(400, wrap(fields)) : badRequest(fields);
}

const INVALID_EMAIL = 'Enter a valid email address.';

/** A DRF EmailField inside a list: trimmed, one message for every kind of bad value. */
export const emailItem = () =>
  z
    .string({ error: unlessMissing(INVALID_EMAIL) })
    .trim()
    .pipe(z.email({ error: INVALID_EMAIL }));

/** A DRF ListField: a JSON list (else "Expected a list of items but got type ..."), not empty. */
export const listField = <T extends z.ZodType>(item: T, opts: { max?: number; emptyMessage?: string } = {}) => {
  let list = z
    .array(item, {
      error: (iss) => unlessMissing(`Expected a list of items but got type "${pythonType(iss.input)}".`)(iss),
    })
    .min(1, { error: opts.emptyMessage ?? 'This list may not be empty.' });
  if (opts.max !== undefined)
    list = list.max(opts.max, { error: `Ensure this field has no more than ${opts.max} elements.` });
  return list;
};
