import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '../../src/lib/config';
import { startTestStack, type TestStack } from '../helpers/stack';
import type { OpenapiDoc } from './openapi-fuzzer';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
});

type Doc = OpenapiDoc & { info: { title: string }; openapi: string };
const APPS: Array<[ServiceName | 'api', string]> = [
  ['api', 'Enterprise access API'],
  ['lms', 'lms (edx-platform + edx-enterprise)'],
  ['license-manager', 'license-manager'],
  ['catalog', 'enterprise-catalog'],
  ['subsidy', 'enterprise-subsidy (with openedx-ledger)'],
];
const base = (app: ServiceName | 'api') => (app === 'api' ? stack.apiUrl : stack.urls[app]);

describe('every app publishes its OpenAPI document and docs page', () => {
  for (const [app, title] of APPS) {
    it(`${app}: /openapi.json and /docs, every operation with its error answers`, async () => {
      const res = await fetch(`${base(app)}/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Doc;
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info.title).toBe(title);
      expect(Object.keys(doc.paths).filter((p) => p.startsWith('/__faults') || p === '/healthz')).toEqual([]);
      // The shared error shapes are components a generated client knows by name.
      expect(Object.keys(doc.components?.schemas ?? {})).toEqual(
        expect.arrayContaining(['Detail', 'FieldErrors', 'Message', 'WrappedError', 'ViewsetError']),
      );
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(methods)) {
          const statuses = Object.keys(op.responses);
          const name = `${method.toUpperCase()} ${path}`;
          expect(
            statuses.some((s) => s.startsWith('2')),
            name,
          ).toBe(true);
          // Every route answers a bad token with 401, in a documented shape.
          expect(op.responses['401']?.content?.['application/json']?.schema, name).toBeDefined();
        }
      }
      const page = await fetch(`${base(app)}/docs/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('swagger');
    });
  }

  it('documents each error with its shape: DRF field maps, {detail}, bare strings, wrapped and viewset errors', async () => {
    const lm = (await (await fetch(`${base('license-manager')}/openapi.json`)).json()) as Doc;
    const refs = (op: { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }, s: string) =>
      JSON.stringify(op.responses[s]?.content?.['application/json']?.schema ?? null);
    const activation = lm.paths['/api/v1/license-activation']?.post;
    expect(activation && refs(activation, '404')).toContain('#/components/schemas/Message');
    const plan = lm.paths['/api/v1/provisioning-admins/subscriptions']?.post;
    expect(plan && refs(plan, '400')).toContain('#/components/schemas/WrappedError');
    const subsidy = (await (await fetch(`${base('subsidy')}/openapi.json`)).json()) as Doc;
    const retrieve = subsidy.paths['/api/v1/subsidies/{uuid}']?.get;
    expect(retrieve && refs(retrieve, '403')).toContain('#/components/schemas/ViewsetError');
    const reserve = subsidy.paths['/api/v2/subsidies/{uuid}/admin/transactions']?.post;
    expect(reserve && refs(reserve, '422')).toContain('#/components/schemas/CodedDetail');
    expect(reserve && refs(reserve, '400')).toContain('#/components/schemas/FieldErrors');
    // A body the handler parses itself is documented all the same.
    expect(reserve?.requestBody?.content?.['application/json']?.schema).toMatchObject({
      properties: { lms_user_id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
    });
  });
});
