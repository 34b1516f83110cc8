import { defineService } from '../common/service';

/** enterprise-subsidy + openedx-ledger: subsidies, ledger transactions, reversals, deposits. */
export const subsidyService = defineService({
  name: 'subsidy',
  schema: 'subsidy',
  migrations: {},
  routes() {},
});
