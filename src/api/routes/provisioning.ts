import { createHash } from 'node:crypto';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import {
  canonicalRequest,
  isLegacyRequest,
  type ProvisioningRequest,
  provisioningRequestSchema,
} from '../../access/provisioning/request';
import type { ProvisioningResponse } from '../../access/provisioning/response';
import type { ZodApp } from '../../lib/fastify/app';
import { requireRoles } from '../../lib/fastify/auth';
import { detail, notFound } from '../../lib/http-errors';
import { OPERATOR_ROLES } from '../../lib/jwt';
import { searchAttributes, statusQuery } from '../../workflows/definitions';
import { PROVISIONING_STEPS, type provisionNewCustomer } from '../../workflows/provision-new-customer';
import type { WorkflowStatusView } from '../../workflows/step-log';
import { activityAttempts, stepsFromHistory, withAttempts, workflowStatusName } from '../temporal-views';
import { failureMessage, startOrJoin, waitFor } from '../workflow-start';

export interface ProvisioningRouteDeps {
  temporal: Client;
  taskQueue: string;
  /** How long to wait for the workflow before answering 202 (seconds). */
  waitSeconds: number;
  retryWindowSeconds: number;
  attemptTimeoutSeconds: number;
}

/**
 * Same request → same workflow id: a double submit joins the running run, a repeat after
 * success finds the completed run and answers with its records (upstream answered 422), and a
 * repeat after a failure starts a new run (reuse policy: failed runs only). A different request
 * for the same slug gets its own id and runs, reusing every record that exists.
 */
export function provisioningWorkflowId(req: ProvisioningRequest): string {
  const digest = createHash('sha256').update(canonicalRequest(req)).digest('hex').slice(0, 16);
  return `provision-${req.enterprise_customer.slug}-${digest}`;
}

const acceptedSchema = z.object({ workflow_id: z.string(), run_id: z.string(), status_url: z.string() });

export function provisioningRoutes(app: ZodApp, deps: ProvisioningRouteDeps) {
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
          'when a step fails. Repeating the same request is safe and answers with the same records.',
        tags: ['provisioning'],
        body: provisioningRequestSchema,
        response: {
          201: z
            .record(z.string(), z.unknown())
            .describe(
              'enterprise_customer, customer_admins, enterprise_catalog, customer_agreement, trial and paid plans, renewal',
            ),
          202: acceptedSchema,
        },
      },
    },
    async (req, reply) => {
      const body = req.body as ProvisioningRequest;
      const workflowId = provisioningWorkflowId(body);
      const handle = await startProvisioning(deps, workflowId, body);
      const log = req.log.child({ workflowId });
      const result = await waitFor(handle.result(), deps.waitSeconds * 1000);
      if (result.state === 'done') {
        log.info('provisioning completed');
        return reply.code(201).send({ ...result.value });
      }
      if (result.state === 'failed') {
        const message = failureMessage(result.error);
        log.warn({ message }, 'provisioning failed');
        throw detail(422, `Error in provisioning workflow: ${message}`);
      }
      const description = await handle.describe();
      return reply.code(202).send({
        workflow_id: workflowId,
        run_id: description.runId,
        status_url: `/api/v1/provisioning/${encodeURIComponent(workflowId)}`,
      });
    },
  );

  app.get(
    '/api/v1/provisioning/:workflow_id',
    {
      onRequest: requireRoles(OPERATOR_ROLES),
      schema: {
        summary: 'Status of a provisioning workflow: overall and per step (ADR 0025 view)',
        tags: ['provisioning'],
        params: z.object({ workflow_id: z.string().min(1).max(255) }),
      },
    },
    async (req) => {
      const { workflow_id: workflowId } = req.params;
      const handle = deps.temporal.workflow.getHandle(workflowId);
      let description: Awaited<ReturnType<typeof handle.describe>>;
      try {
        description = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound(`No provisioning workflow ${workflowId}.`);
        throw err;
      }
      if (description.type !== 'provisionNewCustomer') throw notFound(`No provisioning workflow ${workflowId}.`);
      const status = workflowStatusName(description);
      // The workflow's own `status` query (a closed one is answered by a worker replaying its
      // history). With no worker to answer in time (all down, or busy), the same view is rebuilt
      // from the history alone: the status page must not depend on a worker being up.
      const view: WorkflowStatusView = await deps.temporal
        .withDeadline(Date.now() + 3000, () => handle.query(statusQuery))
        .then((v) => v as WorkflowStatusView)
        .catch(async () => {
          const steps = stepsFromHistory(await handle.fetchHistory(), PROVISIONING_STEPS);
          return { status, current_step: steps.find((s) => s.status === 'running')?.name ?? null, steps };
        });
      const attempts = await activityAttempts(deps.temporal, workflowId, description);
      let result: ProvisioningResponse | null = null;
      let error: string | null = null;
      if (status === 'completed') result = (await handle.result()) as ProvisioningResponse;
      if (status === 'failed')
        error = await handle.result().then(
          () => null,
          (err: unknown) => failureMessage(err),
        );
      return {
        workflow_id: workflowId,
        run_id: description.runId,
        status,
        current_step: status === 'running' ? view.current_step : null,
        started_at: description.startTime.toISOString(),
        closed_at: description.closeTime?.toISOString() ?? null,
        steps: withAttempts(view, attempts),
        result,
        error,
      };
    },
  );
}

function startProvisioning(deps: ProvisioningRouteDeps, workflowId: string, body: ProvisioningRequest) {
  return startOrJoin<typeof provisionNewCustomer>(deps.temporal, 'provisionNewCustomer', {
    taskQueue: deps.taskQueue,
    workflowId,
    args: [body, { retryWindowSeconds: deps.retryWindowSeconds, attemptTimeoutSeconds: deps.attemptTimeoutSeconds }],
    typedSearchAttributes: [{ key: searchAttributes.CustomerSlug, value: body.enterprise_customer.slug }],
  });
}
