import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/lib/db';

export interface TestDatabase {
  database: Database;
  /** Where it lives, for child processes started by the test (undefined: in-memory PGlite). */
  url?: string;
  drop(): Promise<void>;
}

/**
 * An isolated database for one test file: a fresh Postgres database when DATABASE_URL is set
 * (dropped afterwards), an in-memory PGlite otherwise. `shared`: other processes will use it too
 * (a worker started as a child process); on PGlite it is then served over the Postgres protocol
 * (pglite-socket), and this process connects to it the same way, so every client's transactions
 * are serialized by the one server.
 */
export async function createTestDatabase(opts: { shared?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl && opts.shared) return servedPglite();
  if (!adminUrl) {
    const database = await openDatabase({});
    return { database, drop: () => database.close() };
  }
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: adminUrl, max: 1 }) }),
  });
  await sql`create database ${sql.id(name)}`.execute(admin);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 20 });
  return {
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      await sql`drop database if exists ${sql.id(name)} with (force)`.execute(admin);
      await admin.destroy();
    },
  };
}

/** An in-memory PGlite behind a local Postgres-protocol socket, for a stack spread over processes. */
async function servedPglite(): Promise<TestDatabase> {
  const pglite = await PGlite.create();
  const server = new PGLiteSocketServer({
    db: wholeQueries(pglite),
    host: '127.0.0.1',
    port: 0,
    maxConnections: 100,
  });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  const database = await openDatabase({ url, poolSize: 10 });
  return {
    database,
    url,
    async drop() {
      await database.close();
      await server.stop();
      await pglite.close();
    },
  };
}

/** Extended-protocol messages that open (or continue) a query, which only Sync closes. */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);
const SIMPLE_QUERY = 'Q'.charCodeAt(0);

/**
 * pglite-socket serves several clients from one PGlite session and keeps a client's messages
 * together only inside an explicit transaction. Between Parse and Sync a query is not in one yet,
 * so another client's Parse could replace its unnamed statement ("portal does not exist"). This
 * view of the PGlite instance tells the server it is "in a transaction" from a query's first
 * extended-protocol message to its Sync, so each client's query runs whole.
 */
function wholeQueries(db: PGlite): PGlite {
  let midQuery = false;
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'isInTransaction') return () => midQuery || target.isInTransaction();
      if (prop === 'execProtocolRawStream') {
        return async (message: Uint8Array, opts: Parameters<PGlite['execProtocolRawStream']>[1]) => {
          const type = message[0] as number;
          if (EXTENDED.has(type)) midQuery = true;
          try {
            return await target.execProtocolRawStream(message, opts);
          } finally {
            if (type === SYNC || type === SIMPLE_QUERY) midQuery = false;
          }
        };
      }
      if (prop === 'exec') {
        // The server's ROLLBACK for a client that went away mid-query ends that query too.
        return async (...args: Parameters<PGlite['exec']>) => {
          midQuery = false;
          return target.exec(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
