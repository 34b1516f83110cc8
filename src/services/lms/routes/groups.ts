import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { booleanField, emailField, invalidPk, presence, pythonType, queryFlag } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { DetailError } from '../../../lib/fastify/error-schemas';
import { badRequest, forbidden, notFound } from '../../../lib/http-errors';
import { hasRole, OPERATOR_ROLES, type Principal } from '../../../lib/jwt';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireRoleSomewhere } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { isPathUuid, text, uuidField, uuidFilter } from '../fields';
import {
  assignLearners,
  groupByUuid,
  groupView,
  groupViews,
  MEMBER_COLUMNS,
  memberQuery,
  memberView,
  removeLearners,
} from '../group-store';
import { ENTERPRISE_ADMIN_ROLE, type GroupRow, type LmsDB } from '../schema';
import { customerByUuid } from '../store';

/**
 * Upstream's path is `enterprise_group/`; `enterprise-group/` (this project's earlier spelling) is
 * kept for callers written against it.
 */
const BASES = ['/enterprise/api/v1/enterprise_group', '/enterprise/api/v1/enterprise-group'] as const;
/** Upstream's UniqueTogetherValidator message for (name, enterprise_customer). */
const NAME_TAKEN = 'A group with this name already exists. Please enter a unique name to create a new group.';
/** Upstream processes at most 1000 emails per call; here more is a 400 instead of a silent cut. */
const MAX_EMAILS = 1000;

/** Who may manage a customer's groups: operators, and that customer's admins (upstream's admin dashboard permission). */
const GROUP_ROLES = [...OPERATOR_ROLES, ENTERPRISE_ADMIN_ROLE];

const groupSchema = z.object({
  uuid: z.string(),
  enterprise_customer: z.string(),
  name: z.string(),
  accepted_members_count: z.number().int(),
  group_type: z.literal('flex'),
  created: z.string(),
});

const memberSchema = z.object({
  enterprise_group_membership_uuid: z.string(),
  lms_user_id: z.number().int().nullable(),
  enterprise_customer_user_id: z.number().int().nullable(),
  member_details: z.object({ user_email: z.string(), user_name: z.string().nullable() }),
  status: z.enum(['accepted', 'pending']),
  created: z.string(),
});

const learnerEmails = z
  .array(emailField(), {
    error: (iss) => presence(iss) ?? `Expected a list of items but got type "${pythonType(iss.input)}".`,
  })
  .min(1, 'This list may not be empty.')
  .max(MAX_EMAILS, `Ensure this field has no more than ${MAX_EMAILS} elements.`);

const removeBody = z
  .object({ learner_emails: learnerEmails.optional(), remove_all: booleanField().optional() })
  .superRefine((body, ctx) => {
    if ((body.learner_emails !== undefined) === (body.remove_all === true)) {
      ctx.addIssue({ code: 'custom', message: 'Must supply `remove_all` or `learner_emails` but not both.' });
    }
  });

/** The customers whose groups the caller sees: all (operators, `enterprise_admin:*`) or those it administers. */
function visibleCustomers(p: Principal): 'all' | string[] {
  const grants = p.roles.filter((g) => GROUP_ROLES.includes(g.role));
  if (p.administrator || grants.some((g) => g.context === '*')) return 'all';
  return grants.map((g) => g.context);
}

function assertManages(req: FastifyRequest, customer: string) {
  if (!hasRole(requirePrincipal(req), GROUP_ROLES, customer)) throw forbidden();
}

/**
 * Enterprise groups (ADR 0018): named subsets of a customer's learners that learner-credit
 * policies can be restricted to. Members are linked learners, or emails of people without an
 * account yet, who become members when they register (accounts.ts).
 *
 * Permission comes before validation, as upstream: 401/403 in `onRequest` for callers who may
 * manage no group at all, then 404/403 for the group or customer named in the path or body in
 * `preValidation`, before the body's own 400s.
 */
