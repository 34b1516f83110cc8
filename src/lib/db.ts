import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect';

// Postgres `bigint` and `numeric` come back as strings by default; money here is integer cents
// that fits a JS number, so parse int8 as a number (and fail loudly rather than lose precision).
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint ${v} does not fit a JS number`);
  return n;
});

export type DatabaseKind = 'postgres' | 'pglite';

/** One connection (pool or embedded session) shared by every schema in this process. */
export interface Database {
  kind: DatabaseKind;
  /** Unscoped handle: only for migrations and test setup. Stores use `forSchema`. */
  root: Kysely<unknown>;
  /** A handle whose unqualified table names resolve in `schema`: each service sees only its own tables. */
  forSchema<DB>(schema: string): Kysely<DB>;
  close(): Promise<void>;
  /** Human-readable location, for the start-up banner (password elided). */
  describe(): string;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent, embedded PGlite. */
  url?: string;
  /** Directory for PGlite files; `memory` keeps everything in memory (tests). */
  pgliteDir?: string | 'memory';
  poolSize?: number;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.url) {
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    const root = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    await sql`select 1`.execute(root);
    return wrap('postgres', root, () => redactUrl(opts.url as string));
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = opts.pgliteDir ?? 'memory';
  let client: InstanceType<typeof PGlite>;
  if (dir === 'memory') {
    client = new PGlite();
  } else {
    mkdirSync(path.dirname(dir), { recursive: true });
    client = new PGlite(dir);
  }
  await client.waitReady;
  const root = new Kysely<unknown>({ dialect: new PGliteDialect(client) });
  return wrap('pglite', root, () => (dir === 'memory' ? 'PGlite (in memory)' : `PGlite at ${dir}`));
}

function wrap(kind: DatabaseKind, root: Kysely<unknown>, describe: () => string): Database {
  const scoped = new Map<string, Kysely<unknown>>();
  return {
    kind,
    root,
    forSchema<DB>(schema: string) {
      let k = scoped.get(schema);
      if (!k) {
        k = root.withSchema(schema);
        scoped.set(schema, k);
      }
      return k as unknown as Kysely<DB>;
    },
    close: () => root.destroy(),
    describe,
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}
