/** `npm run start:api`: the orchestrator api alone (docker-compose, scale-out). */
import { loadConfigOrExit } from '../lib/config';
import { openDatabase } from '../lib/db';
import { configuredVerifier, resolveJwtSecret } from '../lib/jwt';
import { createLogger } from '../lib/logger';
import { onShutdown, requireSharedDatabase } from '../lib/process';
import { connectClient } from '../lib/temporal';
import { orchestratorDeps } from '../orchestrator';
import { buildApi } from './app';

const config = loadConfigOrExit();
const { env } = config;
const logger = createLogger(env, 'api');
requireSharedDatabase(env, 'api');
const database = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE });
const jwtSecret = resolveJwtSecret(env.JWT_SECRET, config.dataDir);
const client = await connectClient(env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT}`, env.TEMPORAL_NAMESPACE);
const api = await buildApi({
  logger,
  verify: configuredVerifier(env, jwtSecret),
  temporal: client,
  taskQueue: env.TEMPORAL_TASK_QUEUE,
  faultInjection: env.FAULT_INJECTION,
  ...(await orchestratorDeps(config, database, jwtSecret)),
});
await api.listen({ port: config.ports.api, host: env.HOST });
onShutdown(logger, [() => api.close(), () => client.connection.close(), () => database.close()]);
