import { sql } from 'kysely';
import { z } from 'zod';
import { queryFlag, uuidParam } from '../../../lib/drf/fields';
import { countRows } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError, mediaTypes } from '../../../lib/fastify/error-schemas';
import { notFound } from '../../../lib/http-errors';
import type { ServiceContext } from '../../common/service';
import { paginateLicenses } from '../license-pagination';
import { type LicenseFilters, licenseConditions, parseOrdering } from '../license-store';
import { activationLink } from '../outbox';
import { SUBSCRIPTIONS_ADMIN_ROLES } from '../permissions';
import { iso, licenseRepresentation } from '../representation';
import { licenseListSchema, licenseOverviewSchema, licenseSchema } from '../response-schemas';
import type { LicenseManagerDB } from '../schema';
import { filtersOf, licenseFilterQuery, planFor, planParams, requireCaller } from './shared';

const listQuery = z.object({ ...licenseFilterQuery, active_only: queryFlag(false) });
const licenseParams = planParams.extend({ license_uuid: z.string() });

/** CSV columns of `licenses/csv/` (spec 5.6). */
const CSV_COLUMNS = ['status', 'user_email', 'activation_date', 'last_remind_date', 'activation_link'] as const;

/** The CSV answer, documented by its media type. */
const csvResponse = mediaTypes({ 'text/csv': z.string() });

/** RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled. */
const csvField = (v: string | null) => {
  const s = v ?? '';
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** The licenses of one plan, as its admins read them (spec 5.6). */
export function licenseReadRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  const BASE = '/api/v1/subscriptions/:subscription_uuid/licenses';

  const filtered = (planUuid: string, f: LicenseFilters) => {
    let q = db.selectFrom('licenses as l').where('l.subscription_plan', '=', planUuid);
    for (const c of licenseConditions(f)) q = q.where(c);
    return q;
  };

  /** The plan for an admin; a missing plan is DRF's 404 for callers who may see every customer. */
  const adminPlan = async (req: Parameters<typeof planFor>[1], rawUuid: string) => {
    const plan = await planFor(db, req, rawUuid, SUBSCRIPTIONS_ADMIN_ROLES);
    if (!plan) throw notFound();
    return plan;
  };

  app.get(
    BASE,
    {
      onRequest: requireCaller,
      schema: {
        params: planParams,
        querystring: listQuery,
        documentedResponses: { 200: licenseListSchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const q = filtered(plan.uuid, { ...filtersOf(req.query), activeOnly: req.query.active_only });
      const ordering = parseOrdering(req.query.ordering);
      return paginateLicenses(
        req,
        () => countRows(q),
        async (limit, offset) => {
          let page = q.selectAll('l');
          // Upstream's default order is status, then email; an explicit ordering replaces it.
          if (ordering.length === 0) page = page.orderBy('l.status').orderBy('l.user_email');
          for (const o of ordering) page = page.orderBy(sql.ref(`l.${o.field}`), o.desc ? 'desc' : 'asc');
          const rows = await page.orderBy('l.uuid').limit(limit).offset(offset).execute();
          return rows.map(licenseRepresentation);
        },
      );
    },
  );

  app.get(
    `${BASE}/overview`,
    {
      onRequest: requireCaller,
      schema: {
        params: planParams,
        querystring: listQuery,
        documentedResponses: { 200: licenseOverviewSchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const rows = await filtered(plan.uuid, { ...filtersOf(req.query), activeOnly: req.query.active_only })
        .select(['l.status', sql<number>`count(*)::integer`.as('count')])
        .groupBy('l.status')
        .orderBy('count', 'desc')
        .orderBy('l.status')
        .execute();
      return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
    },
  );

  app.get(
    `${BASE}/csv`,
    {
      onRequest: requireCaller,
      schema: {
        params: planParams,
        documentedResponses: { 200: csvResponse },
        errors: { 404: DetailError },
      },
    },
    async (req, reply) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const rows = await db
        .selectFrom('licenses')
        .select(['status', 'user_email', 'activation_date', 'last_remind_date', 'activation_key'])
        .where('subscription_plan', '=', plan.uuid)
        .where('status', 'in', ['activated', 'assigned', 'revoked'])
        .orderBy('status')
        .orderBy('user_email')
        .execute();
      const lines = rows.map((r) =>
        [
          r.status,
          r.user_email,
          r.activation_date && iso(r.activation_date),
          r.last_remind_date && iso(r.last_remind_date),
          activationLink(plan.enterprise_customer_slug, r.activation_key),
        ]
          .map(csvField)
          .join(','),
      );
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="licenses-${plan.uuid}.csv"`)
        .send(`${[CSV_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`);
    },
  );

  app.get(
    `${BASE}/:license_uuid`,
    {
      onRequest: requireCaller,
      schema: { params: licenseParams, documentedResponses: { 200: licenseSchema }, errors: { 404: DetailError } },
    },
    async (req) => {
      const plan = await adminPlan(req, req.params.subscription_uuid);
      const uuid = uuidParam(req.params.license_uuid);
      const row = uuid
        ? await db
            .selectFrom('licenses')
            .selectAll()
            .where('uuid', '=', uuid)
            .where('subscription_plan', '=', plan.uuid)
            .executeTakeFirst()
        : undefined;
      if (!row) throw notFound();
      return licenseRepresentation(row);
    },
  );
}
