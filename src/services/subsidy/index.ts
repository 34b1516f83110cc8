import { defineService } from '../common/service';
import { subsidyMigrations } from './migrations';
import { depositRoutes } from './routes/deposits';
import { reversalFeedRoutes } from './routes/reversal-feed';
import { subsidyRoutes } from './routes/subsidies';
import { transactionRoutes } from './routes/transactions';
import type { SubsidyDB } from './schema';

/** enterprise-subsidy + openedx-ledger: subsidies, ledger transactions, reversals, deposits. */
export const subsidyService = defineService<SubsidyDB>({
  name: 'subsidy',
  schema: 'subsidy',
  migrations: subsidyMigrations,
  title: 'enterprise-subsidy (with openedx-ledger)',
  description:
    'Subsidies, ledger transactions (reserve, commit, fail, reverse), deposits and adjustments, with the upstream paths and bodies.',
  routes(app, ctx) {
    subsidyRoutes(app, ctx);
    transactionRoutes(app, ctx);
    depositRoutes(app, ctx);
    reversalFeedRoutes(app, ctx);
  },
});
