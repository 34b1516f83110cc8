import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/lib/jwt';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
});

const lms = (path: string, init: RequestInit = {}) => fetch(`${stack.urls.lms}${path}`, init);
const json = (token: string, body: unknown, method = 'POST'): RequestInit => ({
  method,
  headers: { authorization: `JWT ${token}`, 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('auth (every app): edx JWT in the upstream format', () => {
  it('accepts `JWT <token>` and `Bearer <token>`', async () => {
    const token = await stack.token({ roles: ['enterprise_admin:*'], userId: 7, email: 'ada@example.com' });
    for (const scheme of ['JWT', 'Bearer']) {
      const res = await stack.api.inject({ url: '/api/v1/me', headers: { authorization: `${scheme} ${token}` } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        user_id: 7,
        email: 'ada@example.com',
        roles: ['enterprise_admin:*'],
        administrator: false,
      });
    }
  });

  it('401 without a token, with a forged token, an expired token or a malformed header', async () => {
    const forged = await signToken('another-secret-of-sufficient-length', stack.config.env.JWT_ISSUER, {
      roles: ['enterprise_openedx_operator:*'],
    });
    const expired = await signToken(stack.config.env.JWT_SECRET as string, stack.config.env.JWT_ISSUER, {
      roles: [],
      expiresIn: -10,
    });
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'Authentication credentials were not provided.'],
      [`JWT ${forged}`, 'Error decoding signature.'],
      [`JWT ${expired}`, 'Signature has expired.'],
      ['JWT not-a-token', 'Error decoding token.'],
      ['Basic dXNlcjpwYXNz', 'Invalid Authorization header. Expected "JWT <token>" or "Bearer <token>".'],
    ];
    for (const [authorization, detail] of cases) {
      const res = await stack.api.inject({ url: '/api/v1/me', headers: authorization ? { authorization } : {} });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.json()).toEqual({ detail });
    }
  });

  it('403 for a role that does not grant the route, checked before the body is validated', async () => {
    const learner = await stack.token({ roles: ['enterprise_learner:*'] });
    const res = await lms('/api/user/v1/accounts', json(learner, {}));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ detail: 'You do not have permission to perform this action.' });
  });
});

describe('errors: the upstream (DRF) shapes, never a 500 for bad input', () => {
  it('400 with field errors naming each field', async () => {
    const token = await stack.operatorToken();
    const res = await lms('/api/user/v1/accounts', json(token, { email: 'not-an-email', username: '!' }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string[]>;
    expect(Object.keys(body).sort()).toEqual(['email', 'username']);
    expect(body.username).toEqual(['Usernames may contain letters, digits and _.@+- only.']);

    const missing = await lms('/api/user/v1/accounts', json(token, {}));
    expect(await missing.json()).toEqual({ email: ['This field is required.'] });
  });

  it('400 for malformed JSON, 415 for an unsupported content type, 404 in the DRF shape', async () => {
    const token = await stack.operatorToken();
    const bad = await lms('/api/user/v1/accounts', json(token, '{"email":'));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/^JSON parse error - /);

    const xml = await lms('/api/user/v1/accounts', {
      method: 'POST',
      headers: { authorization: `JWT ${token}`, 'content-type': 'application/xml' },
      body: '<a/>',
    });
    expect(xml.status).toBe(415);

    const missing = await lms('/no/such/path');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Not found.' });
  });

  it('400, not 500, for text the database refuses (a NUL character)', async () => {
    const token = await stack.operatorToken();
    const res = await fetch(`${stack.urls.lms}/enterprise/api/v1/enterprise-customer/`, {
      method: 'POST',
      headers: { authorization: `JWT ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Nul\u0000Co', slug: 'nul-co', country: 'US' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: 'Text fields may not contain NUL (\\u0000) characters.' });
  });

  it('get-or-create by email is idempotent and case-insensitive, also under concurrency', async () => {
    const token = await stack.operatorToken();
    const results = await Promise.all(
      ['Grace@Example.com', 'grace@example.com', 'GRACE@EXAMPLE.COM', 'grace@example.com'].map((email) =>
        lms('/api/user/v1/accounts', json(token, { email })),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    const ids = new Set(await Promise.all(results.map(async (r) => ((await r.json()) as { id: number }).id)));
    expect(ids.size).toBe(1);
    const found = await lms('/api/user/v1/accounts?email=GRACE@example.com', {
      headers: { authorization: `JWT ${token}` },
    });
    expect(((await found.json()) as unknown[]).length).toBe(1);
  });
});

describe('api: OpenAPI document and docs page', () => {
  it('serves /openapi.json generated from the zod schemas and the /docs page', async () => {
    const doc = await stack.api.inject({ url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    const spec = doc.json() as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.paths['/api/v1/me']).toBeDefined();
    expect(spec.paths['/__faults']).toBeUndefined();
    // Only the public contract: the worker writes its records itself, there are no internal routes.
    expect(Object.keys(spec.paths).filter((p) => p.includes('internal'))).toEqual([]);
    const page = await stack.api.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger');
  });

  it('/healthz answers 200 with the database reachable', async () => {
    const res = await stack.api.inject({ url: '/healthz' });
    expect(res.json()).toEqual({ status: 'ok', service: 'api' });
  });
});
