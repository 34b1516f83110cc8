import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createVerifier,
  hasRole,
  holdsRoleSomewhere,
  type Principal,
  parseRole,
  resolveJwtSecret,
  roleContexts,
  roleStringSchema,
  signToken,
  TokenError,
} from '../../src/lib/jwt';

const SECRET = 'test-secret-0123456789abcdef';
const ISSUER = 'enterprise-access-test';
const CUSTOMER = '8f3c2a1e-4b5d-4c6e-9f70-123456789abc';
const OTHER_CUSTOMER = '11111111-2222-4333-8444-555555555555';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Awaits the promise and returns the TokenError it rejects with (fails the test otherwise). */
async function tokenError(promise: Promise<unknown>): Promise<TokenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenError);
  return err as TokenError;
}

function principal(roles: string[], administrator = false): Principal {
  return { roles: roles.map(parseRole), administrator, claims: {} };
}

describe('HS256 tokens', () => {
  const verify = createVerifier({ secret: SECRET, issuer: ISSUER });

  it('round-trips roles, user_id, email and username', async () => {
    const token = await signToken(SECRET, ISSUER, {
      roles: [`enterprise_admin:${CUSTOMER}`, 'enterprise_learner:*'],
      userId: 42,
      email: 'admin@example.com',
      username: 'admin',
    });
    expect(token.split('.')).toHaveLength(3);
    const p = await verify(token);
    expect(p.userId).toBe(42);
    expect(p.email).toBe('admin@example.com');
    expect(p.username).toBe('admin');
    expect(p.administrator).toBe(false);
    expect(p.roles).toEqual([
      { role: 'enterprise_admin', context: CUSTOMER },
      { role: 'enterprise_learner', context: '*' },
    ]);
    expect(p.claims).toMatchObject({ iss: ISSUER, user_id: 42, email: 'admin@example.com' });
    expect(typeof p.claims.exp).toBe('number');
    expect(typeof p.claims.iat).toBe('number');
  });

  it('defaults to an 8-hour lifetime and honours expiresIn', async () => {
    const defaultLife = await verify(await signToken(SECRET, ISSUER, { roles: [] }));
    expect((defaultLife.claims.exp ?? 0) - (defaultLife.claims.iat ?? 0)).toBe(8 * 3600);
    const short = await verify(await signToken(SECRET, ISSUER, { roles: [], expiresIn: 60 }));
    expect((short.claims.exp ?? 0) - (short.claims.iat ?? 0)).toBe(60);
  });

  it('leaves optional claims out and carries the administrator flag', async () => {
    const p = await verify(await signToken(SECRET, ISSUER, { roles: [], administrator: true }));
    expect(p.userId).toBeUndefined();
    expect(p.email).toBeUndefined();
    expect(p.username).toBeUndefined();
    expect(p.roles).toEqual([]);
    expect(p.administrator).toBe(true);
  });

  it("rejects a token signed with another secret: 'Error decoding signature.'", async () => {
    const token = await signToken('another-secret-0123456789', ISSUER, { roles: ['enterprise_admin:*'] });
    const err = await tokenError(verify(token));
    expect(err.message).toBe('Error decoding signature.');
    expect(err.name).toBe('TokenError');
  });

  it("rejects a token whose payload was tampered with: 'Error decoding signature.'", async () => {
    const [header, , signature] = (await signToken(SECRET, ISSUER, { roles: [] })).split('.');
    const forged = `${header}.${b64url({ iss: ISSUER, roles: ['enterprise_provisioning_admin:*'] })}.${signature}`;
    expect((await tokenError(verify(forged))).message).toBe('Error decoding signature.');
  });

  it("rejects an expired token (past exp): 'Signature has expired.'", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 60)
      .sign(new TextEncoder().encode(SECRET));
    expect((await tokenError(verify(token))).message).toBe('Signature has expired.');
  });

  it("rejects a signToken token once expiresIn has passed: 'Signature has expired.'", async () => {
    const token = await signToken(SECRET, ISSUER, { roles: [], expiresIn: 1 });
    await expect(verify(token)).resolves.toBeDefined();
    await new Promise((r) => setTimeout(r, 2100));
    expect((await tokenError(verify(token))).message).toBe('Signature has expired.');
  }, 10_000);

  it('refuses a token without exp unless told not to (JWT_REQUIRE_EXP=false, tests only)', async () => {
    const token = await new SignJWT({ roles: ['enterprise_openedx_operator:*'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setIssuedAt()
      .sign(new TextEncoder().encode(SECRET));
    const err = await tokenError(verify(token));
    expect(err.message).toMatch(/^Invalid token: /);
    expect(err.message).toContain('exp');
    const lax = createVerifier({ secret: SECRET, issuer: ISSUER, requireExp: false });
    expect((await lax(token)).roles).toEqual([{ role: 'enterprise_openedx_operator', context: '*' }]);
  });

  it('rejects a token from another issuer', async () => {
    const token = await signToken(SECRET, 'someone-else', { roles: ['enterprise_admin:*'] });
    const err = await tokenError(verify(token));
    expect(err.message).toMatch(/^Invalid token: /);
    expect(err.message).toContain('iss');
  });

  it('checks the audience when one is configured', async () => {
    const withAudience = createVerifier({ secret: SECRET, issuer: ISSUER, audience: 'enterprise' });
    const good = await signToken(SECRET, ISSUER, { roles: [], userId: 7 }, 'enterprise');
    expect((await withAudience(good)).userId).toBe(7);
    const wrong = await signToken(SECRET, ISSUER, { roles: [] }, 'elsewhere');
    expect((await tokenError(withAudience(wrong))).message).toContain('aud');
    const none = await signToken(SECRET, ISSUER, { roles: [] });
    expect((await tokenError(withAudience(none))).message).toContain('aud');
  });

  it.each(['garbage', '', 'a.b.c', 'not.a.token.at.all'])("rejects %j: 'Error decoding token.'", async (token) => {
    expect((await tokenError(verify(token))).message).toBe('Error decoding token.');
  });

  it('rejects an unsigned (alg: none) token', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({
      iss: ISSUER,
      roles: ['enterprise_provisioning_admin:*'],
      administrator: true,
      exp: Math.floor(Date.now() / 1000) + 3600,
    })}.`;
    const err = await tokenError(verify(token));
    expect(err.message).toBe('Unsupported token algorithm none.');
  });

  it('rejects an RS256 token when no JWKS is configured', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(ISSUER)
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await tokenError(verify(token))).message).toBe('Unsupported token algorithm RS256.');
  });

  it('reads a null or missing user_id as no user id (never 0)', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
    expect((await verify(await sign({ roles: [], user_id: null }))).userId).toBeUndefined();
    expect((await verify(await sign({ roles: [] }))).userId).toBeUndefined();
    expect((await verify(await sign({ roles: [], user_id: '12' }))).userId).toBe(12);
  });

  it('rejects claims of the wrong shape', async () => {
    const token = await new SignJWT({ roles: 'enterprise_admin:*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    expect((await tokenError(verify(token))).message).toBe('Invalid token claims.');
  });
});

describe('RS256 tokens via a real JWKS endpoint', () => {
  const kid = 'test-key-1';
  let server: http.Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let requests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
    server = http.createServer((req, res) => {
      requests += 1;
      if (req.url !== '/oauth2/jwks') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/jwks`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const rsToken = (key: CryptoKey, claims: Record<string, unknown>, keyId = kid) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: keyId })
      .setIssuer('https://lms.example.com/oauth2')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);

  it('verifies a token signed with the published key and returns its roles', async () => {
    const verify = createVerifier({ secret: SECRET, issuer: ISSUER, jwksUrl });
    const token = await rsToken(privateKey, {
      roles: [`enterprise_admin:${CUSTOMER}`, 'enterprise_openedx_operator:*'],
      user_id: '99',
      email: 'op@example.com',
      preferred_username: 'operator',
    });
    const p = await verify(token);
    expect(requests).toBeGreaterThan(0);
    expect(p.roles).toEqual([
      { role: 'enterprise_admin', context: CUSTOMER },
      { role: 'enterprise_openedx_operator', context: '*' },
    ]);
    expect(p.userId).toBe(99);
    expect(p.email).toBe('op@example.com');
    expect(p.username).toBe('operator');
    expect(p.administrator).toBe(false);
    expect(hasRole(p, ['enterprise_admin'], CUSTOMER)).toBe(true);
    expect(hasRole(p, ['enterprise_admin'], OTHER_CUSTOMER)).toBe(false);
  });

  it('still accepts HS256 tokens when a JWKS is configured', async () => {
    const verify = createVerifier({ secret: SECRET, issuer: ISSUER, jwksUrl });
    const p = await verify(await signToken(SECRET, ISSUER, { roles: ['enterprise_learner:*'], userId: 5 }));
    expect(p.userId).toBe(5);
  });

  it('rejects a token signed by another RSA key under the same kid', async () => {
    const verify = createVerifier({ secret: SECRET, issuer: ISSUER, jwksUrl });
    const other = await generateKeyPair('RS256');
    const err = await tokenError(verify(await rsToken(other.privateKey, { roles: ['enterprise_admin:*'] })));
    expect(err.message).toBe('Error decoding signature.');
  });

  it('rejects a token signed by a key the JWKS does not publish', async () => {
    const verify = createVerifier({ secret: SECRET, issuer: ISSUER, jwksUrl });
    const other = await generateKeyPair('RS256');
    const err = await tokenError(
      verify(await rsToken(other.privateKey, { roles: ['enterprise_admin:*'] }, 'unknown-kid')),
    );
    expect(err.message).toMatch(/^Invalid token: /);
  });

  it('rejects an expired RS256 token', async () => {
    const verify = createVerifier({ secret: SECRET, issuer: ISSUER, jwksUrl });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(privateKey);
    expect((await tokenError(verify(token))).message).toBe('Signature has expired.');
  });
});

