import { defineService } from '../common/service';
import { licenseManagerMigrations } from './migrations';
import { customerAgreementRoutes } from './routes/customer-agreements';
import { renewalRoutes } from './routes/renewals';
import { subscriptionRoutes } from './routes/subscriptions';
import type { LicenseManagerDB } from './schema';

/** license-manager: customer agreements, subscription plans, licenses, bulk license enrollment. */
export const licenseManagerService = defineService<LicenseManagerDB>({
  name: 'license-manager',
  schema: 'license_manager',
  migrations: licenseManagerMigrations,
  routes(app, ctx) {
    customerAgreementRoutes(app, ctx);
    subscriptionRoutes(app, ctx);
    renewalRoutes(app, ctx);
  },
});
