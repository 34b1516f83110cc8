import { z } from 'zod';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal } from '../../lib/fastify/auth';

const meSchema = z.object({
  user_id: z.number().int().nullable(),
  email: z.string().nullable(),
  roles: z.array(z.string()),
  administrator: z.boolean(),
});

/** Who the token says the caller is: the cheapest authenticated route (also a benchmark baseline). */
export function meRoutes(app: ZodApp) {
  app.get(
    '/api/v1/me',
    {
      schema: {
        summary: 'The authenticated caller, as the token describes it',
        tags: ['system'],
        response: { 200: meSchema },
      },
    },
    async (req) => {
      const p = requirePrincipal(req);
      return {
        user_id: p.userId ?? null,
        email: p.email ?? null,
        roles: p.roles.map((r) => `${r.role}:${r.context}`),
        administrator: p.administrator,
      };
    },
  );
}
