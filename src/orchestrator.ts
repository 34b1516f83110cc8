/**
 * The orchestrator's shared dependencies (api and worker alike), built once per process from the
 * configuration: its own records (the `access` schema, migrated here), the typed service clients
 * with its service token, and the feature settings. Both the api and the worker's activities
 * read and write the same records directly; neither calls the other.
 */
import type { Kysely } from 'kysely';
import { accessMigrations } from './access/migrations';
import { ACCESS_SCHEMA, type AccessDB } from './access/schema';
import { createServiceClients, type ServiceClients } from './clients';
import type { Config } from './lib/config';
import type { Database } from './lib/db';
import type { FeatureSettings } from './lib/defaults';
import { migrateSchema } from './lib/migrations';
import { serviceTokenSource } from './lib/service-token';

export interface OrchestratorDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
  settings: FeatureSettings;
}

export async function orchestratorDeps(
  config: Config,
  database: Database,
  jwtSecret: string,
): Promise<OrchestratorDeps> {
  await migrateSchema(database, ACCESS_SCHEMA, accessMigrations);
  const { env } = config;
  return {
    db: database.forSchema<AccessDB>(ACCESS_SCHEMA),
    clients: createServiceClients(config.serviceUrls, serviceTokenSource(jwtSecret, env.JWT_ISSUER, env.JWT_AUDIENCE)),
    settings: config.settings,
  };
}
