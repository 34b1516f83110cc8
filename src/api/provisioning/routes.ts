import { z } from 'zod';
import {
  isLegacyRequest,
  type ProvisioningRequest,
  provisioningRequestSchema,
} from '../../access/provisioning/request';
import type { ZodApp } from '../../lib/fastify/app';
import { callerName, requireRoles } from '../../lib/fastify/auth';
import { DetailError } from '../../lib/fastify/error-schemas';
import { OPERATOR_ROLES } from '../../lib/jwt';
import { acceptedSchema, runStatusSchema } from '../schemas';
import type { ProvisioningService } from './service';

const tags = ['provisioning'];

/** `POST /api/v1/provisioning` and its status (spec provisioning §1–2; ADR 0025). Operators only. */
export function provisioningRoutes(app: ZodApp, service: ProvisioningService) {
  app.post(
    '/api/v1/provisioning',
    {
      onRequest: requireRoles(OPERATOR_ROLES),
      // Validation converts the legacy shape; note it first, to warn as upstream does.
      preValidation: async (req) => {
        if (isLegacyRequest(req.body)) {
          req.log.warn('Deprecated request format detected: `subscription_plan` was converted to the two-plan format');
        }
      },
      schema: {
        summary: 'Provision a new subscription customer (customer, admins, catalog, agreement, plans, renewal)',
        description:
          'Runs the `provisionNewCustomer` workflow. 201 with the records when it completes within the wait time, ' +
          '202 with a status URL when it is still running, 422 `{"detail": "Error in provisioning workflow: ..."}` ' +
          'when a step fails, 503 when Temporal cannot be reached. Repeating the same request is safe and answers ' +
          'with the same records.',
        tags,
        body: provisioningRequestSchema,
        response: {
          201: z
            .record(z.string(), z.unknown())
            .describe(
              'enterprise_customer, customer_admins, enterprise_catalog, customer_agreement, trial and paid plans, renewal',
            ),
          202: acceptedSchema,
        },
        errors: { 422: DetailError, 503: DetailError },
      },
    },
    async (req, reply) => {
      const answer = await service.provision(req.body as ProvisioningRequest, callerName(req));
      if ('created' in answer) return reply.code(201).send({ ...answer.created });
      return reply.code(202).send(answer.accepted);
    },
  );

  app.get(
    '/api/v1/provisioning/:workflow_id',
    {
      onRequest: requireRoles(OPERATOR_ROLES),
      schema: {
        summary: 'Status of a provisioning workflow: overall and per step (ADR 0025 view)',
        tags,
        params: z.object({ workflow_id: z.string().min(1).max(255) }),
        response: { 200: runStatusSchema },
        errors: { 404: DetailError, 503: DetailError },
      },
    },
    async (req) => service.status(req.params.workflow_id),
  );
}
