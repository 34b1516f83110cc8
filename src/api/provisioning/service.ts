/**
 * Provisioning (spec provisioning §1–4): one call makes a customer with its admins, catalog,
 * agreement, plans and renewal, through the `provisionNewCustomer` workflow.
 */
import { createHash } from 'node:crypto';
import { canonicalRequest, type ProvisioningRequest } from '../../access/provisioning/request';
import type { ProvisioningResponse } from '../../access/provisioning/response';
import type { ProvisioningSettings } from '../../lib/defaults';
import { Refused } from '../../lib/http-errors';
import { searchAttributes } from '../../workflows/definitions';
import { PROVISIONING_STEPS } from '../../workflows/provision-new-customer';
import { type Accepted, accepted, type RunStatus, type WorkflowRuns } from '../workflow-runs';

const PROVISIONING_WORKFLOW = 'provisionNewCustomer';

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

const provisioningStatusUrl = (workflowId: string) => `/api/v1/provisioning/${encodeURIComponent(workflowId)}`;

export type ProvisioningAnswer = { created: ProvisioningResponse } | { accepted: Accepted };

export function createProvisioningService(deps: { runs: WorkflowRuns; settings: ProvisioningSettings }) {
  const { runs, settings } = deps;
  return {
    /** Runs (or joins) the provisioning of `req`: its records, or where to follow it. 422 when a step fails. */
    async provision(req: ProvisioningRequest, requestedBy: string): Promise<ProvisioningAnswer> {
      const { slug, name } = req.enterprise_customer;
      const outcome = await runs.startAndWait<ProvisioningResponse>(
        {
          type: PROVISIONING_WORKFLOW,
          workflowId: provisioningWorkflowId(req),
          args: [
            req,
            { retryWindowSeconds: settings.retryWindowSeconds, attemptTimeoutSeconds: settings.attemptTimeoutSeconds },
          ],
          searchAttributes: [{ key: searchAttributes.CustomerSlug, value: slug }],
          summary: `Provision ${slug} (${name})`,
          details: provisioningDetails(req, requestedBy),
        },
        settings.waitSeconds,
      );
      if (outcome.state === 'completed') return { created: outcome.value };
      if (outcome.state === 'failed') throw new Refused(`Error in provisioning workflow: ${outcome.message}`);
      return { accepted: accepted(outcome, provisioningStatusUrl(outcome.workflowId)) };
    },

    /** The ADR 0025 view of one provisioning workflow. */
    status(workflowId: string): Promise<RunStatus> {
      return runs.status(workflowId, PROVISIONING_WORKFLOW, {
        steps: PROVISIONING_STEPS,
        notFound: `No provisioning workflow ${workflowId}.`,
      });
    },
  };
}

export type ProvisioningService = ReturnType<typeof createProvisioningService>;

function provisioningDetails(req: ProvisioningRequest, requestedBy: string): string {
  const trial = req.trial_subscription_plan;
  return [
    `Requested by ${requestedBy}.`,
    `Customer: ${req.enterprise_customer.name} (\`${req.enterprise_customer.slug}\`, ${req.enterprise_customer.country})`,
    `Admins: ${(req.pending_admins ?? []).map((a) => a.user_email).join(', ') || 'none'}`,
    `Trial plan: ${trial.title}, ${trial.desired_num_licenses} licenses, ${trial.start_date} → ${trial.expiration_date}`,
    `Paid plan: ${req.first_paid_subscription_plan.title}`,
  ].join('\n\n');
}
