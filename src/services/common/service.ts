import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ServiceName } from '../../lib/config';
import type { Database } from '../../lib/db';
import { type App, createHttpApp, type ZodApp } from '../../lib/fastify/app';
import { openapiPlugin } from '../../lib/fastify/openapi';
import type { HttpClient } from '../../lib/http-client';
import type { TokenVerifier } from '../../lib/jwt';
import { migrateSchema, type SchemaMigrations } from '../../lib/migrations';

/**
 * A reference service (lms, license-manager, catalog, subsidy): its own Postgres schema and
 * migrations, its own Fastify app with the upstream paths. Nothing outside the service reads
 * its tables; other components reach it over HTTP only.
 */
export interface ServiceSpec<DB> {
  name: ServiceName;
  /** Postgres schema that holds this service's tables. */
  schema: string;
  migrations: SchemaMigrations;
  /** What the service is, for the title and description of its OpenAPI document. */
  title: string;
  description: string;
  routes(app: ZodApp, ctx: ServiceContext<DB>): void | Promise<void>;
}

export interface ServiceContext<DB> {
  db: Kysely<DB>;
  logger: Logger;
  /**
   * An HTTP client for another service (e.g. subsidy asks catalog for prices), with the service
   * token: services reach each other over HTTP only, never through each other's tables.
   */
  peer(name: ServiceName): HttpClient;
}

export interface BuildServiceOptions {
  database: Database;
  logger: Logger;
  verify: TokenVerifier;
  faultInjection: boolean;
  peer?: (name: ServiceName) => HttpClient;
}

/** A service ready to host: its table types are sealed inside `build`. */
export interface ServiceDefinition {
  name: ServiceName;
  schema: string;
  /** Creates the schema and applies pending migrations. */
  migrate(database: Database): Promise<string[]>;
  /** Builds the app (does not listen). */
  build(opts: BuildServiceOptions): Promise<App>;
}

export function defineService<DB>(spec: ServiceSpec<DB>): ServiceDefinition {
  return {
    name: spec.name,
    schema: spec.schema,
    migrate: (database) => migrateSchema(database, spec.schema, spec.migrations),
    async build(opts) {
      const db = opts.database.forSchema<DB>(spec.schema);
      const app = createHttpApp({
        name: spec.name,
        logger: opts.logger,
        verify: opts.verify,
        faultInjection: opts.faultInjection,
        ready: async () => {
          await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
        },
      });
      await app.register(openapiPlugin, { title: spec.title, version: '0.1.0', description: spec.description });
      await app.register(async (scope) => {
        await spec.routes(scope.withTypeProvider(), {
          db,
          logger: opts.logger.child({ service: spec.name }),
          peer:
            opts.peer ??
            ((name) => {
              throw new Error(`${spec.name} has no way to reach ${name}: no peer URLs were configured`);
            }),
        });
      });
      return app;
    },
  };
}
