import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { queryFlag, queryText, textField, unlessMissing, uuidParam } from '../../../lib/drf/fields';
import { countRows, paginate } from '../../../lib/drf/pagination';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { forbidden, HttpError } from '../../../lib/http-errors';
import { requireRoleSomewhere } from '../../common/auth';
import type { LicenseFilters } from '../license-store';
import { canReadCustomer, coversAllCustomers } from '../permissions';
import { LICENSE_STATUSES, type LicenseStatus } from '../schema';
import { findPlan, type LmDb, loadPlanFacts, type PlanFacts, type PlanView, type selectPlans } from '../store';

/** Helpers shared by the lifecycle routes (spec 5.5-5.11). */

/**
 * A DRF page of plans (newest start first) from a `selectPlans` query, each rendered with the
 * facts (license counts, renewals) loaded once for the page.
 */
export function paginatePlans<T>(
  db: LmDb,
  req: FastifyRequest,
  q: ReturnType<typeof selectPlans>,
  render: (plan: PlanView, facts: PlanFacts, now: Date) => T,
) {
  return paginate(
    req,
    // The plan query selects its columns already: count it as a subquery.
    () => countRows(db.selectFrom(q.as('filtered'))),
    async (limit, offset) => {
      const plans = await q
        .orderBy('p.start_date', 'desc')
        .orderBy('p.created', 'desc')
        .orderBy('p.uuid')
        .limit(limit)
        .offset(offset)
        .execute();
      const facts = await loadPlanFacts(db, plans);
      const now = new Date();
      return plans.map((p) => render(p, facts, now));
    },
  );
}

/**
 * `onRequest`: 401 without a token, 403 without any enterprise role at all (as upstream's
 * permission check answers before the query or body is validated: no role and no
 * `enterprise_customer_uuid` is a 403, not a 400); the routes then check the role against the
 * customer of the record they load.
 */
export const requireCaller = requireRoleSomewhere([
  'enterprise_learner',
  'enterprise_admin',
  'enterprise_openedx_operator',
  'enterprise_provisioning_admin',
]);

export const planParams = z.object({ subscription_uuid: z.string() });

/**
 * The plan of the path, if the caller holds one of `roles` on its customer (else 403). A plan
 * that does not exist (or a malformed uuid) is a 403 too, as upstream's permission check finds
 * no role on an unknown context, except for callers whose role covers every customer: for them
 * it is `undefined`, and each route answers its own upstream 404.
 */
export async function planFor(
  db: LmDb,
  req: FastifyRequest,
  rawUuid: string,
  roles: readonly string[],
): Promise<PlanView | undefined> {
  const principal = requirePrincipal(req);
  const uuid = uuidParam(rawUuid);
  const plan = uuid ? await findPlan(db, uuid) : undefined;
  if (!plan) {
    if (coversAllCustomers(principal, roles)) return undefined;
    throw forbidden();
  }
  if (!canReadCustomer(principal, plan.enterprise_customer_uuid, roles)) throw forbidden();
  return plan;
}

/** Serializes as a bare JSON string: upstream views answer many errors with `Response("message")`. */
class JsonString {
  constructor(private readonly value: string) {}
  toJSON() {
    return this.value;
  }
}

/** An error whose body is the JSON string `message`, as upstream's `Response(message, status)`. */
export const messageError = (status: number, message: string) => new HttpError(status, new JsonString(message));

export const noPlanMessage = (rawUuid: string) => `No SubscriptionPlan identified by ${rawUuid} exists`;

// ---- request fields ---------------------------------------------------------------------------

const INVALID_EMAIL = 'Enter a valid email address.';

/** A DRF EmailField inside a list: trimmed, one message for every kind of bad value. */
export const emailItem = () =>
  z
    .string({ error: unlessMissing(INVALID_EMAIL) })
    .trim()
    .pipe(z.email({ error: INVALID_EMAIL }));

const typeName = (v: unknown) =>
  Array.isArray(v)
    ? 'list'
    : v === null
      ? 'NoneType'
      : typeof v === 'object'
        ? 'dict'
        : typeof v === 'string'
          ? 'str'
          : typeof v;

/** A DRF ListField: a JSON list (else "Expected a list of items but got type ..."), not empty. */
export const listField = <T extends z.ZodType>(item: T, opts: { max?: number; emptyMessage?: string } = {}) => {
  let list = z
    .array(item, {
      error: (iss) => unlessMissing(`Expected a list of items but got type "${typeName(iss.input)}".`)(iss),
    })
    .min(1, { error: opts.emptyMessage ?? 'This list may not be empty.' });
  if (opts.max !== undefined)
    list = list.max(opts.max, { error: `Ensure this field has no more than ${opts.max} elements.` });
  return list;
};

/** The admin's custom text of assignment and reminder emails (upstream CustomTextSerializer). */
export const customTextFields = {
  greeting: textField(5000, { allowBlank: true }).optional(),
  closing: textField(5000, { allowBlank: true }).optional(),
};

export const customText = (body: { greeting?: string; closing?: string }) => ({
  greeting: body.greeting ?? '',
  closing: body.closing ?? '',
});

// ---- license list filters (spec 5.6, also on learner-licenses) --------------------------------

/** `status=assigned,activated`: a comma list of license statuses. */
const statusListQuery = () =>
  z
    .string()
    .optional()
    .superRefine((raw, ctx) => {
      for (const s of splitStatuses(raw)) {
        if (!(LICENSE_STATUSES as readonly string[]).includes(s))
          ctx.addIssue({ code: 'custom', message: `"${s}" is not a valid choice.` });
      }
    })
    .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : (splitStatuses(raw) as LicenseStatus[])));

const splitStatuses = (raw: string | undefined) =>
  raw === undefined || raw.trim() === ''
    ? []
    : raw
        .trim()
        .split(',')
        .map((s) => s.trim());

export const licenseFilterQuery = {
  status: statusListQuery(),
  search: queryText().optional(),
  ignore_null_emails: queryFlag(false),
  ordering: z.string().optional(),
  page: z.string().optional(),
  page_size: z.string().optional(),
};

export const filtersOf = (q: {
  status?: LicenseStatus[];
  search?: string;
  ignore_null_emails: boolean;
}): LicenseFilters => ({
  statuses: q.status,
  search: q.search?.trim() ? q.search.trim() : undefined,
  ignoreNullEmails: q.ignore_null_emails,
});
