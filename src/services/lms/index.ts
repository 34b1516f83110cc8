import { defineService } from '../common/service';
import { lmsMigrations } from './migrations';
import { accountRoutes } from './routes/accounts';
import { adminRoutes } from './routes/admins';
import { bulkEnrollmentRoutes } from './routes/bulk-enrollment';
import { catalogRoutes } from './routes/catalogs';
import { enrollmentRoutes } from './routes/enrollments';
import { enterpriseCustomerRoutes } from './routes/enterprise-customers';
import { groupRoutes } from './routes/groups';
import { learnerRoutes } from './routes/learners';
import { pendingLearnerRoutes } from './routes/pending-learners';
import type { LmsDB } from './schema';

/** edx-platform + edx-enterprise: users, enterprise customers, admins, catalogs, learners, enrollments, bulk enrollment. */
export const lmsService = defineService<LmsDB>({
  name: 'lms',
  schema: 'lms',
  migrations: lmsMigrations,
  title: 'lms (edx-platform + edx-enterprise)',
  description:
    'Users, enterprise customers, admins, catalogs, learners, groups, enrollments and bulk enrollment, with the upstream paths and bodies.',
  routes(app, ctx) {
    accountRoutes(app, ctx);
    enterpriseCustomerRoutes(app, ctx);
    learnerRoutes(app, ctx);
    adminRoutes(app, ctx);
    catalogRoutes(app, ctx);
    groupRoutes(app, ctx);
    enrollmentRoutes(app, ctx);
    bulkEnrollmentRoutes(app, ctx);
    pendingLearnerRoutes(app, ctx);
  },
});
