import type { FastifyRequest, FastifySchema } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import {
  booleanField,
  emailItem,
  listField,
  maxLength,
  minLength,
  parseBody,
  unlessMissing,
} from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError, FieldErrorMap, MessageError } from '../../../lib/fastify/error-schemas';
import { badRequest, HttpError, notFound } from '../../../lib/http-errors';
import type { ServiceContext } from '../../common/service';
import { normalizeAssignment, uniqueEmails } from '../assignment-rules';
import { assignToPlan, revokeEmails } from '../license-lifecycle';
import { assignedLicenses, licenseConditions, lockPlan, revokeAll, touchRemindDate } from '../license-store';
import { TRANSITIONS } from '../license-transitions';
import { enqueueEmails, reminderEmail } from '../outbox';
import { SUBSCRIPTIONS_ADMIN_ROLES } from '../permissions';
import { assignmentSchema } from '../response-schemas';
import type { LicenseManagerDB } from '../schema';
import type { LmDb, PlanView } from '../store';
import {
  customText,
  customTextFields,
  messageError,
  noPlanMessage,
  planFor,
  planParams,
  requireCaller,
} from './shared';

/** Salesforce ids are 18 characters; blank or null means "no source" (upstream allow_blank/allow_null). */
const sfidItem = () =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .nullable()
    .refine((s) => s === null || s.trim() === '' || s.trim().length >= 18, { error: minLength(18) })
    .refine((s) => s === null || s.trim().length <= 18, { error: maxLength(18) });

const assignBody = z
  .object({
    user_emails: listField(emailItem()),
    user_sfids: listField(sfidItem(), { emptyMessage: 'No Salesforce Ids provided.' }).optional(),
    notify_users: booleanField().optional(),
    ...customTextFields,
  })
  .refine((b) => b.user_sfids === undefined || b.user_sfids.length === b.user_emails.length, {
    error: 'Number of Salesforce IDs did not match number of provided user emails.',
    // As DRF's validate(): only once every field is valid on its own.
    when: (payload) => payload.issues.length === 0,
  });

/** `filters` of remind and bulk-revoke: `[{name: "user_email" | "status_in", filter_value}]`. */
const filterItem = z.record(z.string(), z.unknown(), { error: unlessMissing('Expected a dictionary of items.') });
const bulkFields = {
  user_emails: listField(emailItem()).optional(),
  filters: listField(filterItem).optional(),
};
const bulkBody = z.object(bulkFields);
const remindBody = z.object({ ...bulkFields, ...customTextFields });
const remindAllBody = z.object(customTextFields);

const SUPPORTED_FILTERS = ['user_email', 'status_in'];

interface PayloadFilters {
  search?: string;
  statuses?: string[];
}

/** Upstream LicenseAdminBulkActionSerializer.validate: emails xor filters, and only known filters. */
function bulkSelection(body: z.output<typeof bulkBody>): { emails: string[] } | { filters: PayloadFilters } {
  const refuse = (message: string) => badRequest({ non_field_errors: [message] });
  if (!body.user_emails && !body.filters) throw refuse('Either user_emails or filters must be provided.');
  if (body.user_emails && body.filters) throw refuse('Either user_emails or filters must be provided, but not both.');
  if (body.user_emails) return { emails: uniqueEmails(body.user_emails) };
  const filters: PayloadFilters = {};
  for (const f of body.filters ?? []) {
    const value = f.filter_value;
    if (f.name === 'user_email') {
      if (typeof value !== 'string') throw refuse('Malformed filters, user_email must be a string.');
      filters.search = value;
    } else if (f.name === 'status_in') {
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
        throw refuse('Malformed filters, status_in must be a list of strings.');
      }
      filters.statuses = value;
    } else {
      throw refuse(`Malformed filters, supported filters are ['${SUPPORTED_FILTERS.join("', '")}'].`);
    }
  }
  return { filters };
}

/** Emails of the plan's licenses that match payload filters and are in one of `statuses`. */
async function emailsMatching(db: LmDb, planUuid: string, f: PayloadFilters, statuses: readonly string[]) {
  let q = db
    .selectFrom('licenses as l')
    .select(sql<string>`lower(l.user_email)`.as('email'))
    .where('l.subscription_plan', '=', planUuid)
    .where('l.user_email', 'is not', null);
  for (const c of licenseConditions({ statuses, search: f.search })) q = q.where(c);
  if (f.statuses) for (const c of licenseConditions({ statuses: f.statuses })) q = q.where(c);
  const rows = await q.orderBy('email').execute();
  return [...new Set(rows.map((r) => r.email))];
}

const revocationFailure = z.looseObject({
  error: z.string(),
  error_response_status: z.number().int().optional(),
  user_email: z.string().optional(),
});
/** Bulk revoke's answer: what was revoked and what was not. */
const revocationResult = z.object({
  successful_revocations: z.array(z.looseObject({})),
  unsuccessful_revocations: z.array(revocationFailure),
});
/** Bulk revoke's refusal: every failure, upstream's shape. */
const revocationFailures = z.object({ unsuccessful_revocations: z.array(revocationFailure) });

/** Upstream's 422 when the assignment transaction failed: nothing was assigned. */
const ASSIGN_DB_ERROR = 'Database error occurred while assigning licenses, no assignments were completed';

/**
 * The admin actions on a plan's licenses (spec 5.7-5.9): assign, remind, remind-all,
 * bulk-revoke, revoke-all. The emails they send are recorded in the outbox (outbox.ts) in the
 * same transaction as the change.
 */