describe('parseRole', () => {
  it('splits role and context at the first colon', () => {
    expect(parseRole('enterprise_admin:*')).toEqual({ role: 'enterprise_admin', context: '*' });
    expect(parseRole(`enterprise_admin:${CUSTOMER}`)).toEqual({ role: 'enterprise_admin', context: CUSTOMER });
    expect(parseRole('a:b:c')).toEqual({ role: 'a', context: 'b:c' });
  });

  it('gives an empty context when there is none', () => {
    expect(parseRole('enterprise_learner')).toEqual({ role: 'enterprise_learner', context: '' });
  });
});

describe('hasRole', () => {
  it('grants a `*` role for any context', () => {
    const p = principal(['enterprise_admin:*']);
    expect(hasRole(p, ['enterprise_admin'], CUSTOMER)).toBe(true);
    expect(hasRole(p, ['enterprise_admin'], OTHER_CUSTOMER)).toBe(true);
    expect(hasRole(p, ['enterprise_admin'])).toBe(true);
  });

  it('grants a role for its exact context only', () => {
    const p = principal([`enterprise_admin:${CUSTOMER}`]);
    expect(hasRole(p, ['enterprise_admin'], CUSTOMER)).toBe(true);
    expect(hasRole(p, ['enterprise_admin'], OTHER_CUSTOMER)).toBe(false);
  });

  it('refuses a context-specific role when no context is asked for (a global action needs `*`)', () => {
    expect(hasRole(principal([`enterprise_admin:${CUSTOMER}`]), ['enterprise_admin'])).toBe(false);
    expect(hasRole(principal([`enterprise_openedx_operator:${CUSTOMER}`]), ['enterprise_openedx_operator'])).toBe(
      false,
    );
    expect(holdsRoleSomewhere(principal([`enterprise_admin:${CUSTOMER}`]), ['enterprise_admin'])).toBe(true);
  });

  it('does not treat an operator scoped to one customer as an operator of the others', () => {
    const p = principal([`enterprise_openedx_operator:${CUSTOMER}`]);
    expect(hasRole(p, ['enterprise_openedx_operator'], CUSTOMER)).toBe(true);
    expect(hasRole(p, ['enterprise_openedx_operator'], OTHER_CUSTOMER)).toBe(false);
    expect(roleContexts(p, ['enterprise_openedx_operator'])).toEqual([CUSTOMER]);
    expect(roleContexts(principal(['enterprise_openedx_operator:*']), ['enterprise_openedx_operator'])).toBe('*');
  });

  it('matches uuid contexts in any case and with or without hyphens', () => {
    const p = principal([`enterprise_admin:${CUSTOMER.toUpperCase()}`]);
    expect(hasRole(p, ['enterprise_admin'], CUSTOMER)).toBe(true);
    expect(hasRole(p, ['enterprise_admin'], CUSTOMER.replaceAll('-', ''))).toBe(true);
  });

  it('refuses a role the principal does not hold', () => {
    const p = principal(['enterprise_learner:*']);
    expect(hasRole(p, ['enterprise_admin'], CUSTOMER)).toBe(false);
    expect(hasRole(p, ['enterprise_admin', 'enterprise_provisioning_admin'])).toBe(false);
    expect(hasRole(principal([]), ['enterprise_learner'])).toBe(false);
  });

  it('accepts any of several roles', () => {
    const p = principal([`enterprise_learner:${CUSTOMER}`]);
    expect(hasRole(p, ['enterprise_admin', 'enterprise_learner'], CUSTOMER)).toBe(true);
  });

  it('lets an administrator bypass every check', () => {
    const admin = principal([], true);
    expect(hasRole(admin, ['enterprise_provisioning_admin'])).toBe(true);
    expect(hasRole(admin, ['enterprise_admin'], OTHER_CUSTOMER)).toBe(true);
    expect(hasRole(admin, [])).toBe(true);
  });
});

