import { defineService } from '../common/service';
import { catalogMigrations } from './migrations';
import { contentItemRoutes } from './routes/content-items';
import { contentMetadataRoutes } from './routes/content-metadata';
import { enterpriseCatalogRoutes } from './routes/enterprise-catalogs';
import { enterpriseCustomerRoutes } from './routes/enterprise-customer';
import type { CatalogDB } from './schema';

/** enterprise-catalog: catalog queries, catalogs, content metadata and prices. */
export const catalogService = defineService<CatalogDB>({
  name: 'catalog',
  schema: 'catalog',
  migrations: catalogMigrations,
  title: 'enterprise-catalog',
  description: 'Enterprise catalogs, their content, content metadata and prices, with the upstream paths and bodies.',
  routes(app, ctx) {
    enterpriseCatalogRoutes(app, ctx);
    enterpriseCustomerRoutes(app, ctx);
    contentMetadataRoutes(app, ctx);
    contentItemRoutes(app, ctx);
  },
});
