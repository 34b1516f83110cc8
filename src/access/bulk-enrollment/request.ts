/**
 * The bulk license enrollment request (licenses-and-enrollment §6.1), with license-manager's
 * field messages: `?enterprise_customer_uuid=&subscription_uuid=&enroll_all=` and a body of
 * `emails`, `course_run_keys`, `notify`. One schema serves the HTTP route (query and body) and
 * the workflow's own input check, so a `temporal workflow start` with bad input fails naming the
 * same fields. Emails are lower-cased and each kept once (license-manager stores them so);
 * course keys are kept once each.
 */
import { z } from 'zod';
import { BLANK, booleanField, emailItem, listField, maxLength, unlessMissing, uuidField } from '../../lib/drf/fields';
import { badRequest, type FieldErrors } from '../../lib/http-errors';
import { describeIssues, issuesToFieldErrors } from '../../lib/validation';
import type { BulkEnrollmentRequest } from './contract';

/** Upstream's 404 for a customer without an agreement (its permission lookup finds no object). */
export const noAgreement = (customerUuid: string) =>
  `No customer agreement exists for enterprise customer ${customerUuid}.`;

export const TOO_MANY_PAIRS = 'Too many provided enrollments, please try a smaller request.';
export const SUBSCRIPTION_REQUIRED = 'This field is required when enroll_all is provided';

const unique = (items: readonly string[]) => [...new Set(items)];

const courseRunKey = () =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .trim()
    .min(1, BLANK)
    .max(255, maxLength(255))
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' });

const bodyShape = {
  emails: listField(emailItem()).transform((list) => unique(list.map((e) => e.toLowerCase()))),
  course_run_keys: listField(courseRunKey()).transform(unique),
  notify: booleanField(),
};

/** The POST body. */
export const bulkEnrollmentBodySchema = z.object(bodyShape);
export type BulkEnrollmentBody = z.output<typeof bulkEnrollmentBodySchema>;

/** DRF's BooleanField(allow_null=True): these mean null. */
const NULLS = new Set(['', 'null', 'Null', 'NULL']);

/**
 * `subscription_uuid` and `enroll_all` from the query string, or a 400 naming them. As upstream,
 * `enroll_all` given at all requires `subscription_uuid` (the error's key is upstream's
 * `subscription_id`); unlike upstream, `enroll_all=false` does not enroll everyone.
 */
export function parseBulkEnrollmentQuery(query: Record<string, unknown>): {
  subscription_uuid: string | null;
  enroll_all: boolean;
} {
  const errors: FieldErrors = {};
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const rawPlan = first(query.subscription_uuid);
  let subscription: string | null = null;
  if (rawPlan !== undefined && rawPlan !== '') {
    const parsed = uuidField().safeParse(rawPlan);
    if (parsed.success) subscription = parsed.data;
    else errors.subscription_uuid = ['Must be a valid UUID.'];
  }
  let enrollAll = false;
  if ('enroll_all' in query) {
    const raw = first(query.enroll_all);
    if (!NULLS.has(String(raw))) {
      const parsed = booleanField().safeParse(raw);
      if (parsed.success) enrollAll = parsed.data;
      else errors.enroll_all = ['Must be a valid boolean.'];
    }
    if (rawPlan === undefined || rawPlan === '') errors.subscription_id = [SUBSCRIPTION_REQUIRED];
  }
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return { subscription_uuid: subscription, enroll_all: enrollAll };
}

/**
 * The whole request in one object, as a workflow started from the CLI takes it:
 * `{"enterprise_customer_uuid", "emails", "course_run_keys", "notify", "subscription_uuid"?, "enroll_all"?}`.
 */
const bulkEnrollmentRequestSchema = z
  .object({
    enterprise_customer_uuid: uuidField(),
    subscription_uuid: uuidField().nullish(),
    enroll_all: booleanField().nullish(),
    ...bodyShape,
  })
  .superRefine((r, ctx) => {
    if (r.enroll_all === true && !r.subscription_uuid) {
      ctx.addIssue({ code: 'custom', path: ['subscription_id'], message: SUBSCRIPTION_REQUIRED });
    }
  })
  .transform(
    (r): BulkEnrollmentRequest => ({
      enterprise_customer_uuid: r.enterprise_customer_uuid,
      subscription_uuid: r.subscription_uuid ?? null,
      enroll_all: r.enroll_all === true,
      emails: r.emails,
      course_run_keys: r.course_run_keys,
      notify: r.notify,
    }),
  );

/** The request parsed, or the DRF field map of what is wrong. */
export function parseBulkEnrollmentRequest(
  input: unknown,
): { ok: true; request: BulkEnrollmentRequest } | { ok: false; errors: FieldErrors; message: string } {
  const parsed = bulkEnrollmentRequestSchema.safeParse(input ?? {});
  if (parsed.success) return { ok: true, request: parsed.data };
  return { ok: false, errors: issuesToFieldErrors(parsed.error.issues), message: describeIssues(parsed.error.issues) };
}

/** Upstream's size guard, on the submitted emails (before an enroll-all substitution). */
export const tooManyPairs = (body: BulkEnrollmentBody, maxPairs: number) =>
  body.emails.length * body.course_run_keys.length > maxPairs;
