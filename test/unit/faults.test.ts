import { describe, expect, it } from 'vitest';
import { faultRuleSchema } from '../../src/lib/fastify/faults';

const route = '/enterprise/api/v1/enterprise-customer/';

describe('faultRuleSchema', () => {
  it('fills in the defaults', () => {
    expect(faultRuleSchema.parse({ route })).toEqual({
      route,
      status: 503,
      delayMs: 0,
      delayOnly: false,
      reset: false,
      count: 1,
      skip: 0,
      probability: 1,
    });
  });

  it('keeps the values it is given and upper-cases the method', () => {
    const rule = faultRuleSchema.parse({
      method: 'post',
      route: '/api/v1/subscriptions/:uuid/',
      status: 429,
      body: { detail: 'slow down' },
      delayMs: 250,
      delayOnly: true,
      reset: true,
      count: 0,
      skip: 2,
      probability: 0.5,
    });
    expect(rule).toEqual({
      method: 'POST',
      route: '/api/v1/subscriptions/:uuid/',
      status: 429,
      body: { detail: 'slow down' },
      delayMs: 250,
      delayOnly: true,
      reset: true,
      count: 0,
      skip: 2,
      probability: 0.5,
    });
  });

  it.each([400, 404, 500, 599])('accepts status %i', (status) => {
    expect(faultRuleSchema.parse({ route, status }).status).toBe(status);
  });

  it.each([200, 204, 302, 399, 600, 503.5])('rejects status %s', (status) => {
    const result = faultRuleSchema.safeParse({ route, status });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['status']]);
  });

  it.each(['api/v1/x/', '', 'http://host/api/', ' /api/'])('rejects route %j without a leading slash', (value) => {
    const result = faultRuleSchema.safeParse({ route: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['route']]);
  });

  it('requires a route', () => {
    const result = faultRuleSchema.safeParse({ status: 500 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['route']]);
  });

  it.each([
    ['delayMs', -1],
    ['delayMs', 120_001],
    ['count', -1],
    ['count', 1.5],
    ['skip', -1],
    ['probability', 1.1],
    ['probability', -0.1],
  ])('rejects %s=%s', (field, value) => {
    const result = faultRuleSchema.safeParse({ route, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([[field]]);
  });

  it('accepts the bounds of delayMs and probability', () => {
    expect(faultRuleSchema.parse({ route, delayMs: 120_000, probability: 0 })).toMatchObject({
      delayMs: 120_000,
      probability: 0,
    });
  });
});
