import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from './activities';
import { type Config, loadConfigOrExit } from './lib/config';
import { openDatabase } from './lib/db';
import { resolveJwtSecret } from './lib/jwt';
import { createLogger } from './lib/logger';
import { requireSharedDatabase } from './lib/process';
import { connectWorkerConnection, installTemporalRuntime } from './lib/temporal';
import { type OrchestratorDeps, orchestratorDeps } from './orchestrator';
import { startStandingWorkflows } from './standing-workflows';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/** Bundles the workflow code once (webpack); reuse the bundle for every worker in the process. */
export function bundleWorkflows(logger?: Logger): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: logger
      ? {
          log: () => {},
          trace: () => {},
          debug: () => {},
          info: () => {},
          warn: (m, meta) => logger.warn(meta ?? {}, m),
          error: (m, meta) => logger.error(meta ?? {}, m),
        }
      : undefined,
  });
}

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  /** The records, service clients and settings the activities use (see `orchestratorDeps`). */
  orchestrator: OrchestratorDeps;
  /** Built once per process (`bundleWorkflows`) or, in tests, a path to a prebuilt bundle. */
  workflowBundle: WorkflowBundleOption;
  taskQueue?: string;
  /** Instead of the product's activities (the benchmarks add their no-op one). */
  activities?: object;
}

/** A worker running every workflow and activity, its activities wired to the records and the services. */
export function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { env } = deps.config;
  return Worker.create({
    connection: deps.connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: deps.taskQueue ?? env.TEMPORAL_TASK_QUEUE,
    workflowBundle: deps.workflowBundle,
    activities: deps.activities ?? createActivities(deps.orchestrator),
    // Drain in-flight activities on SIGTERM before exiting.
    shutdownGraceTime: '2 seconds',
  });
}

async function main() {
  const config = loadConfigOrExit();
  const { env } = config;
  const logger = createLogger(env, 'worker');
  requireSharedDatabase(env, 'worker');
  installTemporalRuntime(logger);
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT}`;
  const database = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE });
  const connection = await connectWorkerConnection(address);
  const worker = await createWorker({
    config,
    connection,
    orchestrator: await orchestratorDeps(config, database, resolveJwtSecret(env.JWT_SECRET, config.dataDir)),
    workflowBundle: await bundleWorkflows(logger),
  });
  // Worker.create installs SIGINT/SIGTERM handlers that call worker.shutdown() (graceful drain).
  const running = worker.run();
  await startStandingWorkflows(connection, env.TEMPORAL_NAMESPACE, env.TEMPORAL_TASK_QUEUE);
  logger.info({ address, taskQueue: env.TEMPORAL_TASK_QUEUE }, 'worker running');
  await running;
  await connection.close();
  await database.close();
  logger.info('worker stopped');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
