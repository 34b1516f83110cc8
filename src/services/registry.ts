import type { ServiceName } from '../lib/config';
import { catalogService } from './catalog';
import type { ServiceDefinition } from './common/service';
import { licenseManagerService } from './license-manager';
import { lmsService } from './lms';
import { subsidyService } from './subsidy';

/** Every reference service, by name, in start-up order. */
export const services: Record<ServiceName, ServiceDefinition> = {
  lms: lmsService,
  'license-manager': licenseManagerService,
  catalog: catalogService,
  subsidy: subsidyService,
};
