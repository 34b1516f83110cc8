import type { Logger } from 'pino';
import type { Env } from './config';

/** Runs `steps` in order on SIGINT/SIGTERM, then exits; a second signal forces the exit. */
export function onShutdown(logger: Logger, steps: Array<() => unknown>) {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, async () => {
      if (stopping) process.exit(130);
      stopping = true;
      logger.info({ signal }, 'stopping');
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          logger.warn({ err }, 'error during shutdown');
        }
      }
      process.exit(0);
    });
  }
}

/**
 * A component started alone shares its database with the others, which embedded PGlite (one
 * process) cannot do: require DATABASE_URL and say so plainly.
 */
export function requireSharedDatabase(env: Env, component: string) {
  if (!env.DATABASE_URL) {
    process.stderr.write(
      `${component}: started alone, it needs DATABASE_URL (a PostgreSQL shared with the other components).\n` +
        'For everything in one process on an embedded database, use `npm start`.\n',
    );
    process.exit(2);
  }
}
