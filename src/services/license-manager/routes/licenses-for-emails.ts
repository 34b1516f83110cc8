import { sql } from 'kysely';
import { z } from 'zod';
import { emailItem, invalidPk, listField, parseBody, uuidField } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError, FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { badRequest, notFound } from '../../../lib/http-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { uniqueEmails } from '../assignment-rules';
import { compareLearnerLicenses } from '../license-transitions';
import { activationLink } from '../outbox';
import { isCurrent, iso } from '../representation';
import { licensesForEmailsSchema } from '../response-schemas';
import type { LicenseManagerDB } from '../schema';

/** One call answers for a whole bulk-enrollment request (upstream's pair limit is 500 per request). */
export const MAX_LOOKUP_EMAILS = 1000;

const lookupBody = z.object({
  enterprise_customer_uuid: uuidField(),
  emails: listField(emailItem(), { max: MAX_LOOKUP_EMAILS }),
  subscription_uuid: uuidField().nullable().optional(),
});

const isoOrNull = (d: Date | null) => (d === null ? null : iso(d));

/**
 * `POST /api/v1/licenses-for-emails/` (operators and service tokens only; not an upstream
 * endpoint): the licenses a set of learners hold with one customer, for the bulk-enrollment
 * workflow to decide in one call which (email, course) pairs are licensed: a license counts
 * when it is activated or assigned, its plan is active and current, and the plan's catalog
 * holds the course. It replaces upstream's `check_missing_licenses` query, which matched emails
 * case-sensitively and ignored status and plan dates (spec 6.4).
 *
 * Request: `{"enterprise_customer_uuid": uuid, "emails": [1..1000 emails], "subscription_uuid"?: uuid | null}`.
 * Response 200: `{"enterprise_customer_uuid", "customer_agreement_uuid", "results": [{"email",
 * "licenses": [{"license_uuid", "status", "user_email", "lms_user_id", "activation_key",
 * "activation_link", "assigned_date", "activation_date", "revoked_date", "subscription_plan_uuid",
 * "subscription_plan_title", "plan_is_active", "plan_is_current", "start_date", "expiration_date",
 * "enterprise_catalog_uuid"}]}]}`: one result per distinct (lower-cased) email in request order;
 * its assigned, activated and revoked licenses (never unassigned ones), activated first, then
 * assigned, then revoked, each latest-expiring plan first. 404 without a customer agreement;
 * 400 naming the field for bad input (a `subscription_uuid` outside the agreement included).
 */
export function licensesForEmailsRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  app.post(
    '/api/v1/licenses-for-emails',
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: lookupBody,
        documentedResponses: { 200: licensesForEmailsSchema },
        errors: { 400: FieldErrorMap, 404: DetailError },
      },
    },
    async (req) => {
      const body = parseBody(lookupBody, req.body);
      const agreement = await db
        .selectFrom('customer_agreements')
        .select('uuid')
        .where('enterprise_customer_uuid', '=', body.enterprise_customer_uuid)
        .executeTakeFirst();
      if (!agreement) {
        throw notFound(`No customer agreement exists for enterprise customer ${body.enterprise_customer_uuid}.`);
      }
      const planUuid = body.subscription_uuid ?? undefined;
      if (planUuid) {
        const plan = await db
          .selectFrom('subscription_plans')
          .select('uuid')
          .where('uuid', '=', planUuid)
          .where('customer_agreement', '=', agreement.uuid)
          .executeTakeFirst();
        if (!plan) throw badRequest({ subscription_uuid: [invalidPk(planUuid)] });
      }

      const emails = uniqueEmails(body.emails);
      let q = db
        .selectFrom('licenses as l')
        .innerJoin('subscription_plans as p', 'p.uuid', 'l.subscription_plan')
        .innerJoin('customer_agreements as a', 'a.uuid', 'p.customer_agreement')
        .select([
          sql<string>`lower(l.user_email)`.as('email'),
          'l.uuid',
          'l.status',
          'l.user_email',
          'l.lms_user_id',
          'l.activation_key',
          'l.assigned_date',
          'l.activation_date',
          'l.revoked_date',
          'p.uuid as plan_uuid',
          'p.title',
          'p.is_active',
          'p.start_date',
          'p.expiration_date',
          'p.enterprise_catalog_uuid',
          'a.enterprise_customer_slug',
        ])
        .where('p.customer_agreement', '=', agreement.uuid)
        .where('l.status', '<>', 'unassigned')
        // lower(user_email) = any(...) uses the licenses_user_email_lower_idx expression index.
        .where(sql<string>`lower(l.user_email)`, '=', sql<string>`any(${emails}::text[])`);
      if (planUuid) q = q.where('p.uuid', '=', planUuid);
      const rows = await q.execute();

      const now = new Date();
      const byEmail = new Map<string, typeof rows>();
      for (const r of rows) byEmail.set(r.email, [...(byEmail.get(r.email) ?? []), r]);
      return {
        enterprise_customer_uuid: body.enterprise_customer_uuid,
        customer_agreement_uuid: agreement.uuid,
        results: emails.map((email) => ({
          email,
          licenses: (byEmail.get(email) ?? []).sort(compareLearnerLicenses).map((r) => ({
            license_uuid: r.uuid,
            status: r.status,
            user_email: r.user_email,
            lms_user_id: r.lms_user_id,
            activation_key: r.activation_key,
            activation_link:
              r.status === 'assigned' ? activationLink(r.enterprise_customer_slug, r.activation_key) : null,
            assigned_date: isoOrNull(r.assigned_date),
            activation_date: isoOrNull(r.activation_date),
            revoked_date: isoOrNull(r.revoked_date),
            subscription_plan_uuid: r.plan_uuid,
            subscription_plan_title: r.title,
            plan_is_active: r.is_active,
            plan_is_current: isCurrent(r, now),
            start_date: iso(r.start_date),
            expiration_date: iso(r.expiration_date),
            enterprise_catalog_uuid: r.enterprise_catalog_uuid,
          })),
        })),
      };
    },
  );
}
