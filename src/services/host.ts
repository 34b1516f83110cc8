import type { Logger } from 'pino';
import { reachableHost, type ServiceName } from '../lib/config';
import type { Database } from '../lib/db';
import type { App } from '../lib/fastify/app';
import type { TokenVerifier } from '../lib/jwt';
import { services } from './registry';

export interface HostedService {
  name: ServiceName;
  app: App;
  url: string;
}

export interface StartServicesOptions {
  database: Database;
  logger: Logger;
  verify: TokenVerifier;
  faultInjection: boolean;
  host: string;
  /** Port per service; 0 picks a free one (tests). */
  ports: Record<ServiceName, number>;
  only?: readonly ServiceName[];
}

/** Migrates, builds and starts listening the reference services; returns their URLs. */
export async function startServices(opts: StartServicesOptions): Promise<HostedService[]> {
  const names = opts.only ?? (Object.keys(services) as ServiceName[]);
  const started: HostedService[] = [];
  try {
    for (const name of names) {
      const def = services[name];
      await def.migrate(opts.database);
      const app = await def.build(opts);
      await app.listen({ port: opts.ports[name], host: opts.host });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.ports[name];
      started.push({ name, app, url: `http://${reachableHost(opts.host)}:${port}` });
    }
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.app.close()));
    throw err;
  }
  return started;
}