export function licenseActionRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  const BASE = '/api/v1/subscriptions/:subscription_uuid/licenses';
  /** The options of one action: its documented body, answers and errors. */
  const action = <S extends FastifySchema>(schema: S) => ({
    onRequest: requireCaller,
    schema: { ...schema, params: planParams },
  });
  const adminPlan = (req: FastifyRequest, raw: string) => planFor(db, req, raw, SUBSCRIPTIONS_ADMIN_ROLES);

  const remind = async (
    plan: PlanView,
    licenses: Awaited<ReturnType<typeof assignedLicenses>>,
    text: ReturnType<typeof customText>,
  ) => {
    await db.transaction().execute(async (trx) => {
      await enqueueEmails(
        trx,
        licenses.map((l) => reminderEmail(plan, l, text)),
      );
      await touchRemindDate(
        trx,
        licenses.map((l) => l.uuid),
      );
    });
  };

  app.post(
    `${BASE}/assign`,
    action({
      documentedBody: assignBody,
      documentedResponses: { 200: assignmentSchema },
      errors: { 400: [FieldErrorMap, MessageError], 404: DetailError, 422: MessageError },
    }),
    async (req) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      if (!plan) throw notFound();
      const body = parseBody(assignBody, req.body);
      const request = normalizeAssignment(body.user_emails, body.user_sfids);
      // Learners are not emailed when the admin asks so, or the agreement turns onboarding emails off.
      const send = (body.notify_users ?? true) && !plan.disable_onboarding_notifications;
      const outcome = await assignToPlan(db, plan, request, { send, text: customText(body) });
      if (outcome === 'conflict') throw messageError(422, ASSIGN_DB_ERROR);
      if (outcome.kind === 'pool_short') throw messageError(400, outcome.message);
      const { kind: _kind, ...response } = outcome;
      return response;
    },
  );

  app.post(
    `${BASE}/remind`,
    action({
      documentedBody: remindBody,
      documentedResponses: { 204: z.null() },
      errors: { 400: FieldErrorMap, 404: MessageError },
    }),
    async (req, reply) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const body = parseBody(remindBody, req.body);
      const selection = bulkSelection(body);
      if (!plan) throw messageError(404, noPlanMessage(req.params.subscription_uuid));
      let licenses: Awaited<ReturnType<typeof assignedLicenses>>;
      if ('emails' in selection) {
        licenses = await assignedLicenses(db, plan.uuid, selection.emails);
        const pending = new Set(licenses.map((l) => l.user_email?.toLowerCase()));
        const missing = selection.emails.find((e) => !pending.has(e));
        if (missing) {
          throw messageError(
            404,
            `Could not find any licenses pending activation that are associated with the email: ${missing}`,
          );
        }
      } else {
        licenses = await assignedLicenses(
          db,
          plan.uuid,
          await emailsMatching(db, plan.uuid, selection.filters, ['assigned']),
        );
      }
      await remind(plan, licenses, customText(body));
      return reply.code(204).send();
    },
  );

  app.post(
    `${BASE}/remind-all`,
    action({
      documentedBody: remindAllBody,
      documentedResponses: { 204: z.null() },
      errors: { 400: FieldErrorMap, 404: MessageError },
    }),
    async (req, reply) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const body = parseBody(remindAllBody, req.body);
      if (!plan) throw messageError(404, noPlanMessage(req.params.subscription_uuid));
      const licenses = await assignedLicenses(db, plan.uuid);
      if (licenses.length === 0) throw messageError(404, 'Could not find any licenses pending activation');
      await remind(plan, licenses, customText(body));
      return reply.code(204).send();
    },
  );

  app.post(
    `${BASE}/bulk-revoke`,
    action({
      documentedBody: bulkBody,
      documentedResponses: { 200: revocationResult, 207: revocationResult },
      errors: { 400: [FieldErrorMap, revocationFailures], 404: revocationFailures },
    }),
    async (req, reply) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const selection = bulkSelection(parseBody(bulkBody, req.body));
      if (!plan) {
        throw new HttpError(404, {
          unsuccessful_revocations: [{ error: noPlanMessage(req.params.subscription_uuid) }],
        });
      }
      // With filters: the matching licenses that can be revoked (upstream took every non-revoked
      // one, unassigned licenses without an email included, and then failed on them).
      const emails =
        'emails' in selection
          ? selection.emails
          : await emailsMatching(db, plan.uuid, selection.filters, TRANSITIONS.revoke.from);
      const outcome = await revokeEmails(db, plan, emails);
      if (outcome.kind === 'cap_exceeded') throw new HttpError(400, { unsuccessful_revocations: [outcome.failure] });
      const { successes, failures } = outcome;
      if (successes.length === 0 && failures.length > 0) {
        const last = failures[failures.length - 1];
        throw new HttpError(last?.error_response_status ?? 400, { unsuccessful_revocations: failures });
      }
      return reply
        .code(failures.length > 0 ? 207 : 200)
        .send({ successful_revocations: successes, unsuccessful_revocations: failures });
    },
  );

  app.post(
    `${BASE}/revoke-all`,
    action({ documentedResponses: { 204: z.null() }, errors: { 404: MessageError, 422: MessageError } }),
    async (req, reply) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      if (!plan) throw messageError(404, noPlanMessage(req.params.subscription_uuid));
      // Upstream queues this as a task; one set-based statement needs no queue, so the 204 means done.
      await db.transaction().execute(async (trx) => {
        const locked = await lockPlan(trx, plan.uuid);
        // Upstream refuses rather than revoke past the cap (and email ECS about it).
        if (locked?.is_revocation_cap_enabled) {
          throw messageError(
            422,
            'Cannot revoke all licenses when revocation cap is enabled for the subscription plan',
          );
        }
        await revokeAll(trx, plan.uuid);
      });
      return reply.code(204).send();
    },
  );
}
