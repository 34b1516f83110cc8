import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/lib/fastify/app';
import { createVerifier } from '../../src/lib/jwt';
import { createLogger } from '../../src/lib/logger';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
});

const health = () => fetch(`${stack.urls['license-manager']}/healthz`);

describe('fault injection plugin (test-only)', () => {
  it('fails the next N calls to a route with the chosen status, then lets calls through', async () => {
    const faults = stack.faults('license-manager');
    await faults.add({ route: '/healthz', status: 502, count: 2 });
    expect((await health()).status).toBe(502);
    expect((await health()).status).toBe(502);
    expect((await health()).status).toBe(200);
    const [rule] = await faults.list();
    expect(rule).toMatchObject({ hits: 2, seen: 3, status: 502 });
    await faults.clear();
    expect(await faults.list()).toEqual([]);
  });

  it('matches by route pattern and method, skips the first calls when asked, and can only delay', async () => {
    const faults = stack.faults('lms');
    const token = await stack.operatorToken();
    await faults.add({ method: 'POST', route: '/api/user/v1/accounts/', status: 503, count: 1, skip: 1 });
    const post = () =>
      fetch(`${stack.urls.lms}/api/user/v1/accounts`, {
        method: 'POST',
        headers: { authorization: `JWT ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'skip@example.com' }),
      });
    expect((await post()).status).toBe(201);
    expect((await post()).status).toBe(503);
    expect((await post()).status).toBe(200);
    await faults.clear();

    await faults.add({ route: '/healthz', delayOnly: true, delayMs: 300, count: 1 });
    const t0 = performance.now();
    const res = await fetch(`${stack.urls.lms}/healthz`);
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    await faults.clear();
  });

  it('drops the connection when asked (a network fault)', async () => {
    await stack.faults('catalog').add({ route: '/healthz', reset: true });
    await expect(fetch(`${stack.urls.catalog}/healthz`)).rejects.toThrow();
    expect((await fetch(`${stack.urls.catalog}/healthz`)).status).toBe(200);
  });

  it('rejects a malformed rule with 400', async () => {
    const res = await fetch(`${stack.urls.lms}/__faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'no-slash', status: 200 }),
    });
    expect(res.status).toBe(400);
  });

  it('does not exist unless enabled by configuration', async () => {
    const app = createHttpApp({
      name: 'plain',
      logger: createLogger({ LOG_LEVEL: 'silent', NODE_ENV: 'test' }),
      verify: createVerifier({ secret: 'x'.repeat(32), issuer: 'i' }),
      faultInjection: false,
    });
    const res = await app.inject({ method: 'POST', url: '/__faults', payload: { route: '/healthz' } });
    expect(res.statusCode).toBe(404);
    await app.close();
  });
});
