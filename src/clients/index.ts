import type { ServiceName } from '../lib/config';
import { HttpClient, type TokenSource } from './http';

export interface ServiceClients {
  lms: HttpClient;
  'license-manager': HttpClient;
  catalog: HttpClient;
  subsidy: HttpClient;
}

/** One client per service; base URLs are configuration so the worker can target real deployments. */
export function createServiceClients(urls: Record<ServiceName, string>, token: TokenSource): ServiceClients {
  const make = (service: ServiceName) => new HttpClient({ service, baseUrl: urls[service], token });
  return {
    lms: make('lms'),
    'license-manager': make('license-manager'),
    catalog: make('catalog'),
    subsidy: make('subsidy'),
  };
}

export { HttpClient, ServiceError } from './http';
