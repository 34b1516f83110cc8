import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '../../src/lib/config';
import { startTestStack, type TestStack } from '../helpers/stack';
import { buildFuzzWorld, type FuzzWorld } from './fixture';
import { describeFinding, type FuzzReport, fuzzApp, type OpenapiDoc } from './openapi-fuzzer';

/**
 * Every operation of every app's OpenAPI document, fuzzed against the running stack: no 5xx, no
 * hang, every answer's status documented and its body matching the documented schema.
 *
 * Bounded in `npm test` (FUZZ_RUNS requests per operation, default 10); `npm run fuzz` runs longer
 * (FUZZ_RUNS, default 200). Each run prints its seed; FUZZ_SEED=<seed> repeats it.
 */
const LONG = process.env.FUZZ_LONG === '1';
const RUNS = Number(process.env.FUZZ_RUNS ?? (LONG ? 200 : 10));
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Generous: the machine is shared, and a request that never answers is what this catches. */
const TIMEOUT_MS = 30_000;
const APPS: Array<ServiceName | 'api'> = ['lms', 'license-manager', 'catalog', 'subsidy', 'api'];

let stack: TestStack;
let world: FuzzWorld;
const reports: Array<[string, FuzzReport]> = [];

beforeAll(async () => {
  // Short waits: a redemption or provisioning still running answers its documented 202 at once.
  stack = await startTestStack({ env: { REDEMPTION_WAIT_SECONDS: '2', PROVISIONING_WAIT_SECONDS: '2' } });
  world = await buildFuzzWorld(stack);
  console.log(`fuzz: seed ${SEED}, ${RUNS} requests per operation (FUZZ_SEED=${SEED} repeats this run)`);
});
afterAll(async () => {
  for (const [app, r] of reports) {
    console.log(
      `fuzz ${app}: ${r.operations} operations, ${r.requests} requests in ${r.ms} ms, statuses ${JSON.stringify(r.byStatus)}`,
    );
  }
  await stack?.close();
});

describe('OpenAPI fuzzing: no 5xx, no hang, every answer as documented', () => {
  for (const app of APPS) {
    it(
      `${app}: every operation`,
      async () => {
        const baseUrl = app === 'api' ? stack.apiUrl : stack.urls[app];
        const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenapiDoc;
        const report = await fuzzApp({
          baseUrl,
          doc,
          tokens: world.tokens,
          known: world.known,
          uuidByPath: world.uuidByPath,
          runsPerOperation: RUNS,
          seed: SEED,
          timeoutMs: TIMEOUT_MS,
        });
        reports.push([app, report]);
        expect(report.operations).toBeGreaterThan(0);
        const problems = report.findings.map(describeFinding).join('\n\n');
        // The whole list, for a run with many findings (the assertion message is cut short).
        mkdirSync('.test-results', { recursive: true });
        writeFileSync(`.test-results/fuzz-${app}.txt`, `seed ${SEED}\n\n${problems}\n`);
        expect(problems, `seed ${SEED}`).toBe('');
      },
      LONG ? 3_600_000 : 120_000,
    );
  }
});
