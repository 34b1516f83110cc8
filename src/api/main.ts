/** `npm run start:api`: the orchestrator api alone (docker-compose, scale-out). */
import { accessMigrations } from '../access/migrations';
import { ACCESS_SCHEMA, type AccessDB } from '../access/schema';
import { createServiceClients } from '../clients';
import { loadConfigOrExit } from '../lib/config';
import { openDatabase } from '../lib/db';
import { createVerifier, resolveJwtSecret } from '../lib/jwt';
import { createLogger } from '../lib/logger';
import { migrateSchema } from '../lib/migrations';
import { onShutdown, requireSharedDatabase } from '../lib/process';
import { serviceTokenSource } from '../lib/service-token';
import { connectClient } from '../lib/temporal';
import { buildApi, learnerCreditSettings, provisioningSettings } from './app';

const config = loadConfigOrExit();
const { env } = config;
const logger = createLogger(env, 'api');
requireSharedDatabase(env, 'api');
const database = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE });
await migrateSchema(database, ACCESS_SCHEMA, accessMigrations);
const client = await connectClient(env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT}`, env.TEMPORAL_NAMESPACE);
const jwtSecret = resolveJwtSecret(env.JWT_SECRET, config.dataDir);
const api = await buildApi({
  logger,
  verify: createVerifier({
    secret: jwtSecret,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    jwksUrl: env.JWT_JWKS_URL,
  }),
  db: database.forSchema<AccessDB>(ACCESS_SCHEMA),
  temporal: client,
  taskQueue: env.TEMPORAL_TASK_QUEUE,
  faultInjection: env.FAULT_INJECTION,
  provisioning: provisioningSettings(env),
  learnerCredit: learnerCreditSettings(env),
  clients: createServiceClients(
    config.serviceUrls,
    serviceTokenSource(jwtSecret, env.JWT_ISSUER, env.JWT_AUDIENCE),
    config.apiUrl,
  ),
});
await api.listen({ port: config.ports.api, host: env.HOST });
onShutdown(logger, [() => api.close(), () => client.connection.close(), () => database.close()]);
