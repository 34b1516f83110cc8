import { z } from 'zod';
import { emailField, invalidPk } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { badRequest, notFound } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { text, uuidField, uuidFilter } from '../fields';
import { ENTERPRISE_ADMIN_ROLE, type LmsDB, type PendingAdminRow } from '../schema';
import { customerByUuid, hasRole, makeAdmin, pendingAdminView, userByEmail } from '../store';

const API = '/enterprise/api/v1';
const ALREADY_ADMIN = 'A user with this email and enterprise customer already has admin permission.';
const ALREADY_PENDING = 'A pending user with this email and enterprise customer already exists.';

const adminResultSchema = z.object({
  enterprise_customer_uuid: z.string(),
  email: z.string(),
  user_id: z.number().int(),
  created: z.boolean(),
});

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
        body: z.object({ enterprise_customer_uuid: uuidField(), email: text(254) }),
        response: { 200: adminResultSchema, 201: adminResultSchema },
      },
    },
    async (req, reply) => {
      const { enterprise_customer_uuid: customerUuid, email } = req.body;
      // Upstream looks the user up first; provisioning reads any 404 as "no account yet" and
      // falls back to a pending admin, which then reports an unknown customer as a 400.
      const user = await userByEmail(db, email);
      if (!user) throw notFound(`User with email ${email} does not exist`);
      const customer = await customerByUuid(db, customerUuid);
      if (!customer) throw notFound(`EnterpriseCustomer with uuid ${customerUuid} does not exist`);
      const created = await db.transaction().execute((trx) => makeAdmin(trx, customer.uuid, user));
      return reply
        .code(created ? 201 : 200)
        .send({ enterprise_customer_uuid: customer.uuid, email: user.email, user_id: user.id, created });
    },
  );

  app.post(
    `${API}/pending-enterprise-admin`,
    {
      onRequest: requireOperator,
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
