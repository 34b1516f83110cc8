import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's own logs into our pino logger. `Runtime.install` may run once per
 * process; later calls are ignored.
 */
export function installTemporalRuntime(logger: Logger, opts: { handleSignals?: boolean } = {}) {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (logger.level === 'debug' || logger.level === 'trace' ? 'DEBUG' : 'WARN') as LogLevel;
  const log = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    // The one-command stack orders its own shutdown (worker before the Temporal child process).
    ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
    logger: new DefaultLogger(level, (entry) => {
      const method = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'debug';
      log[method]({ ...entry.meta }, entry.message);
    }),
  });
}

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

export function connectWorkerConnection(address: string) {
  return NativeConnection.connect({ address });
}