describe('roleStringSchema', () => {
  it.each(['enterprise_admin:*', `enterprise_admin:${CUSTOMER}`, 'enterprise_learner:abc123', 'x:slug.with-dots_1'])(
    'accepts %s',
    (value) => {
      expect(roleStringSchema.safeParse(value).success).toBe(true);
    },
  );

  it.each(['enterprise_admin', 'enterprise_admin:', ':*', 'Enterprise_Admin:*', 'enterprise admin:*', 'a:b c', ''])(
    'rejects %j',
    (value) => {
      const result = roleStringSchema.safeParse(value);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe('expected <role>:<context>, e.g. enterprise_admin:*');
    },
  );
});

describe('resolveJwtSecret', () => {
  const tmpDirs: string[] = [];
  const tmp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwt-secret-test-'));
    tmpDirs.push(dir);
    return dir;
  };

  afterAll(() => {
    for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates <dataDir>/jwt-secret once and returns the same secret afterwards', () => {
    const dir = tmp();
    const file = path.join(dir, 'jwt-secret');
    expect(fs.existsSync(file)).toBe(false);
    const first = resolveJwtSecret(undefined, dir);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(first);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const mtime = fs.statSync(file).mtimeMs;
    expect(resolveJwtSecret(undefined, dir)).toBe(first);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it('creates a missing data directory', () => {
    const dir = path.join(tmp(), 'nested', 'data');
    const secret = resolveJwtSecret(undefined, dir);
    expect(fs.readFileSync(path.join(dir, 'jwt-secret'), 'utf8').trim()).toBe(secret);
  });

  it('generates a different secret for a different data directory', () => {
    expect(resolveJwtSecret(undefined, tmp())).not.toBe(resolveJwtSecret(undefined, tmp()));
  });

  it('refuses an empty or too short secret file with a message saying what to do', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'jwt-secret'), '\n');
    expect(() => resolveJwtSecret(undefined, dir)).toThrow(/delete it to have a new one generated, or set JWT_SECRET/);
  });

  it('reuses a secret already on disk', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'jwt-secret'), 'existing-secret-value\n');
    expect(resolveJwtSecret(undefined, dir)).toBe('existing-secret-value');
  });

  it('prefers an explicit secret and writes nothing', () => {
    const dir = tmp();
    expect(resolveJwtSecret('explicit-secret-123456', dir)).toBe('explicit-secret-123456');
    expect(fs.readdirSync(dir)).toEqual([]);
    const missing = path.join(tmp(), 'never-created');
    expect(resolveJwtSecret('explicit-secret-123456', missing)).toBe('explicit-secret-123456');
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('gives a secret that signs and verifies tokens', async () => {
    const secret = resolveJwtSecret(undefined, tmp());
    const p = await createVerifier({ secret, issuer: ISSUER })(
      await signToken(secret, ISSUER, { roles: [], userId: 1 }),
    );
    expect(p.userId).toBe(1);
  });
});
