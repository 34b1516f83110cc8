import { sql } from 'kysely';
import { z } from 'zod';
import { choiceField, intField, intFilter, invalidPk, NO_MATCH, queryText } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError } from '../../../lib/fastify/error-schemas';
import { badRequest, type FieldErrors, notFound } from '../../../lib/http-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { BOTH_SUBSIDIES } from '../bulk-enrollment-request';
import { enrollmentQuery, enrollmentView, getOrCreateEnrollment, LINK_COLUMNS, unenroll } from '../enrollment-store';
import { courseRunKeyField, isPathUuid, uuidField, uuidFilter } from '../fields';
import { ENROLLMENT_SOURCES, type LmsDB } from '../schema';
import { customerByUuid, customerUserLink, userById } from '../store';

const BASE = '/enterprise/api/v1/enterprise-course-enrollment';

const enrollmentSchema = z.object({
  uuid: z.string(),
  enterprise_customer_uuid: z.string(),
  lms_user_id: z.number().int(),
  course_run_key: z.string(),
  source: z.string(),
  transaction_id: z.string().nullable(),
  license_uuid: z.string().nullable(),
  is_active: z.boolean(),
  created: z.string(),
  modified: z.string(),
  unenrolled_at: z.string().nullable(),
});

const enrollBody = z
  .object({
    enterprise_customer_uuid: uuidField(),
    lms_user_id: intField('integer', { min: 1 }),
    course_run_key: courseRunKeyField(),
    source: choiceField(ENROLLMENT_SOURCES),
    transaction_id: uuidField().nullish(),
    license_uuid: uuidField().nullish(),
  })
  .superRefine((body, ctx) => {
    if (body.transaction_id && body.license_uuid) ctx.addIssue({ code: 'custom', message: BOTH_SUBSIDIES });
  });

/**
 * Enterprise course enrollments: the record that fulfils a redemption (learner credit, license)
 * and that bulk enrollment builds on. Its uuid is the fulfillment identifier the subsidy's
 * transaction keeps, so the create is get-or-create by (learner link, course run): a retried
 * fulfilment gets the same uuid back.
 */
export function enrollmentRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  app.post(
    BASE,
    {
      onRequest: requireOperator,
      schema: { body: enrollBody, response: { 200: enrollmentSchema, 201: enrollmentSchema } },
    },
    async (req, reply) => {
      const { enterprise_customer_uuid: customerUuid, lms_user_id: userId, course_run_key: courseRunKey } = req.body;
      const [customer, user] = await Promise.all([customerByUuid(db, customerUuid), userById(db, userId)]);
      const errors: FieldErrors = {};
      if (!customer) errors.enterprise_customer_uuid = [invalidPk(customerUuid)];
      if (!user) errors.lms_user_id = [invalidPk(userId)];
      if (!customer || !user) throw badRequest(errors);
      const link = await customerUserLink(db, customer.uuid, user.id);
      if (!link) {
        throw badRequest({ lms_user_id: [`User ${user.id} is not linked to enterprise customer ${customer.uuid}.`] });
      }

      const { enrollment, outcome } = await getOrCreateEnrollment(db, {
        link,
        courseRunKey,
        source: req.body.source,
        transactionId: req.body.transaction_id ?? null,
        licenseUuid: req.body.license_uuid ?? null,
      });
      return reply.code(outcome === 'created' ? 201 : 200).send(enrollment);
    },
  );

  app.get(
    BASE,
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({
          enterprise_customer_uuid: uuidFilter(),
          lms_user_id: intFilter('integer', { min: 1 }),
          course_run_key: queryText().optional(),
          ...pageQuery,
        }),
        response: { 200: pageSchema(enrollmentSchema) },
      },
    },
    async (req) => {
      const { enterprise_customer_uuid: customer, lms_user_id: userId, course_run_key: courseRunKey } = req.query;
      let q = enrollmentQuery(db);
      if (customer !== undefined) q = q.where('ecu.enterprise_customer', '=', customer);
      // An id outside `integer` matches nothing (and never reaches Postgres as an int parameter).
      if (userId === NO_MATCH) q = q.where(sql<boolean>`false`);
      else if (userId !== undefined) q = q.where('ecu.user_id', '=', userId);
      if (courseRunKey !== undefined) q = q.where('e.course_id', '=', courseRunKey);
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (
            await q
              .selectAll('e')
              .select(LINK_COLUMNS)
              .orderBy('e.created')
              .orderBy('e.uuid')
              .limit(limit)
              .offset(offset)
              .execute()
          ).map(enrollmentView),
      );
    },
  );

  app.post(
    `${BASE}/:uuid/unenroll`,
    {
      onRequest: requireOperator,
      schema: {
        params: z.object({ uuid: z.string() }),
        response: { 200: enrollmentSchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const enrollment = isPathUuid(req.params.uuid) ? await unenroll(db, req.params.uuid) : undefined;
      if (!enrollment) throw notFound();
      return enrollment;
    },
  );
}
