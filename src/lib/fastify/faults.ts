import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { HttpError } from '../http-errors';

/**
 * Test-only fault injection, registered only when FAULT_INJECTION=true (refused in production).
 * Tests make the next N calls to a route fail with a status, be delayed, or have their
 * connection dropped, through the service's own admin routes:
 *
 *   POST   /__faults   {"method":"POST","route":"/enterprise/api/v1/enterprise-customer/","status":503,"count":3}
 *   GET    /__faults   the active rules, with how many calls each has hit
 *   DELETE /__faults   clear them
 *
 * `route` matches the registered route pattern (`/api/v1/subscriptions/:uuid/`) or the request
 * path; a trailing slash is ignored. Faults apply before auth and validation, as a failing load
 * balancer or overloaded upstream would.
 */
export const faultRuleSchema = z.object({
  method: z.string().toUpperCase().optional(),
  route: z.string().startsWith('/'),
  /** Answer with this status (default 503) ... */
  status: z.number().int().min(400).max(599).default(503),
  body: z.unknown().optional(),
  /** ... after waiting this long; with `status` omitted and delayMs set, the call is only delayed. */
  delayMs: z.number().int().min(0).max(120_000).default(0),
  delayOnly: z.boolean().default(false),
  /** Destroy the connection instead of answering (a network fault). */
  reset: z.boolean().default(false),
  /** How many matching calls to affect; 0 = every call until cleared. */
  count: z.number().int().min(0).default(1),
  /** Let this many matching calls through first. */
  skip: z.number().int().min(0).default(0),
  /** Affect a fraction of matching calls (0..1), for chaos tests; counts still apply. */
  probability: z.number().min(0).max(1).default(1),
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

interface ActiveRule extends FaultRule {
  id: number;
  seen: number;
  hits: number;
}

const trim = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

export const faultsPlugin = fp(
  async (app: FastifyInstance) => {
    let rules: ActiveRule[] = [];
    let nextId = 1;

    app.addHook('onRequest', async (req, reply) => {
      if (rules.length === 0 || req.url.startsWith('/__faults')) return;
      const pattern = trim(req.routeOptions.url ?? '');
      const pathname = trim(req.url.split('?')[0] ?? '');
      for (const rule of rules) {
        if (rule.method && rule.method !== req.method) continue;
        const route = trim(rule.route);
        if (route !== pattern && route !== pathname) continue;
        rule.seen += 1;
        if (rule.seen <= rule.skip) continue;
        if (rule.count > 0 && rule.hits >= rule.count) continue;
        if (rule.probability < 1 && Math.random() >= rule.probability) continue;
        rule.hits += 1;
        if (rule.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
        if (rule.reset) {
          req.raw.socket.destroy();
          return reply;
        }
        if (rule.delayOnly) return;
        throw new HttpError(rule.status, rule.body ?? { detail: `Injected fault: ${rule.status}` });
      }
    });

    app.post('/__faults', { schema: { hide: true } }, async (req, reply) => {
      const parsed = z.union([faultRuleSchema, z.array(faultRuleSchema)]).safeParse(req.body);
      if (!parsed.success) return reply.code(400).send({ detail: parsed.error.message });
      const added = (Array.isArray(parsed.data) ? parsed.data : [parsed.data]).map((r) => ({
        ...r,
        id: nextId++,
        seen: 0,
        hits: 0,
      }));
      rules.push(...added);
      return reply.code(201).send(added);
    });
    app.get('/__faults', { schema: { hide: true } }, async () => rules);
    app.delete('/__faults', { schema: { hide: true } }, async (_req, reply) => {
      rules = [];
      return reply.code(204).send();
    });
  },
  { name: 'faults' },
);
