import { z } from 'zod';
import { BLANK, booleanField, intField, isUuid, normalizeUuid, textField, unlessMissing } from '../../lib/drf/fields';
import { HttpError } from '../../lib/http-errors';
import { issuesToFieldErrors } from '../../lib/validation';
import { notADictionary, parseListField } from './list-field';

/**
 * The body of `enroll_learners_in_courses` (licenses-and-enrollment §7.2), checked as upstream's
 * EnterpriseCustomerBulkSubscriptionEnrollmentsSerializer does, with its messages and its error
 * shapes: a list field's errors are a list with one entry per item (`{}` for a valid one), and a
 * rule across fields is a `non_field_errors` entry at its level. Pure: no I/O.
 */

export const BOTH_INFOS = '`licenses_info` must be ommitted if `enrollments_info` is present.';
export const NO_INFO = 'Must include the `enrollment_info` parameter in request.';
export const NO_IDENTIFIER = 'At least one user identifier field [user_id or email] required.';
export const NO_SUBSIDY = 'At least one subsidy info field [license_uuid or transaction_id] required.';
export const BOTH_SUBSIDIES =
  'Enrollment info contains conflicting subsidy information: `license_uuid` and `transaction_id` found';

/**
 * Upstream has no limit; 1000 items bounds one call's transaction (the orchestrator sends at most
 * 25 learners × 25 courses = 625, license-manager's chunk size).
 */
export const MAX_ITEMS = 1000;

/** Upstream's default: a bulk (subscription) enrollment is paid for in full. */
const DEFAULT_DISCOUNT = '100';

/** A CharField: trimmed, not blank, no NUL (Postgres refuses it). */
const charField = () =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .trim()
    .min(1, BLANK)
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' });

/**
 * A subsidy id: a CharField upstream, so any non-blank text passes the field check (the item
 * rules then apply); it must be a uuid, hyphenated or as 32 hex digits, once the rules pass.
 */
const subsidyId = () => charField();

/** Django's UUIDField message; upstream fails on it only when storing (a 500), here it is the item's 400. */
const notAUuid = (field: string, value: string) => `${field}: “${value}” is not a valid UUID.`;

/**
 * upstream's DecimalField(decimal_places=5), kept as a string for the numeric column; the range
 * is ours (a discount is a percentage; upstream would fail at the database above 999.99999).
 */
const discountField = () =>
  z.union([z.string(), z.number()], { error: unlessMissing('A valid number is required.') }).transform((v, ctx) => {
    const s = String(v).trim();
    const m = /^[-+]?(?:\d+(?:\.(\d*))?|\.(\d+))$/.exec(s);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: 'A valid number is required.' });
      return z.NEVER;
    }
    if ((m[1] ?? m[2] ?? '').length > 5) {
      ctx.addIssue({ code: 'custom', message: 'Ensure that there are no more than 5 decimal places.' });
      return z.NEVER;
    }
    const n = Number(s);
    if (n < 0) ctx.addIssue({ code: 'custom', message: 'Ensure this value is greater than or equal to 0.' });
    if (n > 100) ctx.addIssue({ code: 'custom', message: 'Ensure this value is less than or equal to 100.' });
    return s;
  });

/**
 * One enrollment. Unknown keys (license-manager's `activation_link`, `mode`) are dropped, as
 * upstream's serializer drops them.
 */
const itemSchema = z.object({
  // DRF's IntegerField has no range; ids that cannot exist are reported in `invalid_user_ids`.
  user_id: intField('bigint').optional(),
  email: charField().optional(),
  // A CharField upstream: the lms keeps no course catalogue, so any key is taken as given
  // (`course-v2:edX+DemoX+Second_Demo_Course` is enrolled or pending like any other).
  course_run_key: charField().refine((k) => k.length <= 255, {
    error: 'Ensure this field has no more than 255 characters.',
  }),
  license_uuid: subsidyId().optional(),
  transaction_id: subsidyId().optional(),
  /** Enroll past the enrollment deadline: accepted; this lms keeps no course dates to enforce. */
  force_enrollment: booleanField().optional(),
  /** Realize a default enrollment intention: accepted; this lms has no default intentions. */
  is_default_auto_enrollment: booleanField().optional(),
});
type ItemFields = z.output<typeof itemSchema>;

