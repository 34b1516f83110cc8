/**
 * The provisioning request: one zod schema used by the HTTP route (400 with field errors), by
 * the workflow's own input check (a CLI start bypasses the API) and for the OpenAPI document.
 * Pure, but not imported by workflow code: zod is costly to evaluate for every workflow run, so the
 * workflow validates through a local activity that uses this schema (`validateProvisioningRequest`).
 *
 * Upstream accepted half the fields at the edge and then failed with an opaque 422 while
 * structuring the workflow input (spec provisioning §2.1, §10). Here every field a step needs
 * is required at the edge, so bad input is always a 400 naming the field.
 */
import { z } from 'zod';
import { COUNTRY_CODES } from '../../lib/countries';
import { intField } from '../../lib/drf/fields';
import '../../lib/validation';
import {
  CATALOG_QUERY_IDS,
  PAID_SUBSCRIPTION_PRODUCT_ID,
  PRODUCT_ID_TO_CATALOG_QUERY_ID,
  PRODUCT_IDS,
} from './constants';

const isoDateTime = z
  .string()
  .trim()
  .regex(
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/,
    'Datetime has wrong format. Use ISO 8601.',
  )
  .refine(
    (s) => !Number.isNaN(Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s)),
    'Datetime has wrong format. Use ISO 8601.',
  )
  // Naive datetimes are UTC (Django's USE_TZ default); normalised to `...Z`.
  .transform((s) => {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(s);
    const text = s.length === 10 ? `${s}T00:00:00Z` : hasZone ? s : `${s.replace(' ', 'T')}Z`;
    return new Date(text).toISOString();
  });

const choice = <T extends readonly number[]>(values: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
    z.number().refine((n) => values.includes(n), { error: (i) => `"${String(i.input)}" is not a valid choice.` }),
  );

// `abort`: a blank value gets one message, not also every later check's.
const nonBlank = z.string().trim().min(1, { message: 'This field may not be blank.', abort: true });
const uuid = z.uuid('Must be a valid UUID.');

const customerSchema = z.object({
  name: nonBlank.max(255),
  // Upstream says a slug is generated when omitted; nothing generates it and a missing slug
  // fails late. Required here.
  slug: z
    .string()
    .trim()
    .min(1, { message: 'This field may not be blank.', abort: true })
    .max(30, 'Ensure this field has no more than 30 characters.')
    .regex(/^[-a-zA-Z0-9_]+$/, 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'),
  country: z
    .string()
    .trim()
    .transform((c) => c.toUpperCase())
    .refine((c) => COUNTRY_CODES.has(c), { error: (i) => `"${String(i.input)}" is not a valid choice.` }),
});

const planFields = {
  title: nonBlank.max(128),
  // The key is required; null is allowed (paid plans get their line item later).
  salesforce_opportunity_line_item: z.string().trim().max(18).nullable(),
  product_id: choice(PRODUCT_IDS),
  enterprise_catalog_uuid: uuid.nullable().optional(),
};

const trialPlanSchema = z.object({
  ...planFields,
  start_date: isoDateTime,
  expiration_date: isoDateTime,
  desired_num_licenses: intField('integer', { min: 0, max: 1_000_000 }),
});

const paidPlanSchema = z.object({
  ...planFields,
  // Defaults: start = the trial's expiration, expiration = start + 1 year (upstream).
  start_date: isoDateTime.nullable().optional(),
  expiration_date: isoDateTime.nullable().optional(),
  // Ignored, as upstream: the paid plan and the renewal use the trial's number.
  desired_num_licenses: intField('integer', { min: 0, max: 1_000_000 }).nullable().optional(),
});

const twoPlanRequest = z
  .object({
    enterprise_customer: customerSchema,
    pending_admins: z.array(z.object({ user_email: z.email('Enter a valid email address.').trim() })).max(500),
    enterprise_catalog: z
      .object({ title: nonBlank.max(255), catalog_query_id: choice(CATALOG_QUERY_IDS).optional() })
      .nullable()
      .optional(),
    customer_agreement: z.object({ default_catalog_uuid: uuid.nullable().optional() }).nullable().optional(),
    trial_subscription_plan: trialPlanSchema,
    first_paid_subscription_plan: paidPlanSchema,
  })
  .superRefine((r, ctx) => {
    // Runs even when some fields failed: compare only what parsed.
    const trial = r.trial_subscription_plan;
    const valid = (d: unknown) => typeof d === 'string' && d.endsWith('Z') && !Number.isNaN(Date.parse(d));
    if (valid(trial.start_date) && valid(trial.expiration_date) && trial.start_date >= trial.expiration_date) {
      ctx.addIssue({
        code: 'custom',
        path: ['trial_subscription_plan', 'expiration_date'],
        message: 'expiration_date must be after start_date.',
      });
    }
    const paid = r.first_paid_subscription_plan;
    const paidStart = paid.start_date ?? trial.expiration_date;
    if (valid(paid.expiration_date) && valid(paidStart) && (paid.expiration_date as string) <= paidStart) {
      ctx.addIssue({
        code: 'custom',
        path: ['first_paid_subscription_plan', 'expiration_date'],
        message: 'expiration_date must be after start_date (which defaults to the trial expiration_date).',
      });
    }
    const knownProduct = (PRODUCT_IDS as readonly number[]).includes(trial.product_id);
    if (
      knownProduct &&
      r.enterprise_catalog?.catalog_query_id === undefined &&
      !(trial.product_id in PRODUCT_ID_TO_CATALOG_QUERY_ID)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['enterprise_catalog', 'catalog_query_id'],
        message: `Cannot infer the catalog query from product_id ${trial.product_id}; give enterprise_catalog.catalog_query_id.`,
      });
    }
  });

/**
 * The seed's legacy one-plan shape (`subscription_plan`), converted as upstream's TEMP shim
 * does: it becomes the trial plan, and a first paid plan is derived from it.
 */
function convertLegacy(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  const hasPair = 'trial_subscription_plan' in b && 'first_paid_subscription_plan' in b;
  if (hasPair || !('subscription_plan' in b)) return body;
  const { subscription_plan: legacy, ...rest } = b;
  const legacyTitle =
    typeof legacy === 'object' && legacy && typeof (legacy as { title?: unknown }).title === 'string'
      ? (legacy as { title: string }).title
      : 'Subscription';
  return {
    ...rest,
    trial_subscription_plan: legacy,
    first_paid_subscription_plan: {
      title: `${legacyTitle} - First Paid Plan`,
      product_id: PAID_SUBSCRIPTION_PRODUCT_ID,
      salesforce_opportunity_line_item: null,
    },
  };
}

export const provisioningRequestSchema = z.preprocess(convertLegacy, twoPlanRequest);
export type ProvisioningRequest = z.output<typeof twoPlanRequest>;

/** True when the body uses the deprecated one-plan shape (the api logs a warning, as upstream). */
export function isLegacyRequest(body: unknown): boolean {
  return convertLegacy(body) !== body;
}

/**
 * A stable text of the request after validation (keys sorted, values normalised), so that the
 * same request always maps to the same workflow id however its JSON was laid out.
 */
export function canonicalRequest(req: ProvisioningRequest): string {
  return JSON.stringify(sortKeys(req));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}
