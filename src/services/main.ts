/** `npm run start:service -- <lms|license-manager|catalog|subsidy>`: one reference service alone. */

import { loadConfigOrExit, SERVICE_NAMES, type ServiceName } from '../lib/config';
import { openDatabase } from '../lib/db';
import { configuredVerifier, resolveJwtSecret } from '../lib/jwt';
import { createLogger } from '../lib/logger';
import { onShutdown, requireSharedDatabase } from '../lib/process';
import { serviceTokenSource } from '../lib/service-token';
import { startServices } from './host';

const name = process.argv[2] as ServiceName | undefined;
if (!name || !SERVICE_NAMES.includes(name)) {
  process.stderr.write(`Usage: npm run start:service -- <${SERVICE_NAMES.join('|')}>\n`);
  process.exit(2);
}
const config = loadConfigOrExit();
const { env } = config;
const logger = createLogger(env, name);
requireSharedDatabase(env, name);
const database = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE });
const jwtSecret = resolveJwtSecret(env.JWT_SECRET, config.dataDir);
const [svc] = await startServices({
  database,
  logger,
  verify: configuredVerifier(env, jwtSecret),
  faultInjection: env.FAULT_INJECTION,
  host: env.HOST,
  ports: config.ports,
  only: [name],
  peers: { urls: config.serviceUrls, token: serviceTokenSource(jwtSecret, env.JWT_ISSUER, env.JWT_AUDIENCE) },
});
logger.info({ url: svc?.url }, `${name} listening`);
onShutdown(logger, [() => svc?.app.close(), () => database.close()]);
