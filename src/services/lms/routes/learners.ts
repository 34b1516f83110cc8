import { sql } from 'kysely';
import { z } from 'zod';
import { booleanField, emailField, inColumn, intField, invalidPk, queryText } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { badRequest, type FieldErrors } from '../../../lib/http-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { text, uuidField, uuidFilter } from '../fields';
import type { LmsDB, UserRow } from '../schema';
import {
  customerByUuid,
  LEARNER_COLUMNS,
  learnerQuery,
  learnerViews,
  linkLearner,
  userByEmail,
  userById,
  userByUsername,
} from '../store';

const API = '/enterprise/api/v1';
/** Upstream's EnterpriseCustomerUserWriteSerializer message. */
const NO_USER = 'User does not exist';
const IDENTIFIERS = ['user_id', 'username', 'email'] as const;

const learnerSchema = z.object({
  id: z.number().int(),
  enterprise_customer: z.string(),
  user_id: z.number().int(),
  active: z.boolean(),
  created: z.string(),
  user: z.object({ id: z.number().int(), username: z.string(), email: z.string(), date_joined: z.string() }),
  role_assignments: z.array(z.string()),
  enterprise_group: z.array(z.string()),
});

/**
 * Upstream takes `username` only; `user_id` and `email` are accepted too (exactly one of the
 * three), since the orchestrator knows learners by lms_user_id and admins know them by email.
 */
const linkBody = z
  .object({
    enterprise_customer: uuidField(),
    user_id: intField('integer', { min: 1 }).optional(),
    username: text(150).optional(),
    email: emailField().optional(),
    active: booleanField().optional(),
  })
  .superRefine((body, ctx) => {
    if (IDENTIFIERS.filter((k) => body[k] !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'Exactly one of user_id, username or email is required.' });
    }
  });

/** `user_ids`, comma-separated and/or repeated (upstream splits one comma-separated value). */
const userIdsFilter = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return undefined;
    const parts = (Array.isArray(v) ? v : [v])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    if (!parts.every((p) => /^\d+$/.test(p))) {
      ctx.addIssue({ code: 'custom', message: 'Enter a whole number.' });
      return z.NEVER;
    }
    return parts.map(Number);
  });

/**
 * Learner links (`enterprise-learner/`): the list that provisioning reads with
 * `role=enterprise_admin` and enterprise-access reads with `user_ids` for the membership check
 * (its `enterprise_group` list is what group-restricted policies intersect), and linking a user.
 */
export function learnerRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  app.get(
    `${API}/enterprise-learner`,
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({
          enterprise_customer_uuid: uuidFilter(),
          role: queryText().optional(),
          user_ids: userIdsFilter,
          user_email: queryText().optional(),
          ...pageQuery,
        }),
        response: { 200: pageSchema(learnerSchema) },
      },
    },
    async (req) => {
      const { enterprise_customer_uuid: customer, role, user_ids: userIds, user_email: email } = req.query;
      let q = learnerQuery(db);
      if (customer !== undefined) q = q.where('ecu.enterprise_customer', '=', customer);
      if (userIds !== undefined) {
        // Ids beyond `integer` cannot exist (and must not reach Postgres as int parameters).
        const ids = userIds.filter((id) => inColumn('integer', id));
        q = ids.length > 0 ? q.where('ecu.user_id', 'in', ids) : q.where(sql<boolean>`false`);
      }
      if (email) q = q.where((eb) => eb(eb.fn('lower', ['u.email']), '=', email.trim().toLowerCase()));
      if (role) {
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('role_assignments as ra')
              .select('ra.id')
              .whereRef('ra.user_id', '=', 'ecu.user_id')
              .whereRef('ra.enterprise_customer', '=', 'ecu.enterprise_customer')
              .where('ra.role', '=', role),
          ),
        );
      }
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          learnerViews(db, await q.select(LEARNER_COLUMNS).orderBy('ecu.id').limit(limit).offset(offset).execute()),
      );
    },
  );

  app.post(
    `${API}/enterprise-learner`,
    {
      onRequest: requireOperator,
      schema: { body: linkBody, response: { 200: learnerSchema, 201: learnerSchema } },
    },
    async (req, reply) => {
      const { enterprise_customer: customerUuid, active } = req.body;
      const [customer, user] = await Promise.all([customerByUuid(db, customerUuid), findUser(req.body)]);
      // Both record-level problems at once, as a DRF serializer reports them.
      const errors: FieldErrors = {};
      if (!customer) errors.enterprise_customer = [invalidPk(customerUuid)];
      if (!user) errors[IDENTIFIERS.find((k) => req.body[k] !== undefined) ?? 'username'] = [NO_USER];
      if (!customer || !user) throw badRequest(errors);

      const link = await db.transaction().execute((trx) => linkLearner(trx, customer.uuid, user.id, active));
      const [view] = await learnerViews(
        db,
        await learnerQuery(db).select(LEARNER_COLUMNS).where('ecu.id', '=', link.id).execute(),
      );
      if (!view) throw new Error(`learner link ${link.id} vanished`);
      return reply.code(link.created ? 201 : 200).send(view);
    },
  );

  function findUser(body: { user_id?: number; username?: string; email?: string }): Promise<UserRow | undefined> {
    if (body.user_id !== undefined) return userById(db, body.user_id);
    if (body.username !== undefined) return userByUsername(db, body.username);
    return userByEmail(db, body.email as string);
  }
}
