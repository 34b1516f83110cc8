import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { inColumn } from './drf/fields';

/**
 * Tokens in the edx JWT format: `roles` is a list of `role:context` strings
 * (`enterprise_admin:<customer uuid>`, `enterprise_provisioning_admin:*`), with `user_id` and
 * `email` identifying the caller. Local tokens are HS256; real deployments verify RS256 tokens
 * against the identity provider's JWKS.
 */
/**
 * The provisioning service user and support operators: who may provision customers
 * (enterprise-access's `provisioning_admin` feature role) and call the services' operator routes.
 */
export const OPERATOR_ROLES = ['enterprise_provisioning_admin', 'enterprise_openedx_operator'] as const;

export interface RoleGrant {
  role: string;
  /** A customer uuid, or `*` for every customer. */
  context: string;
}

export interface Principal {
  userId?: number;
  email?: string;
  username?: string;
  roles: RoleGrant[];
  /** edx `administrator` claim: superuser, bypasses role checks. */
  administrator: boolean;
  claims: JWTPayload;
}

export const roleStringSchema = z
  .string()
  .regex(/^[a-z_]+:(\*|[0-9a-fA-F-]{1,64}|[A-Za-z0-9_.-]+)$/, 'expected <role>:<context>, e.g. enterprise_admin:*');

export function parseRole(value: string): RoleGrant {
  const i = value.indexOf(':');
  return i < 0 ? { role: value, context: '' } : { role: value.slice(0, i), context: value.slice(i + 1) };
}

/**
 * Role contexts compare as edx-rbac compares them, except that uuids match in any case and with
 * or without hyphens (a JWT may carry either form).
 */
function sameContext(grant: string, wanted: string): boolean {
  if (grant === wanted) return true;
  const canonical = (c: string) => {
    const hex = c.replaceAll('-', '').toLowerCase();
    return /^[0-9a-f]{32}$/.test(hex) ? hex : c;
  };
  return canonical(grant) === canonical(wanted);
}

/**
 * True when the principal holds one of `roles` for `context`: a grant for that very context, or
 * for `*` (edx-rbac's ALL_ACCESS_CONTEXT). Without a context (an action on no one customer, or on
 * all of them, such as creating a customer or listing everything) only a `*` grant counts: a role
 * scoped to a customer is valid for that customer alone, so `enterprise_openedx_operator:<uuid>`
 * is not `enterprise_openedx_operator:*`. edx `administrator`s pass every check.
 */
export function hasRole(p: Principal, roles: readonly string[], context?: string): boolean {
  if (p.administrator) return true;
  return p.roles.some(
    (g) => roles.includes(g.role) && (g.context === '*' || (context !== undefined && sameContext(g.context, context))),
  );
}

/**
 * The contexts for which the principal holds one of `roles` (edx-rbac's accessible contexts):
 * `*` when any grant is for every context (or the principal is an administrator), else the
 * customers the grants name. For listings, which show only those customers' records.
 */
export function roleContexts(p: Principal, roles: readonly string[]): '*' | string[] {
  if (p.administrator) return '*';
  const contexts = p.roles.filter((g) => roles.includes(g.role) && g.context !== '').map((g) => g.context);
  return contexts.includes('*') ? '*' : [...new Set(contexts)];
}

/**
 * True when the principal holds one of `roles` for some context. Only a first gate before the
 * record that names the customer is read: the route must then check `hasRole` with that customer.
 */
export const holdsRoleSomewhere = (p: Principal, roles: readonly string[]): boolean => {
  const contexts = roleContexts(p, roles);
  return contexts === '*' || contexts.length > 0;
};

export interface TokenClaims {
  roles: string[];
  userId?: number;
  email?: string;
  username?: string;
  administrator?: boolean;
  /** Seconds; default 8 hours. */
  expiresIn?: number;
}

export async function signToken(secret: string, issuer: string, claims: TokenClaims, audience?: string) {
  const jwt = new SignJWT({
    roles: claims.roles,
    ...(claims.userId !== undefined ? { user_id: claims.userId } : {}),
    ...(claims.email ? { email: claims.email } : {}),
    ...(claims.username ? { preferred_username: claims.username } : {}),
    administrator: claims.administrator ?? false,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime(`${claims.expiresIn ?? 8 * 3600}s`);
  if (audience) jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface VerifierOptions {
  secret: string;
  issuer: string;
  audience?: string;
  jwksUrl?: string;
  /**
   * Refuse tokens without an `exp` claim (default true), as edx-drf-extensions does: a token that
   * never expires cannot be revoked. `JWT_REQUIRE_EXP=false` turns it off, outside production only.
   */
  requireExp?: boolean;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/** The verifier the configuration describes (JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS_URL, JWT_REQUIRE_EXP). */
export const configuredVerifier = (
  env: { JWT_ISSUER: string; JWT_AUDIENCE?: string; JWT_JWKS_URL?: string; JWT_REQUIRE_EXP: boolean },
  secret: string,
): TokenVerifier =>
  createVerifier({
    secret,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    jwksUrl: env.JWT_JWKS_URL,
    requireExp: env.JWT_REQUIRE_EXP,
  });

const claimsSchema = z.object({
  roles: z.array(z.string()).default([]),
  // An lms user id lands in `integer` columns of every service: one outside it is not a valid claim.
  user_id: z
    .union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)])
    .refine((n) => inColumn('integer', n, { min: 0 }))
    .nullish()
    .transform((v) => v ?? undefined),
  email: z.string().optional(),
  preferred_username: z.string().optional(),
  administrator: z.boolean().default(false),
});

export function createVerifier(opts: VerifierOptions): TokenVerifier {
  const key = new TextEncoder().encode(opts.secret);
  const jwks = opts.jwksUrl ? createRemoteJWKSet(new URL(opts.jwksUrl)) : undefined;
  const requiredClaims = opts.requireExp === false ? [] : ['exp'];
  return async (token) => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenError('Error decoding token.');
    }
    try {
      let payload: JWTPayload;
      if (alg === 'HS256') {
        ({ payload } = await jwtVerify(token, key, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms: ['HS256'],
          requiredClaims,
        }));
      } else if (jwks && (alg === 'RS256' || alg === 'RS512' || alg === 'ES256')) {
        ({ payload } = await jwtVerify(token, jwks, {
          audience: opts.audience,
          algorithms: ['RS256', 'RS512', 'ES256'],
          requiredClaims,
        }));
      } else {
        throw new TokenError(`Unsupported token algorithm ${alg ?? 'none'}.`);
      }
      const c = claimsSchema.safeParse(payload);
      if (!c.success) throw new TokenError('Invalid token claims.');
      return {
        userId: c.data.user_id,
        email: c.data.email,
        username: c.data.preferred_username,
        roles: c.data.roles.map(parseRole),
        administrator: c.data.administrator,
        claims: payload,
      };
    } catch (err) {
      if (err instanceof TokenError) throw err;
      if (err instanceof errors.JWTExpired) throw new TokenError('Signature has expired.');
      if (err instanceof errors.JWSSignatureVerificationFailed) throw new TokenError('Error decoding signature.');
      if (err instanceof errors.JOSEError) throw new TokenError(`Invalid token: ${err.message}`);
      throw err;
    }
  };
}

/** JWT_SECRET if set, else the secret in DATA_DIR/jwt-secret, created on first use. */
export function resolveJwtSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'jwt-secret');
  const read = () => {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 16) {
      throw new Error(`${file} holds no usable secret: delete it to have a new one generated, or set JWT_SECRET.`);
    }
    return secret;
  };
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // `wx`: if another process created it meanwhile, keep theirs.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw err;
  }
}
