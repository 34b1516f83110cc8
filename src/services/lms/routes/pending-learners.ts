import { z } from 'zod';
import { emailField, invalidPk } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { FieldErrorMap, FieldErrorMapList } from '../../../lib/fastify/error-schemas';
import { badRequest, HttpError } from '../../../lib/http-errors';
import { issuesToFieldErrors } from '../../../lib/validation';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { uuidField } from '../fields';
import { notADictionary, parseListField } from '../list-field';
import { getOrCreatePendingLearners } from '../pending-learner-store';
import type { LmsDB } from '../schema';
import { linkActiveUsers, lockEmails, usersByEmails } from '../store';

/** One call links at most this many emails (upstream has no limit). */
const MAX_LEARNERS = 1000;

const learnerBody = z.object({ enterprise_customer: uuidField(), user_email: emailField() });
type LearnerBody = z.output<typeof learnerBody>;
const learnerSchema = z.object({ enterprise_customer: z.string(), user_email: z.string() });

/**
 * The body, one object or a list of them (DRF's `many=isinstance(data, list)`), or upstream's 400.
 */
function parseLearners(body: unknown): { many: boolean; items: LearnerBody[] } {
  if (Array.isArray(body)) {
    const list = parseListField(body, learnerBody, { maxItems: MAX_LEARNERS });
    if (!list.ok) throw new HttpError(400, list.errors);
    return { many: true, items: list.items ?? [] };
  }
  const input = body === undefined || body === null ? {} : body;
  if (typeof input !== 'object') throw badRequest({ non_field_errors: [notADictionary(input)] });
  const one = z.safeParse(learnerBody, input);
  if (!one.success) throw badRequest(issuesToFieldErrors(one.error.issues));
  return { many: false, items: [one.data] };
}

/**
 * edx-enterprise `pending-enterprise-learner/` (licenses-and-enrollment §7.6): links emails to
 * customers ahead of enrollment. An email with an account becomes (or re-activates) a link; any
 * other a pending learner, linked when it registers (accounts.ts). 201 with the items if anything
 * was new, else 204, so a repeat is harmless.
 */
export function pendingLearnerRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  app.post(
    '/enterprise/api/v1/pending-enterprise-learner',
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: z.union([learnerBody, z.array(learnerBody).max(MAX_LEARNERS)]),
        response: { 201: z.union([learnerSchema, z.array(learnerSchema)]), 204: z.null() },
        // One object: its field errors; a list: one map per item.
        errors: { 400: [FieldErrorMap, FieldErrorMapList] },
      },
    },
    async (req, reply) => {
      const { many, items } = parseLearners(req.body);
      const uuids = [...new Set(items.map((i) => i.enterprise_customer))];
      const known = new Set(
        uuids.length === 0
          ? []
          : (await db.selectFrom('enterprise_customers').select('uuid').where('uuid', 'in', uuids).execute()).map(
              (c) => c.uuid,
            ),
      );
      const missing = items.map((i) =>
        known.has(i.enterprise_customer) ? {} : { enterprise_customer: [invalidPk(i.enterprise_customer)] },
      );
      if (missing.some((e) => Object.keys(e).length > 0)) throw new HttpError(400, many ? missing : missing[0]);

      const created = await db.transaction().execute(async (trx) => {
        await lockEmails(
          trx,
          items.map((i) => i.user_email),
        );
        const users = await usersByEmails(
          trx,
          items.map((i) => i.user_email),
        );
        const userIdOf = new Map(users.map((u) => [u.email.toLowerCase(), u.id]));
        let any = false;
        for (const customer of uuids) {
          const mine = items.filter((i) => i.enterprise_customer === customer);
          const userIds = mine.flatMap((i) => userIdOf.get(i.user_email.toLowerCase()) ?? []);
          const links = await linkActiveUsers(trx, customer, userIds);
          const pending = await getOrCreatePendingLearners(
            trx,
            customer,
            mine.filter((i) => !userIdOf.has(i.user_email.toLowerCase())).map((i) => i.user_email),
          );
          any ||= links.created.size > 0 || pending.created.size > 0;
        }
        return any;
      });
      if (!created) return reply.code(204).send(null);
      return reply.code(201).send(many ? items : (items[0] as LearnerBody));
    },
  );
}
