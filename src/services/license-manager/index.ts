import { defineService } from '../common/service';
import { licenseManagerMigrations } from './migrations';
import { customerAgreementRoutes } from './routes/customer-agreements';
import { emailOutboxRoutes } from './routes/email-outbox';
import { learnerLicenseRoutes } from './routes/learner-licenses';
import { licenseActionRoutes } from './routes/license-actions';
import { licenseReadRoutes } from './routes/licenses';
import { licensesForEmailsRoutes } from './routes/licenses-for-emails';
import { planRoutes } from './routes/plans';
import { renewalRoutes } from './routes/renewals';
import { subscriptionRoutes } from './routes/subscriptions';
import type { LicenseManagerDB } from './schema';

/** license-manager: customer agreements, subscription plans, licenses, bulk license enrollment. */
export const licenseManagerService = defineService<LicenseManagerDB>({
  name: 'license-manager',
  schema: 'license_manager',
  migrations: licenseManagerMigrations,
  title: 'license-manager',
  description:
    'Customer agreements, subscription plans and renewals, licenses (assign, remind, revoke, activate, auto-apply), with the upstream paths and bodies.',
  routes(app, ctx) {
    customerAgreementRoutes(app, ctx);
    subscriptionRoutes(app, ctx);
    renewalRoutes(app, ctx);
    planRoutes(app, ctx);
    licenseReadRoutes(app, ctx);
    licenseActionRoutes(app, ctx);
    learnerLicenseRoutes(app, ctx);
    licensesForEmailsRoutes(app, ctx);
    emailOutboxRoutes(app, ctx);
  },
});
