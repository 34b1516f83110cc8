import { sql } from 'kysely';
import { z } from 'zod';
import {
  booleanField,
  choiceField,
  dateTimeField,
  inColumn,
  incorrectPkType,
  intField,
  invalidPk,
  maxLength,
  minLength,
  optionalUuidQuery,
  parseBody,
  presence,
  queryFlag,
  textField,
  unlessMissing,
  uuidField,
  uuidParam,
} from '../../../lib/drf/fields';
import { pageQuery } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { WrappedError } from '../../../lib/fastify/error-schemas';
import { type FieldErrors, HttpError } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { provisioningPlanListItem, provisioningPlanRepresentation } from '../representation';
import { provisioningPlanPageSchema, provisioningPlanSchema } from '../response-schemas';
import { CHANGE_REASONS, type LicenseManagerDB } from '../schema';
import {
  addUnassignedLicenses,
  countNonRevokedLicenses,
  findAgreement,
  findPlan,
  findProduct,
  type LmDb,
  loadPlanFacts,
  selectPlans,
} from '../store';
import { paginatePlans } from './shared';

/**
 * Provisioning of subscription plans (spec 5.2). Upstream's view wraps every failure as
 * `{"error": ...}` (a message string, or the serializer's field map); clients such as
 * enterprise-access match on those bodies, so they are kept exactly.
 */
const fail = (error: string | FieldErrors) => new HttpError(400, { error });
const wrap = (fields: FieldErrors) => ({ error: fields });
const NOT_FOUND = () => new HttpError(404, { error: 'No record found.' });

/** Upstream's plan cap for non-internal plans; we apply it to every plan. */
const MAX_LICENSES = 1_000_000;

/** A primary key as DRF's PrimaryKeyRelatedField reads it: an integer, or a string of digits. */
const productField = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
    z.number({ error: (iss) => presence(iss) ?? incorrectPkType(iss.input) }),
  );

/** The key is required; null is checked against the product's plan type afterwards. */
const salesforceLineItemField = () =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .nullable()
    .transform((s) => (s?.trim() ? s.trim() : null));

const planFields = {
  title: textField(128),
  start_date: dateTimeField(),
  expiration_date: dateTimeField(),
  desired_num_licenses: intField('integer', { min: 0, max: MAX_LICENSES }),
  product: productField(),
  change_reason: choiceField(CHANGE_REASONS),
  salesforce_opportunity_line_item: salesforceLineItemField(),
  enterprise_catalog_uuid: uuidField().nullable().optional(),
  is_active: booleanField().optional(),
  is_revocation_cap_enabled: booleanField().optional(),
  revoke_max_percentage: intField('integer', { min: 0, max: 100 }).optional(),
  for_internal_use_only: booleanField().optional(),
  can_freeze_unused_licenses: booleanField().optional(),
  should_auto_apply_licenses: booleanField().nullable().optional(),
};

const createBody = z.object({ ...planFields, customer_agreement: uuidField() });

/**
 * PATCH: `change_reason` is required, the rest optional. Read-only fields (customer_agreement,
 * expiration_processed, last_freeze_timestamp, num_revocations_applied) are ignored, as DRF
 * ignores read-only fields, so a client may send back the representation it got.
 */
const patchBody = z.object({
  change_reason: planFields.change_reason,
  title: planFields.title.optional(),
  start_date: planFields.start_date.optional(),
  expiration_date: planFields.expiration_date.optional(),
  desired_num_licenses: intField('integer', { min: 0, max: MAX_LICENSES }).nullable().optional(),
  product: planFields.product.optional(),
  salesforce_opportunity_line_item: planFields.salesforce_opportunity_line_item.optional(),
  enterprise_catalog_uuid: planFields.enterprise_catalog_uuid,
  is_active: planFields.is_active,
  is_revocation_cap_enabled: planFields.is_revocation_cap_enabled,
  revoke_max_percentage: planFields.revoke_max_percentage,
  for_internal_use_only: planFields.for_internal_use_only,
  can_freeze_unused_licenses: planFields.can_freeze_unused_licenses,
  should_auto_apply_licenses: planFields.should_auto_apply_licenses,
});

const onePlan = { 200: provisioningPlanSchema };
const planParams = z.object({ subscription_uuid: z.string() });
const listQuery = z.object({
  enterprise_customer_uuid: optionalUuidQuery(),
  customer_agreement: optionalUuidQuery(),
  active_plans_only: queryFlag(true),
  // The newer upstream's spelling of the same switch.
  include_inactive: queryFlag(false),
  ...pageQuery,
});

