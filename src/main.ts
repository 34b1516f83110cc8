/**
 * `npm start`: the whole stack in one process on embedded defaults. The Temporal CLI dev server
 * (child process, SQLite under DATA_DIR, Web UI), an embedded PGlite database under DATA_DIR,
 * every reference service on its own port, the orchestrator api and the worker. Set
 * TEMPORAL_ADDRESS or DATABASE_URL to use an existing Temporal server or Postgres instead.
 */
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { recordStart } from './access/stack-info';
import { buildApi } from './api/app';
import { loadConfigOrExit, reachableHost } from './lib/config';
import { lockDataDir } from './lib/data-dir-lock';
import { type Database, openDatabase } from './lib/db';
import type { App } from './lib/fastify/app';
import { configuredVerifier, resolveJwtSecret } from './lib/jwt';
import { createLogger } from './lib/logger';
import { serviceTokenSource } from './lib/service-token';
import { connectWorkerConnection, installTemporalRuntime } from './lib/temporal';
import { type DevServer, startDevServer } from './lib/temporal-dev-server';
import { orchestratorDeps } from './orchestrator';
import { startServices } from './services/host';
import { startStandingWorkflows } from './standing-workflows';
import { bundleWorkflows, createWorker } from './worker';
import { SEARCH_ATTRIBUTE_FLAGS } from './workflows/definitions';

const config = loadConfigOrExit();
const { env } = config;
const logger = createLogger(env, 'stack');
installTemporalRuntime(logger, { handleSignals: false });

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let stopping = false;

async function shutdown(reason: string, code: number) {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, 'stopping');
  // Last started, first stopped: api and services stop taking requests, the worker drains,
  // then the database closes and the Temporal dev server exits.
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      logger.warn({ err }, 'error during shutdown');
    }
  }
  process.stdout.write('Stopped.\n');
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) {
      process.stderr.write('Forced exit.\n');
      process.exit(130);
    }
    void shutdown(signal, 0);
  });
}

// If whatever started us goes away without a signal reaching us (a wrapper killed by SIGTERM,
// a closed terminal), stop rather than linger with the ports and the data directory held.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown('parent process exited', 0);
}, 1000).unref();

async function start() {
  const embeddedTemporal = !env.TEMPORAL_ADDRESS;
  const embeddedDb = !env.DATABASE_URL;
  if (embeddedTemporal || embeddedDb) {
    const unlock = lockDataDir(config.dataDir);
    cleanups.push(unlock);
  }

  let devServer: DevServer | undefined;
  if (embeddedTemporal) {
    process.stdout.write('Starting the Temporal dev server...\n');
    devServer = await startDevServer({
      dbFile: path.join(config.dataDir, 'temporal.db'),
      ip: env.HOST === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1',
      port: env.TEMPORAL_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      namespace: env.TEMPORAL_NAMESPACE,
      pidFile: path.join(config.dataDir, 'temporal.pid'),
      searchAttributes: SEARCH_ATTRIBUTE_FLAGS,
      log: (line) => logger.child({ component: 'temporal-server' }).debug(line),
    });
    cleanups.push(() => devServer?.stop());
    devServer.process.once('exit', (code) => {
      if (!stopping) {
        logger.error({ code }, 'the Temporal dev server exited');
        void shutdown('temporal dev server exited', 1);
      }
    });
  }
  const temporalAddress = env.TEMPORAL_ADDRESS ?? (devServer?.address as string);

  const database: Database = await openDatabase({
    url: env.DATABASE_URL,
    pgliteDir: path.join(config.dataDir, 'pglite'),
    poolSize: env.DATABASE_POOL_SIZE,
  });
  cleanups.push(() => database.close());

  const jwtSecret = resolveJwtSecret(env.JWT_SECRET, config.dataDir);
  const verify = configuredVerifier(env, jwtSecret);

  const hosted = await startServices({
    database,
    logger,
    verify,
    faultInjection: env.FAULT_INJECTION,
    host: env.HOST,
    ports: config.ports,
    peers: { urls: config.serviceUrls, token: serviceTokenSource(jwtSecret, env.JWT_ISSUER, env.JWT_AUDIENCE) },
  });
  cleanups.push(() => Promise.all(hosted.map((s) => s.app.close())));

  // One set of dependencies for the api and the worker: they share this process, its database
  // and its connection to Temporal (so the api starts workflows eagerly on this worker).
  const orchestrator = await orchestratorDeps(config, database, jwtSecret);
  const connection = await connectWorkerConnection(temporalAddress);
  const worker: Worker = await createWorker({
    config,
    connection,
    orchestrator,
    workflowBundle: await bundleWorkflows(logger),
  });
  const running = worker.run();
  cleanups.push(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => {});
    await connection.close();
  });
  running.catch((err) => {
    logger.error({ err }, 'worker failed');
    void shutdown('worker failed', 1);
  });
  await startStandingWorkflows(connection, env.TEMPORAL_NAMESPACE, env.TEMPORAL_TASK_QUEUE);
  const api: App = await buildApi({
    logger,
    verify,
    temporal: new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }),
    eagerStart: true,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    faultInjection: env.FAULT_INJECTION,
    ...orchestrator,
  });

  await api.listen({ port: config.ports.api, host: env.HOST });
  cleanups.push(() => api.close());

  const info = await recordStart(orchestrator.db);
  const host = reachableHost(env.HOST);
  const apiUrl = `http://${host}:${config.ports.api}`;
  const pad = (s: string) => s.padEnd(17);
  const lines = [
    '',
    `Enterprise access is running (start #${info.startCount} on data created ${info.createdAt.toISOString()})`,
    `  ${pad('API')}${apiUrl}`,
    `  ${pad('API docs')}${apiUrl}/docs   (OpenAPI JSON: ${apiUrl}/openapi.json)`,
    ...hosted.map((s) => `  ${pad(s.name)}${s.url}`),
    `  ${pad('Temporal')}${temporalAddress}   (namespace ${env.TEMPORAL_NAMESPACE}, task queue ${env.TEMPORAL_TASK_QUEUE})`,
    ...(devServer?.uiUrl ? [`  ${pad('Temporal Web UI')}${devServer.uiUrl}`] : []),
    `  ${pad('Database')}${database.describe()}`,
    `  ${pad('Data directory')}${config.dataDir}`,
    '',
    '  Get a token:   npm run token --silent -- --roles enterprise_openedx_operator:*',
    `  Try it:        curl -H "Authorization: JWT $(npm run token --silent -- --roles enterprise_openedx_operator:*)" ${apiUrl}/api/v1/me`,
    `  Temporal CLI:  npm run temporal -- workflow list --address ${temporalAddress}`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

start().catch((err) => {
  process.stderr.write(`\nStart-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  logger.debug({ err }, 'start-up failed');
  void (async () => {
    stopping = false;
    await shutdown('start-up failed', 1);
  })();
});
