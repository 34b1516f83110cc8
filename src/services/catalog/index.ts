import { defineService } from '../common/service';

/** enterprise-catalog: catalog queries, catalogs, content metadata and prices. */
export const catalogService = defineService({
  name: 'catalog',
  schema: 'catalog',
  migrations: {},
  routes() {},
});
