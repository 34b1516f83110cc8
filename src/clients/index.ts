import type { ServiceName } from '../lib/config';
import { HttpClient, type TokenSource } from './http';
import { LicenseManagerClient } from './license-manager';
import { LmsClient } from './lms';

export interface ServiceClients {
  lms: HttpClient;
  'license-manager': HttpClient;
  catalog: HttpClient;
  subsidy: HttpClient;
  /** Typed endpoints on top of the raw clients. */
  lmsApi: LmsClient;
  licenseManagerApi: LicenseManagerClient;
}

/** One client per service; base URLs are configuration so the worker can target real deployments. */
export function createServiceClients(urls: Record<ServiceName, string>, token: TokenSource): ServiceClients {
  const make = (service: ServiceName) => new HttpClient({ service, baseUrl: urls[service], token });
  const lms = make('lms');
  const licenseManager = make('license-manager');
  return {
    lms,
    'license-manager': licenseManager,
    catalog: make('catalog'),
    subsidy: make('subsidy'),
    lmsApi: new LmsClient(lms),
    licenseManagerApi: new LicenseManagerClient(licenseManager),
  };
}

export { HttpClient, ServiceError } from './http';