/** The product, or the DRF PrimaryKeyRelatedField error. */
async function resolveProduct(db: LmDb, id: number) {
  // An id outside `integer` names no product (and never reaches the query).
  const product = inColumn('integer', id, { min: 1 }) ? await findProduct(db, id) : undefined;
  if (!product) throw fail({ product: [invalidPk(id)] });
  return product;
}

/**
 * Upstream's Salesforce rule: a line item may be left out (null) only for a product whose plan
 * type does not require one (trials), or for a plan marked for internal use only (ADR 0007:
 * `for_internal_use_only` bypasses the id requirements; provisioning relies on it for the paid
 * plan, whose line item arrives later). Otherwise it must start with `00k`. Salesforce ids have
 * 18 characters (the column's length).
 */
function checkSalesforceLineItem(value: string | null, sfIdRequired: boolean, internalUseOnly: boolean) {
  if (value === null) {
    if (sfIdRequired && !internalUseOnly) {
      throw fail("An error occurred: You must specify Salesforce ID for selected product. It must start with '00k'.");
    }
    return;
  }
  if (!value.startsWith('00k')) {
    throw fail("An error occurred: Invalid Salesforce ID format. It must start with '00k'.");
  }
  if (value.length !== 18) {
    throw fail({ salesforce_opportunity_line_item: [value.length > 18 ? maxLength(18) : minLength(18)] });
  }
}

function checkDates(start: Date, expiration: Date) {
  if (start.getTime() >= expiration.getTime()) {
    throw fail({ expiration_date: ['The expiration date must be after the start date.'] });
  }
}

const NO_CATALOG = {
  enterprise_catalog_uuid: [
    'This field is required when the customer agreement has no default_enterprise_catalog_uuid.',
  ],
};
/** Duplicate title: the DB unique constraint's outcome, in Django's unique_together wording. */
const DUPLICATE_TITLE = { non_field_errors: ['The fields title, customer_agreement must make a unique set.'] };

async function withUniqueTitle<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw fail(DUPLICATE_TITLE);
    throw err;
  }
}

