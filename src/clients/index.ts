import type { ServiceName } from '../lib/config';
import { HttpClient, type TokenSource } from '../lib/http-client';
import { CatalogClient } from './catalog';
import { LicenseManagerClient } from './license-manager';
import { LmsClient } from './lms';
import { SubsidyClient } from './subsidy';

export interface ServiceClients {
  lms: HttpClient;
  'license-manager': HttpClient;
  catalog: HttpClient;
  subsidy: HttpClient;
  /** Typed endpoints on top of the raw clients. */
  lmsApi: LmsClient;
  licenseManagerApi: LicenseManagerClient;
  catalogApi: CatalogClient;
  subsidyApi: SubsidyClient;
}

/** One client per service; base URLs are configuration so the worker can target real deployments. */
export function createServiceClients(urls: Record<ServiceName, string>, token: TokenSource): ServiceClients {
  const make = (service: ServiceName) => new HttpClient({ service, baseUrl: urls[service], token });
  const lms = make('lms');
  const licenseManager = make('license-manager');
  const catalog = make('catalog');
  const subsidy = make('subsidy');
  return {
    lms,
    'license-manager': licenseManager,
    catalog,
    subsidy,
    catalogApi: new CatalogClient(catalog),
    subsidyApi: new SubsidyClient(subsidy),
    lmsApi: new LmsClient(lms),
    licenseManagerApi: new LicenseManagerClient(licenseManager),
  };
}
