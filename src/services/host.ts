import type { Logger } from 'pino';
import { reachableHost, type ServiceName } from '../lib/config';
import type { Database } from '../lib/db';
import type { App } from '../lib/fastify/app';
import { HttpClient, type TokenSource } from '../lib/http-client';
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
  /** How hosted services reach the others: configured URLs (for services not hosted here) and a token. */
  peers?: { urls: Partial<Record<ServiceName, string>>; token: TokenSource };
}

/** Migrates, builds and starts listening the reference services; returns their URLs. */
export async function startServices(opts: StartServicesOptions): Promise<HostedService[]> {
  const names = opts.only ?? (Object.keys(services) as ServiceName[]);
  const started: HostedService[] = [];
  const hostedUrls: Partial<Record<ServiceName, string>> = {};
  const peerClients = new Map<ServiceName, HttpClient>();
  // Resolved on first use, when every service of this process is listening (ports may be 0).
  const peer = (name: ServiceName): HttpClient => {
    let client = peerClients.get(name);
    if (!client) {
      const baseUrl = hostedUrls[name] ?? opts.peers?.urls[name];
      if (!baseUrl || !opts.peers) throw new Error(`no URL or token configured to reach the ${name} service`);
      client = new HttpClient({ service: name, baseUrl, token: opts.peers.token });
      peerClients.set(name, client);
    }
    return client;
  };
  try {
    for (const name of names) {
      const def = services[name];
      await def.migrate(opts.database);
      const app = await def.build({ ...opts, peer });
      await app.listen({ port: opts.ports[name], host: opts.host });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.ports[name];
      const url = `http://${reachableHost(opts.host)}:${port}`;
      hostedUrls[name] = url;
      started.push({ name, app, url });
    }
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.app.close()));
    throw err;
  }
  return started;
}
