import { sql } from 'kysely';
import { z } from 'zod';
import { choiceField, optionalUuidQuery, queryText } from '../../../lib/drf/fields';
import { countRows, pageQuery, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { outboxRepresentation } from '../outbox';
import { outboxPageSchema } from '../response-schemas';
import { EMAIL_KINDS, type LicenseManagerDB } from '../schema';

const listQuery = z.object({
  enterprise_customer_uuid: optionalUuidQuery(),
  subscription_plan: optionalUuidQuery(),
  license: optionalUuidQuery(),
  recipient: queryText().optional(),
  kind: choiceField(EMAIL_KINDS).optional(),
  ...pageQuery,
});

/**
 * `GET /api/v1/email-outbox/` (operators only; not an upstream endpoint): the emails
 * license-manager would have sent, oldest first, DRF-paginated. Filters: `enterprise_customer_uuid`,
 * `subscription_plan`, `license`, `recipient` (case-insensitive) and `kind` (license_assignment,
 * license_reminder, post_activation, auto_applied_license, revocation_cap_reached). Each item:
 * `{id, kind, recipient, subject, enterprise_customer_uuid, subscription_plan_uuid, license_uuid,
 * payload, created, sent_at}`; `payload` holds what the upstream Braze campaign received
 * (activation link, custom greeting/closing, plan and customer facts).
 */
export function emailOutboxRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  app.get(
    '/api/v1/email-outbox',
    { onRequest: requireOperator, schema: { querystring: listQuery, documentedResponses: { 200: outboxPageSchema } } },
    async (req) => {
      const { enterprise_customer_uuid: customer, subscription_plan: plan, license, recipient, kind } = req.query;
      let q = db.selectFrom('email_outbox');
      if (customer) q = q.where('enterprise_customer_uuid', '=', customer);
      if (plan) q = q.where('subscription_plan', '=', plan);
      if (license) q = q.where('license', '=', license);
      if (recipient) q = q.where(sql<string>`lower(recipient)`, '=', recipient.trim().toLowerCase());
      if (kind) q = q.where('kind', '=', kind);
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await q.selectAll().orderBy('id').limit(limit).offset(offset).execute()).map(outboxRepresentation),
      );
    },
  );
}
