import { z } from 'zod';
import { isCountryCode } from '../../../lib/countries';
import { BLANK, maxLength, queryText } from '../../../lib/drf/fields';
import { countRows, pageQuery, pageSchema, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError } from '../../../lib/fastify/error-schemas';
import { badRequest, notFound } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { text, uuidFilter } from '../fields';
import type { CustomerRow, LmsDB } from '../schema';
import { customerBySlug, customerByUuid, customerView, customerViews, siteByDomain } from '../store';

const BASE = '/enterprise/api/v1/enterprise-customer';
/** PROVISIONING_DEFAULTS.customer.site_domain upstream. */
const DEFAULT_SITE_DOMAIN = 'example.com';
const SLUG_TAKEN = 'enterprise customer with this slug already exists.';
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const customerSchema = z.object({
  uuid: z.string(),
  name: z.string(),
  slug: z.string(),
  active: z.boolean(),
  country: z.string(),
  site: z.object({ domain: z.string(), name: z.string() }),
  enable_portal_subscription_management_screen: z.boolean(),
  enable_analytics_screen: z.boolean(),
  enterprise_customer_catalogs: z.array(z.string()),
  admin_users: z.array(z.object({ email: z.string(), lms_user_id: z.number().int() })),
  created: z.string(),
  modified: z.string(),
});

const createCustomerBody = z.object({
  name: text(255),
  slug: z
    .string()
    .min(1, BLANK)
    .max(30, maxLength(30))
    .regex(/^[-a-zA-Z0-9_]+$/, 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'),
  // django-countries: a choice among the ISO codes; stored upper-cased.
  country: z
    .string()
    .refine(isCountryCode, { error: (issue) => `"${String(issue.input)}" is not a valid choice.` })
    .transform((c) => c.toUpperCase()),
  site: z.object({ domain: text(100) }).optional(),
  enable_portal_subscription_management_screen: z.boolean().optional(),
  enable_analytics_screen: z.boolean().optional(),
});

/**
 * edx-enterprise `enterprise-customer/`. Reads cover active customers only (upstream's queryset is
 * `EnterpriseCustomer.active_customers`). Create is not get-or-create upstream: the orchestrator
 * looks the slug up first, and a duplicate slug is a 400, also when two creates race.
 */
export function enterpriseCustomerRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  app.get(
    BASE,
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({ slug: queryText().optional(), uuid: uuidFilter(), ...pageQuery }),
        response: { 200: pageSchema(customerSchema) },
      },
    },
    async (req) => {
      const { slug, uuid } = req.query;
      let q = db.selectFrom('enterprise_customers').where('active', '=', true);
      if (slug !== undefined) q = q.where('slug', '=', slug);
      if (uuid !== undefined) q = q.where('uuid', '=', uuid);
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          customerViews(
            db,
            await q.selectAll().orderBy('created').orderBy('uuid').limit(limit).offset(offset).execute(),
          ),
      );
    },
  );

  app.get(
    `${BASE}/:uuid`,
    {
      onRequest: requireOperator,
      schema: {
        params: z.object({ uuid: z.string() }),
        response: { 200: customerSchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => {
      // A malformed uuid matches no URL upstream: 404, not a 400 or a database error.
      const row = GUID.test(req.params.uuid)
        ? await customerByUuid(db, req.params.uuid, { activeOnly: true })
        : undefined;
      if (!row) throw notFound();
      return customerView(db, row);
    },
  );

  app.post(
    BASE,
    {
      onRequest: requireOperator,
      schema: { body: createCustomerBody, response: { 201: customerSchema } },
    },
    async (req, reply) => {
      const { site, ...fields } = req.body;
      const domain = site?.domain ?? DEFAULT_SITE_DOMAIN;
      const siteRow = await siteByDomain(db, domain);
      if (!siteRow) {
        // Report both record-level problems at once, as a DRF serializer does.
        const taken = await customerBySlug(db, fields.slug);
        throw badRequest({
          ...(taken ? { slug: [SLUG_TAKEN] } : {}),
          site: { domain: ['Site with this domain does not exist.'] },
        });
      }
      let created: CustomerRow;
      try {
        created = await db
          .insertInto('enterprise_customers')
          .values({ ...fields, site_domain: domain })
          .returningAll()
          .executeTakeFirstOrThrow();
      } catch (err) {
        // The slug's unique constraint is the only check, so a duplicate and a concurrent create
        // that won the race between two requests get the same 400 (never a 500).
        if (isUniqueViolation(err)) throw badRequest({ slug: [SLUG_TAKEN] });
        throw err;
      }
      return reply.code(201).send(await customerView(db, created));
    },
  );
}
