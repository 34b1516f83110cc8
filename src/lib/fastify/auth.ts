import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { forbidden, unauthorized } from '../http-errors';
import { hasRole, holdsRoleSomewhere, type Principal, TokenError, type TokenVerifier } from '../jwt';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; null when the request carried no token. */
    principal: Principal | null;
  }
}

/**
 * Reads `Authorization: JWT <token>` (edx) or `Bearer <token>`, verifies it and sets
 * `request.principal`. A request without a token passes through as anonymous (routes decide);
 * a request with a bad token is rejected at once with 401, like edx-drf-extensions does.
 */
export const authPlugin = fp<{ verify: TokenVerifier }>(
  async (app: FastifyInstance, opts) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (req) => {
      const header = req.headers.authorization;
      if (!header) return;
      const m = /^(JWT|Bearer)\s+(\S+)\s*$/i.exec(header);
      if (!m) throw unauthorized('Invalid Authorization header. Expected "JWT <token>" or "Bearer <token>".');
      try {
        req.principal = await opts.verify(m[2] as string);
      } catch (err) {
        if (err instanceof TokenError) throw unauthorized(err.message);
        throw err;
      }
    });
  },
  { name: 'auth' },
);

/** Who asked, for records and the Web UI: the token's username, else its email, else its user id. */
export function callerName(req: FastifyRequest): string {
  const p = req.principal;
  return p?.username ?? p?.email ?? (p?.userId === undefined ? 'anonymous' : `user ${p.userId}`);
}

/** The caller, or 401. */
export function requirePrincipal(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

/**
 * Route hook: 401 without a token, 403 unless the caller holds one of `roles` for the context
 * `contextOf(req)` returns (a customer uuid), or, when there is none, for `*` (see `hasRole`).
 * Register it as `onRequest` so that, as upstream, permission is checked before the body is
 * validated (a forbidden caller with an empty body gets 403, not 400).
 */
export function requireRoles(
  roles: readonly string[],
  contextOf?: (req: FastifyRequest) => string | undefined,
): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const p = requirePrincipal(req);
    if (!hasRole(p, roles, contextOf?.(req))) throw forbidden();
  };
}

/**
 * Route hook: 401 without a token, 403 unless the caller holds one of `roles` for some customer,
 * before the body is read (as upstream checks permission first). Only a first gate: the route then
 * checks the role against the customer of the record it acts on (`hasRole` / `accessTo`).
 */
export const requireRoleSomewhere =
  (roles: readonly string[]) =>
  async (req: FastifyRequest): Promise<void> => {
    if (!holdsRoleSomewhere(requirePrincipal(req), roles)) throw forbidden();
  };
