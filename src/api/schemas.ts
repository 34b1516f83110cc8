/** Response shapes shared by every workflow feature of the api (documented in /openapi.json). */
import { z } from 'zod';

/** 422: a refusal, `{"detail": "..."}`, or with the reasons (can-redeem's) or the downstream's own fields. */
export const refusalSchema = z.looseObject({ detail: z.union([z.string(), z.array(z.unknown())]) });

/** 202: the workflow is still running; follow it at `status_url`. */
export const acceptedSchema = z.object({ workflow_id: z.string(), run_id: z.string(), status_url: z.string() });

const stepSchema = z.object({
  name: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
  attempts: z.number().int(),
  input: z.unknown(),
  output: z.unknown(),
  last_error: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

/** The one status view of a workflow (ADR 0025): overall state, current step, each step, the outcome. */
export const runStatusSchema = z.object({
  workflow_id: z.string(),
  run_id: z.string(),
  type: z.string(),
  status: z.enum([
    'running',
    'completed',
    'failed',
    'canceled',
    'terminated',
    'timed_out',
    'continued_as_new',
    'unknown',
  ]),
  current_step: z.string().nullable(),
  started_at: z.string(),
  closed_at: z.string().nullable(),
  steps: z.array(stepSchema),
  progress: z.unknown(),
  result: z.unknown(),
  error: z.string().nullable(),
});
