/**
 * Shared pieces of the benchmarks: the local stack in one process (its own Temporal dev server,
 * PostgreSQL when DATABASE_URL is set or in-memory PGlite, every service, the api listening, one
 * worker), a bounded concurrent runner, percentiles, and the docs/benchmarks.md writer.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { request } from 'undici';
import { createActivities } from '../src/activities';
import { buildApi } from '../src/api/app';
import { loadConfig } from '../src/lib/config';
import { type Database, openDatabase } from '../src/lib/db';
import { configuredVerifier, signToken } from '../src/lib/jwt';
import { createLogger } from '../src/lib/logger';
import { serviceTokenSource } from '../src/lib/service-token';
import { installTemporalRuntime } from '../src/lib/temporal';
import { freePort, startDevServer } from '../src/lib/temporal-dev-server';
import { orchestratorDeps } from '../src/orchestrator';
import { startServices } from '../src/services/host';
import { startStandingWorkflows } from '../src/standing-workflows';
import { createWorker } from '../src/worker';
import { SEARCH_ATTRIBUTE_FLAGS } from '../src/workflows/definitions';

export { freePort };

/** The product's workflows plus the benchmarks' baseline workflows (never registered by the product's worker). */
const BENCH_WORKFLOWS = fileURLToPath(new URL('./workflows.ts', import.meta.url));

/** What the benchmarks read from the environment (an entry point's only reads). */
const env = process.env;
export const benchDatabaseUrl = env.DATABASE_URL || undefined;

export async function startBenchStack() {
  const logger = createLogger({ LOG_LEVEL: (env.LOG_LEVEL as 'info') ?? 'warn', NODE_ENV: 'production' });
  installTemporalRuntime(logger);
  const secret = randomBytes(24).toString('hex');
  const dev = await startDevServer({
    port: await freePort(),
    uiPort: 0,
    ui: false,
    fast: true,
    searchAttributes: SEARCH_ATTRIBUTE_FLAGS,
  });
  const database: Database = await openDatabase({ url: benchDatabaseUrl, poolSize: 20 });
  if (benchDatabaseUrl) {
    // A clean slate in the benchmark database: the services' schemas are recreated.
    const { sql } = await import('kysely');
    for (const s of ['lms', 'license_manager', 'catalog', 'subsidy', 'access']) {
      await sql`drop schema if exists ${sql.id(s)} cascade`.execute(database.root);
    }
  }
  const baseEnv = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: secret,
    TEMPORAL_ADDRESS: dev.address,
    PROVISIONING_WAIT_SECONDS: '120',
    REDEMPTION_WAIT_SECONDS: '120',
  };
  const bootConfig = loadConfig(baseEnv);
  const verify = configuredVerifier(bootConfig.env, secret);
  const hosted = await startServices({
    database,
    logger,
    verify,
    faultInjection: false,
    host: '127.0.0.1',
    ports: { lms: 0, 'license-manager': 0, catalog: 0, subsidy: 0 },
    peers: { urls: {}, token: serviceTokenSource(secret, bootConfig.env.JWT_ISSUER) },
  });
  const urls = Object.fromEntries(hosted.map((s) => [s.name, s.url]));
  const config = loadConfig({
    ...baseEnv,
    LMS_URL: urls.lms,
    LICENSE_MANAGER_URL: urls['license-manager'],
    CATALOG_URL: urls.catalog,
    SUBSIDY_URL: urls.subsidy,
  });
  const connection = await Connection.connect({ address: dev.address });
  const client = new Client({ connection });
  const taskQueue = 'bench';
  const orchestrator = await orchestratorDeps(config, database, secret);
  const native = await NativeConnection.connect({ address: dev.address });
  // As in `npm start`: the api's client shares the worker's connection and starts workflows eagerly.
  const eager = !env.NO_EAGER;
  const api = await buildApi({
    logger,
    verify,
    temporal: eager ? new Client({ connection: native }) : client,
    eagerStart: eager,
    taskQueue,
    ...orchestrator,
  });
  const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  const worker: Worker = await createWorker({
    config,
    connection: native,
    orchestrator,
    // The no-op activity of the baseline workflows, beside the product's.
    activities: { ...createActivities(orchestrator), async noop() {} },
    workflowBundle: await bundleWorkflowCode({ workflowsPath: BENCH_WORKFLOWS, logger: quiet }),
    taskQueue,
  });
  const running = worker.run();
  if (!env.NO_STANDING) await startStandingWorkflows(native, config.env.TEMPORAL_NAMESPACE, taskQueue);
  return {
    database,
    /** The orchestrator's records, clients and settings, as the api and the worker use them (for the direct baselines). */
    orchestrator,
    temporalAddress: dev.address,
    client,
    taskQueue,
    apiUrl,
    urls,
    token: (roles: string[], userId?: number) => signToken(secret, config.env.JWT_ISSUER, { roles, userId }),
    async close() {
      await api.close();
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      await Promise.all(hosted.map((s) => s.app.close()));
      await database.close();
      await dev.stop();
    },
  };
}

const noop = () => {};
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

/** Runs `count` calls of `fn` with at most `concurrency` in flight; returns each call's latency (ms). */
export async function runConcurrent(count: number, concurrency: number, fn: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const t0 = performance.now();
        await fn(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies, seconds, throughput: count / seconds };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${
    benchDatabaseUrl ? 'PostgreSQL' : 'PGlite'
  }`;
}

export function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number(env[`BENCH_${name.toUpperCase()}`] ?? fallback);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

export function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : env[`BENCH_${name.toUpperCase()}`];
  return v?.trim() ? v.trim() : fallback;
}

const DOC = new URL('../docs/benchmarks.md', import.meta.url);

/** Replaces (or appends) the section between `<!-- bench:NAME -->` markers in docs/benchmarks.md. */
export function recordSection(name: string, markdown: string) {
  let doc: string;
  try {
    doc = readFileSync(DOC, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nWritten by `npm run bench:*`; each compares against a baseline measured in the same run.\n';
  }
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, doc);
}

export type Json = Record<string, unknown>;

/** One JSON request with a JWT; long timeouts, as a benchmark's slowest answers still count. */
export async function call(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await request(url, {
    method: method as 'GET' | 'POST',
    headers: { authorization: `JWT ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Json) : {} };
}

/** The body of a successful answer, else a thrown error naming `what`. */
export async function must(what: string, p: Promise<{ status: number; body: Json }>, ok = [200, 201, 202]) {
  const r = await p;
  if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}