const topSchema = z.object({
  licenses_info: z.unknown().optional(),
  enrollments_info: z.unknown().optional(),
  notify: booleanField().optional(),
  discount: discountField().optional(),
  // Accepted and unused, as upstream.
  reason: textField(255).optional(),
  salesforce_id: textField(255).optional(),
});

/** The body as documented (the route parses it itself, with upstream's error shapes). */
export const bulkEnrollmentBodyDoc = topSchema.extend({
  licenses_info: z.array(itemSchema).max(MAX_ITEMS).optional(),
  enrollments_info: z.array(itemSchema).max(MAX_ITEMS).optional(),
});

export type Subsidy = { license_uuid: string | null; transaction_id: string | null };

export interface EnrollmentItem {
  /** Position in the request, for answering in request order. */
  index: number;
  user_id?: number;
  email?: string;
  course_run_key: string;
  subsidy: Subsidy;
  force_enrollment: boolean;
}

export interface BulkEnrollmentRequest {
  items: EnrollmentItem[];
  notify: boolean;
  /** Percentage as a decimal string, kept on pending enrollments. */
  discount: string;
}

/**
 * The item rules that upstream checks after the item's fields: an identifier (a falsy user_id, 0,
 * counts as none, as in upstream's `if not user_id and not email`), then exactly one subsidy.
 */
export function itemRuleError(item: Pick<ItemFields, 'user_id' | 'email' | 'license_uuid' | 'transaction_id'>) {
  if (!item.user_id && !item.email) return NO_IDENTIFIER;
  if (!item.license_uuid && !item.transaction_id) return NO_SUBSIDY;
  if (item.license_uuid && item.transaction_id) return BOTH_SUBSIDIES;
  if (item.license_uuid && !isUuid(item.license_uuid)) return notAUuid('license_uuid', item.license_uuid);
  if (item.transaction_id && !isUuid(item.transaction_id)) return notAUuid('transaction_id', item.transaction_id);
  return undefined;
}

/** The rule across the two lists: exactly one of them, non-empty (upstream compares their truthiness). */
export function infoRuleError(licenses: unknown[] | undefined, enrollments: unknown[] | undefined) {
  const hasLicenses = (licenses?.length ?? 0) > 0;
  const hasEnrollments = (enrollments?.length ?? 0) > 0;
  if (hasLicenses === hasEnrollments) return hasLicenses ? BOTH_INFOS : NO_INFO;
  return undefined;
}

/**
 * The request, or the 400 upstream answers: field errors first (both lists and the top-level
 * fields, all at once), then the rule across the lists.
 */
export function parseBulkEnrollmentRequest(body: unknown): BulkEnrollmentRequest {
  const input = body === undefined || body === null ? {} : body;
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new HttpError(400, { non_field_errors: [notADictionary(input)] });
  }
  const top = z.safeParse(topSchema, input);
  const errors: Record<string, unknown> = top.success ? {} : issuesToFieldErrors(top.error.issues);
  const raw = input as { licenses_info?: unknown; enrollments_info?: unknown };
  const opts = { maxItems: MAX_ITEMS, rule: itemRuleError };
  const licenses = parseListField(raw.licenses_info, itemSchema, opts);
  const enrollments = parseListField(raw.enrollments_info, itemSchema, opts);
  if (!licenses.ok) errors.licenses_info = licenses.errors;
  if (!enrollments.ok) errors.enrollments_info = enrollments.errors;
  if (!top.success || !licenses.ok || !enrollments.ok) throw new HttpError(400, errors);

  const rule = infoRuleError(licenses.items, enrollments.items);
  if (rule) throw new HttpError(400, { non_field_errors: [rule] });
  const items = (licenses.items?.length ? licenses.items : enrollments.items) ?? [];
  return {
    items: items.map((item, index) => ({
      index,
      ...(item.user_id !== undefined ? { user_id: item.user_id } : {}),
      ...(item.email !== undefined ? { email: item.email } : {}),
      course_run_key: item.course_run_key,
      // One spelling per subsidy (hyphenated, lower case), so a repeat in another form is the same subsidy.
      subsidy: {
        license_uuid: item.license_uuid ? normalizeUuid(item.license_uuid) : null,
        transaction_id: item.transaction_id ? normalizeUuid(item.transaction_id) : null,
      },
      force_enrollment: item.force_enrollment ?? false,
    })),
    notify: top.data.notify ?? false,
    discount: top.data.discount ?? DEFAULT_DISCOUNT,
  };
}
