import { z } from 'zod';
import { dateTimeField, intField } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { reversalFeedSchema } from '../response-schemas';
import type { SubsidyDB } from '../schema';
import { reversalsSince } from '../store';

const query = z.object({
  created_after: dateTimeField().describe('Reversals created at or after this time (ISO-8601).'),
  limit: intField('integer', { min: 1, max: 1000 }).optional().describe('At most this many (default 500).'),
});

/**
 * `GET /api/v1/transaction-reversals/`: committed reversals across every subsidy since a time,
 * oldest first. Upstream announces each reversal on the event bus (LEDGER_TRANSACTION_REVERSED)
 * for enterprise-access to mark its assignments and aggregates; this is the same announcement
 * as a feed a consumer follows. Operators (and the orchestrator's service token) only.
 */
export function reversalFeedRoutes(app: ZodApp, { db }: ServiceContext<SubsidyDB>) {
  app.get(
    '/api/v1/transaction-reversals',
    { onRequest: requireOperator, schema: { querystring: query, documentedResponses: { 200: reversalFeedSchema } } },
    async (req) => {
      const rows = await reversalsSince(db, req.query.created_after, req.query.limit ?? 500);
      return {
        results: rows.map((r) => ({
          ...r,
          lms_user_id: r.lms_user_id === null ? null : Number(r.lms_user_id),
          quantity: Number(r.quantity),
          created: r.created.toISOString(),
        })),
      };
    },
  );
}