export function subscriptionRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  const renderPlan = async (uuid: string) => {
    const plan = await findPlan(db, uuid);
    if (!plan) throw NOT_FOUND();
    return provisioningPlanRepresentation(plan, await loadPlanFacts(db, [plan]), new Date());
  };

  app.post(
    '/api/v1/provisioning-admins/subscriptions',
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: createBody,
        documentedResponses: { 201: provisioningPlanSchema },
        errors: { 400: WrappedError },
      },
    },
    async (req, reply) => {
      const body = parseBody(createBody, req.body, wrap);
      const product = await resolveProduct(db, body.product);
      const agreement = await findAgreement(db, body.customer_agreement);
      if (!agreement) throw fail("An error occurred: Provided customer_agreement doesn't exist.");
      checkSalesforceLineItem(
        body.salesforce_opportunity_line_item,
        product.sf_id_required,
        body.for_internal_use_only ?? false,
      );
      checkDates(body.start_date, body.expiration_date);
      const catalog = body.enterprise_catalog_uuid ?? agreement.default_enterprise_catalog_uuid;
      if (!catalog) throw fail(NO_CATALOG);

      // The plan and its licenses commit together: a plan is never visible half-provisioned,
      // and a losing concurrent create of the same title leaves nothing behind.
      const uuid = await withUniqueTitle(() =>
        db.transaction().execute(async (trx) => {
          const plan = await trx
            .insertInto('subscription_plans')
            .values({
              title: body.title,
              customer_agreement: agreement.uuid,
              start_date: body.start_date,
              expiration_date: body.expiration_date,
              enterprise_catalog_uuid: catalog,
              is_active: body.is_active,
              is_revocation_cap_enabled: body.is_revocation_cap_enabled,
              revoke_max_percentage: body.revoke_max_percentage,
              salesforce_opportunity_line_item: body.salesforce_opportunity_line_item,
              product_id: product.id,
              for_internal_use_only: body.for_internal_use_only,
              can_freeze_unused_licenses: body.can_freeze_unused_licenses,
              should_auto_apply_licenses: body.should_auto_apply_licenses ?? null,
              desired_num_licenses: body.desired_num_licenses,
              change_reason: body.change_reason,
            })
            .returning('uuid')
            .executeTakeFirstOrThrow();
          await addUnassignedLicenses(trx, plan.uuid, body.desired_num_licenses);
          return plan.uuid;
        }),
      );
      return reply.code(201).send(await renderPlan(uuid));
    },
  );

  app.get(
    '/api/v1/provisioning-admins/subscriptions',
    {
      onRequest: requireOperator,
      schema: { querystring: listQuery, documentedResponses: { 200: provisioningPlanPageSchema } },
    },
    async (req) => {
      const { enterprise_customer_uuid: customer, customer_agreement: agreement } = req.query;
      const activeOnly = req.query.active_plans_only && !req.query.include_inactive;
      let q = selectPlans(db);
      if (customer) q = q.where('a.enterprise_customer_uuid', '=', customer);
      if (agreement) q = q.where('p.customer_agreement', '=', agreement);
      if (activeOnly) q = q.where('p.is_active', '=', true);
      return paginatePlans(db, req, q, provisioningPlanListItem);
    },
  );

  app.get(
    '/api/v1/provisioning-admins/subscriptions/:subscription_uuid',
    {
      onRequest: requireOperator,
      schema: { params: planParams, documentedResponses: onePlan, errors: { 404: WrappedError } },
    },
    async (req) => {
      const uuid = uuidParam(req.params.subscription_uuid);
      if (!uuid) throw NOT_FOUND();
      return renderPlan(uuid);
    },
  );

  app.patch(
    '/api/v1/provisioning-admins/subscriptions/:subscription_uuid',
    {
      onRequest: requireOperator,
      schema: {
        params: planParams,
        documentedBody: patchBody,
        documentedResponses: onePlan,
        errors: { 400: WrappedError, 404: WrappedError },
      },
    },
    async (req) => {
      const uuid = uuidParam(req.params.subscription_uuid);
      const current = uuid ? await findPlan(db, uuid) : undefined;
      if (!uuid || !current) throw NOT_FOUND();
      const body = parseBody(patchBody, req.body, wrap);

      let productId = current.product_id;
      if (body.product !== undefined || body.salesforce_opportunity_line_item !== undefined) {
        const product = await resolveProduct(db, body.product ?? current.product_id);
        productId = product.id;
        const lineItem =
          body.salesforce_opportunity_line_item !== undefined
            ? body.salesforce_opportunity_line_item
            : current.salesforce_opportunity_line_item;
        checkSalesforceLineItem(
          lineItem,
          product.sf_id_required,
          body.for_internal_use_only ?? current.for_internal_use_only,
        );
      }
      checkDates(body.start_date ?? current.start_date, body.expiration_date ?? current.expiration_date);
      let catalog = body.enterprise_catalog_uuid;
      if (catalog === null) {
        // As on create: clearing the catalog falls back to the agreement's default.
        const agreement = await findAgreement(db, current.customer_agreement);
        catalog = agreement?.default_enterprise_catalog_uuid ?? null;
        if (!catalog) throw fail(NO_CATALOG);
      }

      await withUniqueTitle(() =>
        db.transaction().execute(async (trx) => {
          // Row lock: two concurrent PATCHes raising desired_num_licenses must not both add the gap.
          const locked = await trx
            .selectFrom('subscription_plans')
            .select(['desired_num_licenses', 'last_freeze_timestamp'])
            .where('uuid', '=', uuid)
            .forUpdate()
            .executeTakeFirst();
          if (!locked) throw NOT_FOUND();
          await trx
            .updateTable('subscription_plans')
            .set({
              title: body.title,
              start_date: body.start_date,
              expiration_date: body.expiration_date,
              enterprise_catalog_uuid: catalog,
              is_active: body.is_active,
              is_revocation_cap_enabled: body.is_revocation_cap_enabled,
              revoke_max_percentage: body.revoke_max_percentage,
              salesforce_opportunity_line_item: body.salesforce_opportunity_line_item,
              product_id: productId,
              for_internal_use_only: body.for_internal_use_only,
              can_freeze_unused_licenses: body.can_freeze_unused_licenses,
              should_auto_apply_licenses: body.should_auto_apply_licenses,
              desired_num_licenses: body.desired_num_licenses,
              change_reason: body.change_reason,
              modified: sql<Date>`now()`,
            })
            .where('uuid', '=', uuid)
            .execute();
          // Upstream provision_licenses: top up to the desired count, never delete to reach a
          // lower one, and never add to a frozen plan (freezing deleted its unused licenses).
          const desired =
            body.desired_num_licenses !== undefined ? body.desired_num_licenses : locked.desired_num_licenses;
          if (desired !== null && locked.last_freeze_timestamp === null) {
            await addUnassignedLicenses(trx, uuid, desired - (await countNonRevokedLicenses(trx, uuid)));
          }
        }),
      );
      return renderPlan(uuid);
    },
  );
}
