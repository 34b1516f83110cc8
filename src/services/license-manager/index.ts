import { defineService } from '../common/service';
import { licenseManagerMigrations } from './migrations';
import type { LicenseManagerDB } from './schema';

/** license-manager: customer agreements, subscription plans, licenses, bulk license enrollment. */
export const licenseManagerService = defineService<LicenseManagerDB>({
  name: 'license-manager',
  schema: 'license_manager',
  migrations: licenseManagerMigrations,
  routes() {},
});
