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
import { createServiceClients } from './clients';
import { type Config, loadConfigOrExit } from './lib/config';
import { resolveJwtSecret } from './lib/jwt';
import { createLogger } from './lib/logger';
import { serviceTokenSource } from './lib/service-token';
import { connectWorkerConnection, installTemporalRuntime } from './lib/temporal';

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
  jwtSecret: string;
  /** Built once per process (`bundleWorkflows`) or, in tests, a path to a prebuilt bundle. */
  workflowBundle: WorkflowBundleOption;
  taskQueue?: string;
}

/** A worker running every workflow and activity, with activities wired to the configured services. */
export function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { env } = deps.config;
  const clients = createServiceClients(
    deps.config.serviceUrls,
    serviceTokenSource(deps.jwtSecret, env.JWT_ISSUER, env.JWT_AUDIENCE),
    deps.config.apiUrl,
  );
  return Worker.create({
    connection: deps.connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: deps.taskQueue ?? env.TEMPORAL_TASK_QUEUE,
    workflowBundle: deps.workflowBundle,
    activities: createActivities({ clients, siteDomain: env.PROVISIONING_SITE_DOMAIN }),
    // Drain in-flight activities on SIGTERM before exiting.
    shutdownGraceTime: '10 seconds',
  });
}

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.env, 'worker');
  installTemporalRuntime(logger);
  const address = config.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.env.TEMPORAL_PORT}`;
  const connection = await connectWorkerConnection(address);
  const worker = await createWorker({
    config,
    connection,
    jwtSecret: resolveJwtSecret(config.env.JWT_SECRET, config.dataDir),
    workflowBundle: await bundleWorkflows(logger),
  });
  // Worker.create installs SIGINT/SIGTERM handlers that call worker.shutdown() (graceful drain).
  logger.info({ address, taskQueue: config.env.TEMPORAL_TASK_QUEUE }, 'worker running');
  await worker.run();
  await connection.close();
  logger.info('worker stopped');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
