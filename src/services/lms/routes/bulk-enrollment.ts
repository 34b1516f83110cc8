import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { inColumn } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal, requireRoles } from '../../../lib/fastify/auth';
import { DetailError, FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { notFound } from '../../../lib/http-errors';
import { hasRole } from '../../../lib/jwt';
import type { ServiceContext } from '../../common/service';
import { bulkEnrollmentBodyDoc, parseBulkEnrollmentRequest } from '../bulk-enrollment-request';
import { bulkEnrollmentStatus } from '../bulk-enrollment-rules';
import { bulkEnroll } from '../bulk-enrollment-store';
import { isPathUuid } from '../fields';
import { ENTERPRISE_ADMIN_ROLE, type LmsDB } from '../schema';
import { customerByUuid, customerUserLink } from '../store';

const OPERATOR_ROLE = 'enterprise_openedx_operator';
/**
 * `enterprise.can_enroll_learners`: the feature role `enrollment_api_admin`, which upstream grants
 * to these two system roles (not to the provisioning admin).
 */
const ENROLL_ROLES = [ENTERPRISE_ADMIN_ROLE, OPERATOR_ROLE];

const successSchema = z.object({
  user_id: z.number().int(),
  email: z.string(),
  course_run_key: z.string(),
  created: z.boolean(),
  activation_link: z.null(),
  enterprise_fulfillment_source_uuid: z.string(),
});
const pendingSchema = z.object({
  email: z.string(),
  course_run_key: z.string(),
  created: z.boolean(),
  activation_link: z.null(),
});
const failureSchema = z.object({
  user_id: z.number().int().nullable(),
  email: z.string().nullable(),
  course_run_key: z.string(),
});
const resultSchema = z.object({
  successes: z.array(successSchema),
  pending: z.array(pendingSchema),
  failures: z.array(failureSchema),
  invalid_email_addresses: z.array(z.string()).optional(),
  invalid_user_ids: z.array(z.number().int()).optional(),
});

/**
 * edx-enterprise `enroll_learners_in_courses` (licenses-and-enrollment §7): enrolls learners,
 * known by `user_id` or email, in course runs under a license or a learner-credit transaction, in
 * one call of up to 1000 items (license-manager sends chunks of 25 learners × 25 courses). Answers
 * 201 when all were enrolled, 202 when some are pending registration, 409 when some failed or were
 * invalid (the rest stays done). Safe to repeat: a repeat answers the same items with
 * `created: false` and makes nothing new.
 *
 * Order of checks, as upstream: 401/403 (role on the path's customer), 404 (no such active
 * customer, or a non-operator caller not linked to it), then 400 for the body.
 */
export function bulkEnrollmentRoutes(app: ZodApp, { db, logger }: ServiceContext<LmsDB>) {
  const params = z.object({ uuid: z.string() });
  const contextOf = (req: FastifyRequest) => (req.params as { uuid?: string }).uuid;

  app.post(
    '/enterprise/api/v1/enterprise-customer/:uuid/enroll_learners_in_courses',
    {
      onRequest: requireRoles(ENROLL_ROLES, contextOf),
      schema: {
        params,
        documentedBody: bulkEnrollmentBodyDoc,
        response: { 201: resultSchema, 202: resultSchema, 409: resultSchema },
        errors: { 400: FieldErrorMap, 404: DetailError },
      },
    },
    async (req, reply) => {
      const { uuid } = req.params;
      const customer = isPathUuid(uuid) ? await customerByUuid(db, uuid, { activeOnly: true }) : undefined;
      if (!customer) throw notFound();
      // Upstream's queryset for non-staff callers holds only the customers they are linked to.
      const principal = requirePrincipal(req);
      if (!hasRole(principal, [OPERATOR_ROLE], customer.uuid)) {
        const userId = principal.userId;
        const linked = inColumn('integer', userId, { min: 1 }) && (await customerUserLink(db, customer.uuid, userId));
        if (!linked) throw notFound();
      }

      const body = parseBulkEnrollmentRequest(req.body);
      const started = performance.now();
      const res = await bulkEnroll(db, customer.uuid, body);
      const status = bulkEnrollmentStatus(res);
      logger.info(
        {
          customer: customer.uuid,
          items: body.items.length,
          successes: res.successes.length,
          created: res.successes.filter((s) => s.created).length + res.pending.filter((p) => p.created).length,
          pending: res.pending.length,
          failures: res.failures.length,
          invalid: (res.invalid_email_addresses?.length ?? 0) + (res.invalid_user_ids?.length ?? 0),
          status,
          ms: Math.round(performance.now() - started),
        },
        'bulk enrollment',
      );
      return reply.code(status).send(res);
    },
  );
}