export function groupRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  const onRequest = requireRoleSomewhere(GROUP_ROLES);
  const loaded = new WeakMap<FastifyRequest, GroupRow>();

  /** `preValidation` of the `{uuid}` routes: 404 for no such group, 403 for another customer's. */
  async function loadGroup(req: FastifyRequest) {
    const { uuid } = req.params as { uuid?: string };
    const group = uuid && isPathUuid(uuid) ? await groupByUuid(db, uuid) : undefined;
    if (!group) throw notFound();
    assertManages(req, group.enterprise_customer);
    loaded.set(req, group);
  }
  const groupOf = (req: FastifyRequest) => loaded.get(req) as GroupRow;
  const params = z.object({ uuid: z.string() });
  /** The `{uuid}` routes: no such group (404), another customer's (403). */
  const groupErrors = { 403: DetailError, 404: DetailError };
  for (const BASE of BASES) registerGroupRoutes(BASE);

  function registerGroupRoutes(BASE: string) {
    app.post(
      BASE,
      {
        onRequest,
        // The body is parsed but not validated yet: an admin naming another customer gets 403 first.
        preValidation: async (req) => {
          const customer = (req.body as { enterprise_customer?: unknown } | undefined)?.enterprise_customer;
          if (typeof customer === 'string') assertManages(req, customer);
        },
        schema: {
          body: z.object({ name: text(255), enterprise_customer: uuidField() }),
          response: { 201: groupSchema },
        },
      },
      async (req, reply) => {
        const { name, enterprise_customer: customerUuid } = req.body;
        const customer = await customerByUuid(db, customerUuid);
        if (!customer) throw badRequest({ enterprise_customer: [invalidPk(customerUuid)] });
        let row: GroupRow;
        try {
          row = await db
            .insertInto('enterprise_groups')
            .values({ name, enterprise_customer: customer.uuid })
            .returningAll()
            .executeTakeFirstOrThrow();
        } catch (err) {
          // The unique constraint is the check, so a concurrent twin also gets a 400, never a 500.
          if (isUniqueViolation(err)) throw badRequest({ non_field_errors: [NAME_TAKEN] });
          throw err;
        }
        return reply.code(201).send(await groupView(db, row));
      },
    );

    app.get(
      BASE,
      {
        onRequest,
        schema: {
          // Upstream's filter is `enterprise_uuids`; `enterprise_uuid` is this project's earlier name.
          querystring: z.object({ enterprise_uuids: uuidFilter(), enterprise_uuid: uuidFilter(), ...pageQuery }),
          response: { 200: pageSchema(groupSchema) },
        },
      },
      async (req) => {
        const customer = req.query.enterprise_uuids ?? req.query.enterprise_uuid;
        let q = db.selectFrom('enterprise_groups');
        if (customer !== undefined) {
          assertManages(req, customer);
          q = q.where('enterprise_customer', '=', customer);
        } else {
          const visible = visibleCustomers(requirePrincipal(req));
          if (visible !== 'all') {
            const uuids = visible.filter((c) => isPathUuid(c));
            q = uuids.length > 0 ? q.where('enterprise_customer', 'in', uuids) : q.where(sql<boolean>`false`);
          }
        }
        return paginate(
          req,
          () => countRows(q),
          async (limit, offset) =>
            groupViews(
              db,
              await q.selectAll().orderBy('created').orderBy('uuid').limit(limit).offset(offset).execute(),
            ),
        );
      },
    );

    app.get(
      `${BASE}/:uuid`,
      { onRequest, preValidation: loadGroup, schema: { params, response: { 200: groupSchema }, errors: groupErrors } },
      async (req) => groupView(db, groupOf(req)),
    );

    app.post(
      `${BASE}/:uuid/assign_learners`,
      {
        onRequest,
        preValidation: loadGroup,
        schema: {
          params,
          errors: groupErrors,
          body: z.object({ learner_emails: learnerEmails }),
          response: {
            201: z.object({
              records_processed: z.number().int(),
              new_learners: z.number().int(),
              existing_learners: z.number().int(),
            }),
          },
        },
      },
      async (req, reply) => {
        const group = groupOf(req);
        const result = await db.transaction().execute((trx) => assignLearners(trx, group, req.body.learner_emails));
        // 201 every time, as upstream, although a repeated call creates nothing.
        return reply.code(201).send(result);
      },
    );

    app.post(
      `${BASE}/:uuid/remove_learners`,
      {
        onRequest,
        preValidation: loadGroup,
        schema: {
          params,
          body: removeBody,
          response: { 200: z.object({ records_deleted: z.number().int() }) },
          errors: groupErrors,
        },
      },
      async (req) => {
        const group = groupOf(req);
        const emails = req.body.remove_all ? 'all' : (req.body.learner_emails ?? []);
        const deleted = await db.transaction().execute((trx) => removeLearners(trx, group, emails));
        return { records_deleted: deleted };
      },
    );

    app.get(
      `${BASE}/:uuid/learners`,
      {
        onRequest,
        preValidation: loadGroup,
        schema: {
          params,
          errors: groupErrors,
          querystring: z.object({ pending_users_only: queryFlag(false), ...pageQuery }),
          response: { 200: pageSchema(memberSchema) },
        },
      },
      async (req) => {
        let q = memberQuery(db, groupOf(req).uuid);
        if (req.query.pending_users_only) q = q.where('m.enterprise_customer_user', 'is', null);
        return paginate(
          req,
          () => countRows(q),
          async (limit, offset) =>
            (
              await q
                .select(MEMBER_COLUMNS)
                .orderBy('m.created')
                // One assignment stamps all its rows alike: then accepted before pending, by email.
                .orderBy(sql`m.enterprise_customer_user is null`)
                .orderBy(sql`lower(coalesce(u.email, m.pending_learner_email))`)
                .orderBy('m.uuid')
                .limit(limit)
                .offset(offset)
                .execute()
            ).map(memberView),
        );
      },
    );
  }
}
