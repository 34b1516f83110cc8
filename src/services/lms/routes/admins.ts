import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { emailField, invalidPk } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { WrappedError } from '../../../lib/fastify/error-schemas';
import { badRequest, forbidden, HttpError } from '../../../lib/http-errors';
import { hasRole as hasRoleForAll } from '../../../lib/jwt';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { OPERATOR_ROLES, requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { uuidField, uuidFilter } from '../fields';
import { ENTERPRISE_ADMIN_ROLE, type LmsDB, type PendingAdminRow } from '../schema';
import { customerByUuid, customerUserLink, hasRole, makeAdmin, pendingAdminView, userByEmail } from '../store';

const API = '/enterprise/api/v1';
const ALREADY_ADMIN = 'A user with this email and enterprise customer already has admin permission.';
const ALREADY_PENDING = 'A pending user with this email and enterprise customer already exists.';

/** Upstream EnterpriseCustomerAdminSerializer. */
const adminResultSchema = z.object({
  uuid: z.string(),
  enterprise_customer_user: z.number().int(),
  last_login: z.null(),
  completed_tour_flows: z.array(z.never()),
  onboarding_tour_dismissed: z.boolean(),
  onboarding_tour_completed: z.boolean(),
});

/**
 * The admin record's uuid: one admin record per (customer, user) here is the admin role on the
 * learner link, so its uuid is derived from the two (stable across calls, as upstream's row is).
 */
function adminUuid(customer: string, userId: number): string {
  const h = createHash('sha256').update(`enterprise-customer-admin:${customer}:${userId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h[16] as string, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Upstream's permission of the pending-admin view, with its message. */
const requirePendingAdminAccess = async (req: FastifyRequest) => {
  if (!hasRoleForAll(requirePrincipal(req), OPERATOR_ROLES)) {
    throw forbidden('MISSING: provisioning.has_pending_enterprise_customer_admin_access');
  }
};

/** Upstream answers this view's errors as `{"error": "..."}`. */
const viewError = (status: number, message: string) => new HttpError(status, { error: message });

const pendingAdminSchema = z.object({ id: z.number().int(), enterprise_customer: z.string(), user_email: z.string() });

/**
 * Customer admins: making an existing user an admin by email, and pending admins for people
 * without an account yet (they become admins when they register, see accounts.ts). Provisioning
 * lists admins through `enterprise-learner/?role=enterprise_admin` (learners.ts).
 */
export function adminRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  app.post(
    `${API}/enterprise-customer-admin/create_admin_by_email`,
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: z.object({ email: z.string(), enterprise_customer_uuid: z.string() }),
        response: { 200: adminResultSchema, 201: adminResultSchema },
        errors: { 400: WrappedError, 404: WrappedError },
      },
    },
    async (req, reply) => {
      // Upstream reads the two values itself and answers `{"error": ...}`: 400 for a missing one,
      // 404 for an unknown user, then for an unknown customer (provisioning reads any 404 as "no
      // account yet" and falls back to a pending admin, which reports an unknown customer as a 400).
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const email = typeof body.email === 'string' ? body.email.trim() : '';
      const customerUuid =
        typeof body.enterprise_customer_uuid === 'string' ? body.enterprise_customer_uuid.trim() : '';
      if (!email) throw viewError(400, 'email is required');
      if (!customerUuid) throw viewError(400, 'enterprise_customer_uuid is required');
      const user = email.length <= 254 && !email.includes('\0') ? await userByEmail(db, email) : undefined;
      if (!user) throw viewError(404, `User with email ${email} does not exist`);
      const customer = z.guid().safeParse(customerUuid).success ? await customerByUuid(db, customerUuid) : undefined;
      if (!customer) throw viewError(404, `EnterpriseCustomer with uuid ${customerUuid} does not exist`);
      const created = await db.transaction().execute((trx) => makeAdmin(trx, customer.uuid, user));
      const link = await customerUserLink(db, customer.uuid, user.id);
      return reply.code(created ? 201 : 200).send({
        uuid: adminUuid(customer.uuid, user.id),
        enterprise_customer_user: link ? link.id : 0,
        last_login: null,
        completed_tour_flows: [],
        onboarding_tour_dismissed: false,
        onboarding_tour_completed: false,
      });
    },
  );

  app.post(
    `${API}/pending-enterprise-admin`,
    {
      onRequest: requirePendingAdminAccess,
      schema: {
        body: z.object({ enterprise_customer: uuidField(), user_email: emailField() }),
        response: { 201: pendingAdminSchema },
      },
    },
    async (req, reply) => {
      const { enterprise_customer: customerUuid, user_email: email } = req.body;
      const customer = await customerByUuid(db, customerUuid);
      if (!customer) throw badRequest({ enterprise_customer: [invalidPk(customerUuid)] });
      const user = await userByEmail(db, email);
      if (user && (await hasRole(db, user.id, ENTERPRISE_ADMIN_ROLE, customer.uuid))) {
        throw badRequest({ user_email: [ALREADY_ADMIN] });
      }
      let row: PendingAdminRow;
      try {
        row = await db
          .insertInto('pending_enterprise_admins')
          .values({ enterprise_customer: customer.uuid, user_email: email })
          .returningAll()
          .executeTakeFirstOrThrow();
      } catch (err) {
        // The (customer, lower(email)) unique index: already pending, or a concurrent twin won.
        if (isUniqueViolation(err)) throw badRequest({ user_email: [ALREADY_PENDING] });
        throw err;
      }
      return reply.code(201).send(pendingAdminView(row));
    },
  );

  app.get(
    `${API}/pending-enterprise-admin`,
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({ enterprise_customer: uuidFilter(), ...pageQuery }),
        response: { 200: pageSchema(pendingAdminSchema) },
      },
    },
    async (req) => {
      let q = db.selectFrom('pending_enterprise_admins');
      if (req.query.enterprise_customer !== undefined) {
        q = q.where('enterprise_customer', '=', req.query.enterprise_customer);
      }
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await q.selectAll().orderBy('id').limit(limit).offset(offset).execute()).map(pendingAdminView),
      );
    },
  );
}
