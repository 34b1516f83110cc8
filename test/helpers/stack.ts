import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { buildApi } from '../../src/api/app';
import { type Config, loadConfig, type ServiceName } from '../../src/lib/config';
import type { App } from '../../src/lib/fastify/app';
import type { FaultRule } from '../../src/lib/fastify/faults';
import { createVerifier, signToken, type TokenClaims } from '../../src/lib/jwt';
import { createLogger } from '../../src/lib/logger';
import { serviceTokenSource } from '../../src/lib/service-token';
import { type OrchestratorDeps, orchestratorDeps } from '../../src/orchestrator';
import { startServices } from '../../src/services/host';
import { ledgerReversalsWorkflowId, startStandingWorkflows } from '../../src/standing-workflows';
import { createWorker } from '../../src/worker';
import { createTestDatabase, type TestDatabase } from './database';

export interface TestStack {
  config: Config;
  db: TestDatabase;
  /** Base URL of each running service. */
  urls: Record<ServiceName, string>;
  /** The orchestrator api, listening on `apiUrl` (`api.inject` works too). */
  api: App;
  apiUrl: string;
  client: Client;
  taskQueue: string;
  worker?: Worker;
  /** The orchestrator's records, clients and settings, as the api and the worker use them. */
  orchestrator: OrchestratorDeps;
  token(claims: Partial<TokenClaims> & { roles: string[] }): Promise<string>;
  /** Operator token, for service calls in tests. */
  operatorToken(): Promise<string>;
  faults(service: ServiceName | 'api'): FaultControl;
  close(): Promise<void>;
}

export interface FaultControl {
  add(rule: Partial<FaultRule> & { route: string }): Promise<void>;
  list(): Promise<Array<FaultRule & { hits: number; seen: number }>>;
  clear(): Promise<void>;
}

export interface TestStackOptions {
  /** Run a worker in this process on the stack's own task queue (default true). */
  worker?: boolean;
  /** Workers will also run as child processes (`startWorkerProcess`): they share the database. */
  workerProcesses?: boolean;
  env?: Record<string, string>;
}

// TEST_LOG_LEVEL=debug shows every component's logs, the Temporal SDK's included.
const silent = createLogger({
  LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent',
  NODE_ENV: 'test',
});

/**
 * The real stack for one test file: a fresh database, every service on a free port with fault
 * injection on, the api, and (by default) a worker on a task queue of its own, all connected to
 * the run's shared Temporal dev server.
 */
export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const temporalAddress = inject('temporalAddress');
  const secret = randomBytes(24).toString('hex');
  const baseEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: secret,
    FAULT_INJECTION: 'true',
    TEMPORAL_ADDRESS: temporalAddress,
    DATA_DIR: '.test-results/data',
    ...opts.env,
  };
  const db = await createTestDatabase({ shared: opts.workerProcesses });
  const cleanups: Array<() => Promise<unknown>> = [() => db.drop()];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const bootConfig = loadConfig(baseEnv);
    const verify = createVerifier({ secret, issuer: bootConfig.env.JWT_ISSUER });
    const hosted = await startServices({
      database: db.database,
      logger: silent,
      verify,
      faultInjection: true,
      host: '127.0.0.1',
      ports: { lms: 0, 'license-manager': 0, catalog: 0, subsidy: 0 },
      peers: { urls: {}, token: serviceTokenSource(secret, bootConfig.env.JWT_ISSUER) },
    });
    cleanups.push(() => Promise.all(hosted.map((s) => s.app.close())));
    const urls = Object.fromEntries(hosted.map((s) => [s.name, s.url])) as Record<ServiceName, string>;
    const config = loadConfig({
      ...baseEnv,
      LMS_URL: urls.lms,
      LICENSE_MANAGER_URL: urls['license-manager'],
      CATALOG_URL: urls.catalog,
      SUBSIDY_URL: urls.subsidy,
    });

    const taskQueue = `test-${randomBytes(6).toString('hex')}`;
    const connection = await Connection.connect({ address: temporalAddress });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE });
    // The standing workflows a worker of this queue starts end with the stack.
    cleanups.push(() => client.workflow.getHandle(ledgerReversalsWorkflowId(taskQueue)).terminate('test stack closed'));

    const orchestrator = await orchestratorDeps(config, db.database, secret);
    // As in `npm start`: with a worker in this process, the api shares its connection and starts
    // workflows eagerly on it; without one, the api has a connection of its own.
    let worker: Worker | undefined;
    let native: NativeConnection | undefined;
    if (opts.worker !== false) {
      const own = await NativeConnection.connect({ address: temporalAddress });
      native = own;
      worker = await createWorker({
        config,
        connection: own,
        orchestrator,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        taskQueue,
      });
      const running = worker.run();
      await startStandingWorkflows(own, config.env.TEMPORAL_NAMESPACE, taskQueue);
      const w = worker;
      cleanups.push(async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running;
        await own.close();
      });
    }
    const api = await buildApi({
      logger: silent,
      verify,
      temporal: native ? new Client({ connection: native, namespace: config.env.TEMPORAL_NAMESPACE }) : client,
      eagerStart: native !== undefined,
      taskQueue,
      faultInjection: true,
      ...orchestrator,
    });
    cleanups.push(() => api.close());
    const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });

    const token: TestStack['token'] = (claims) => signToken(secret, config.env.JWT_ISSUER, claims);
    const faults = (service: ServiceName | 'api'): FaultControl => {
      const base = `${service === 'api' ? apiUrl : urls[service]}/__faults`;
      return {
        async add(rule) {
          const res = await fetch(base, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(rule),
          });
          if (res.status !== 201) throw new Error(`fault rule refused: ${res.status} ${await res.text()}`);
        },
        list: async () => (await (await fetch(base)).json()) as Awaited<ReturnType<FaultControl['list']>>,
        async clear() {
          await fetch(base, { method: 'DELETE' });
        },
      };
    };
    return {
      config,
      db,
      urls,
      api,
      apiUrl,
      client,
      taskQueue,
      worker,
      orchestrator,
      token,
      operatorToken: () => token({ roles: ['enterprise_openedx_operator:*'], username: 'test-operator' }),
      faults,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A workflow id no other test will use. */
export const uniqueId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
