import { defineService } from '../common/service';
import { lmsMigrations } from './migrations';
import { accountRoutes } from './routes/accounts';
import type { LmsDB } from './schema';

/** edx-platform + edx-enterprise: users, enterprise customers, admins, catalogs, learners, enrollments. */
export const lmsService = defineService<LmsDB>({
  name: 'lms',
  schema: 'lms',
  migrations: lmsMigrations,
  routes(app, ctx) {
    accountRoutes(app, ctx);
  },
});
