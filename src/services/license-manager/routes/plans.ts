import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { optionalUuidQuery, queryFlag } from '../../../lib/drf/fields';
import { pageQuery } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { DetailError } from '../../../lib/fastify/error-schemas';
import { detail, notFound } from '../../../lib/http-errors';
import type { ServiceContext } from '../../common/service';
import { readableCustomers, SUBSCRIPTIONS_ADMIN_ROLES, SUBSCRIPTIONS_LEARNER_OR_ADMIN_ROLES } from '../permissions';
import { planRepresentation } from '../representation';
import { planPageSchema, planSchema } from '../response-schemas';
import type { LicenseManagerDB } from '../schema';
import { loadPlanFacts, selectPlans } from '../store';
import { paginatePlans, planFor, planParams, requireCaller } from './shared';

const adminListQuery = z.object({
  enterprise_customer_uuid: optionalUuidQuery(),
  current: queryFlag(false),
  ...pageQuery,
});
const learnerListQuery = z.object({ enterprise_customer_uuid: optionalUuidQuery(), ...pageQuery });

/**
 * Subscription plans as admins and learners read them (spec 5.5), with license counts. Lists
 * show only customers the caller holds a role on (upstream's listing mixin: others see an empty
 * list, not a 403).
 */
export function planRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  type PlanQuery = ReturnType<typeof selectPlans>;

  const listPlans = (req: FastifyRequest, q: PlanQuery) => paginatePlans(db, req, q, planRepresentation);

  /** The plans of customers the caller holds one of `roles` on. */
  const scoped = (q: PlanQuery, scope: 'all' | string[]) => {
    if (scope === 'all') return q;
    return scope.length ? q.where('a.enterprise_customer_uuid', 'in', scope) : q.where(sql<boolean>`false`);
  };

  app.get(
    '/api/v1/subscriptions',
    {
      onRequest: requireCaller,
      schema: {
        querystring: adminListQuery,
        documentedResponses: { 200: planPageSchema },
        errors: { 400: DetailError },
      },
    },
    async (req) => {
      const scope = readableCustomers(requirePrincipal(req), SUBSCRIPTIONS_ADMIN_ROLES);
      const { enterprise_customer_uuid: customer, current } = req.query;
      if (current && !customer) throw detail(400, 'Current plan cannot be used without enterprise_uuid');
      // Without a customer: every plan the caller may see (upstream's superuser view); with
      // one: that customer's active plans; `current`: only its current plan.
      let q = scoped(selectPlans(db), scope);
      if (customer) q = q.where('a.enterprise_customer_uuid', '=', customer).where('p.is_active', '=', true);
      if (current) {
        // Upstream get_current_plan: the most recently created active plan in its dates.
        q = q.where('p.start_date', '<=', sql<Date>`now()`).where('p.expiration_date', '>=', sql<Date>`now()`);
        const newest = await q.orderBy('p.created', 'desc').orderBy('p.uuid').limit(1).executeTakeFirst();
        q = newest ? q.where('p.uuid', '=', newest.uuid) : q.where(sql<boolean>`false`);
      }
      return listPlans(req, q);
    },
  );

  app.get(
    '/api/v1/subscriptions/:subscription_uuid',
    {
      onRequest: requireCaller,
      schema: { params: planParams, documentedResponses: { 200: planSchema }, errors: { 404: DetailError } },
    },
    async (req) => {
      const plan = await planFor(db, req, req.params.subscription_uuid, SUBSCRIPTIONS_ADMIN_ROLES);
      if (!plan) throw notFound();
      return planRepresentation(plan, await loadPlanFacts(db, [plan]), new Date());
    },
  );

  app.get(
    '/api/v1/learner-subscriptions',
    {
      onRequest: requireCaller,
      schema: { querystring: learnerListQuery, documentedResponses: { 200: planPageSchema } },
    },
    async (req) => {
      const scope = readableCustomers(requirePrincipal(req), SUBSCRIPTIONS_LEARNER_OR_ADMIN_ROLES);
      const customer = req.query.enterprise_customer_uuid;
      // Upstream lists nothing without a customer.
      const q = customer
        ? scoped(selectPlans(db), scope)
            .where('a.enterprise_customer_uuid', '=', customer)
            .where('p.is_active', '=', true)
        : selectPlans(db).where(sql<boolean>`false`);
      return listPlans(req, q);
    },
  );
}
