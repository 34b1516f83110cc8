import { z } from 'zod';
import {
  booleanField,
  choiceField,
  dateTimeField,
  intField,
  intParam,
  invalidPk,
  minLength,
  optionalUuidQuery,
  parseBody,
  textField,
  uuidField,
} from '../../../lib/drf/fields';
import { countRows, pageQuery, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { DetailError, FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { badRequest, type FieldErrors, notFound } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { renewalRepresentation } from '../representation';
import { renewalPageSchema, renewalSchema } from '../response-schemas';
import { LICENSE_TYPES_TO_COPY, type LicenseManagerDB, type RenewalRow } from '../schema';
import { findRenewal, type LmDb } from '../store';

/** Salesforce ids are 18 characters; the upstream model enforces both bounds. */
const salesforceIdField = () => textField(18).refine((s) => s.length >= 18, { error: minLength(18) });

const createBody = z.object({
  prior_subscription_plan: uuidField(),
  renewed_subscription_plan: uuidField().nullable().optional(),
  // Named "opportunity id" upstream, but enterprise-access sends an opportunity line item.
  salesforce_opportunity_id: salesforceIdField().nullable().optional(),
  // The plan size cap (spec 2.3) bounds a renewal too.
  number_of_licenses: intField('integer', { min: 1, max: 1_000_000 }),
  effective_date: dateTimeField(),
  renewed_expiration_date: dateTimeField(),
  renewed_plan_title: textField(128).nullable().optional(),
  license_types_to_copy: choiceField(LICENSE_TYPES_TO_COPY).optional(),
  disable_auto_apply_licenses: booleanField().optional(),
  exempt_from_batch_processing: booleanField().optional(),
});

const listQuery = z.object({
  prior_subscription_plan: optionalUuidQuery(),
  renewed_subscription_plan: optionalUuidQuery(),
  ...pageQuery,
});
const renewalParams = z.object({ id: z.string() });

type Match = { kind: 'exact' | 'conflict'; renewal: RenewalRow };

/**
 * The get-or-create lookup: the renewal with exactly this (prior, renewed) pair, else one that
 * shares either plan (a plan renews at most once and is renewed into at most once), else none.
 */
async function matchRenewal(db: LmDb, prior: string, renewed: string | null): Promise<Match | undefined> {
  const rows = await db
    .selectFrom('subscription_plan_renewals')
    .selectAll()
    .where((eb) =>
      renewed === null
        ? eb('prior_subscription_plan', '=', prior)
        : eb.or([eb('prior_subscription_plan', '=', prior), eb('renewed_subscription_plan', '=', renewed)]),
    )
    .orderBy('id')
    .execute();
  const exact = rows.find((r) => r.prior_subscription_plan === prior && r.renewed_subscription_plan === renewed);
  if (exact) return { kind: 'exact', renewal: exact };
  const conflict = rows.find((r) => r.prior_subscription_plan === prior) ?? rows[0];
  return conflict ? { kind: 'conflict', renewal: conflict } : undefined;
}

const planExists = (db: LmDb, uuid: string) =>
  db
    .selectFrom('subscription_plans')
    .select(['uuid', 'customer_agreement', 'start_date'])
    .where('uuid', '=', uuid)
    .executeTakeFirst();

/** Upstream's renewal validation: both plans exist, share the agreement, and the dates are in order. */
async function validate(db: LmDb, body: z.output<typeof createBody>, renewed: string | null): Promise<void> {
  const errors: FieldErrors = {};
  const prior = await planExists(db, body.prior_subscription_plan);
  if (!prior) errors.prior_subscription_plan = [invalidPk(body.prior_subscription_plan)];
  const next = renewed === null ? null : await planExists(db, renewed);
  if (renewed !== null && !next) errors.renewed_subscription_plan = [invalidPk(renewed)];
  if (Object.keys(errors).length) throw badRequest(errors);
  if (!prior) return;
  if (next) {
    // Not checked upstream; a plan renewing into itself would make a renewal chain a loop.
    if (next.uuid === prior.uuid) {
      throw badRequest({ renewed_subscription_plan: ['A subscription plan cannot be renewed into itself.'] });
    }
    if (next.customer_agreement !== prior.customer_agreement) {
      throw badRequest({
        renewed_subscription_plan: [
          'The prior and renewed subscription plans must belong to the same customer agreement.',
        ],
      });
    }
  }
  if (body.effective_date.getTime() < new Date(prior.start_date).getTime()) {
    throw badRequest({
      effective_date: ["The renewal's effective date must be on or after the prior plan's start date."],
    });
  }
  if (body.renewed_expiration_date.getTime() <= body.effective_date.getTime()) {
    throw badRequest({ renewed_expiration_date: ['The renewed expiration date must be after the effective date.'] });
  }
}

/** Renewals with their plans' titles and customer, read once for the page. */
async function renderRenewals(db: LmDb, rows: RenewalRow[]) {
  const uuids = [...new Set(rows.flatMap((r) => [r.prior_subscription_plan, r.renewed_subscription_plan]))].filter(
    (u): u is string => u !== null,
  );
  const plans =
    uuids.length === 0
      ? []
      : await db
          .selectFrom('subscription_plans as p')
          .innerJoin('customer_agreements as a', 'a.uuid', 'p.customer_agreement')
          .select(['p.uuid', 'p.title', 'a.enterprise_customer_uuid'])
          .where('p.uuid', 'in', uuids)
          .execute();
  const byUuid = new Map(plans.map((p) => [p.uuid, p]));
  return rows.map((r) => {
    const prior = byUuid.get(r.prior_subscription_plan);
    const renewed = r.renewed_subscription_plan ? byUuid.get(r.renewed_subscription_plan) : undefined;
    return renewalRepresentation(r, {
      prior_subscription_plan_title: prior?.title ?? null,
      renewed_subscription_plan_title: renewed?.title ?? null,
      enterprise_customer_uuid: prior?.enterprise_customer_uuid ?? null,
    });
  });
}

/**
 * Subscription plan renewals (spec 5.3): a prior plan renews into a future plan. Creation is a
 * get-or-create on the (prior, renewed) pair so provisioning can repeat it safely: 201 new,
 * 200 the same pair again, 422 (with the conflicting record) when either plan already has
 * another renewal. The unique constraints on both columns make that hold under concurrency.
 */
export function renewalRoutes(app: ZodApp, { db }: ServiceContext<LicenseManagerDB>) {
  const PATH = '/api/v1/provisioning-admins/subscription-plan-renewals';

  app.post(
    PATH,
    {
      onRequest: requireOperator,
      schema: {
        documentedBody: createBody,
        // 200 the same renewal again; 422 the renewal that already holds either plan.
        documentedResponses: { 200: renewalSchema, 201: renewalSchema, 422: renewalSchema },
        errors: { 400: FieldErrorMap },
      },
    },
    async (req, reply) => {
      const body = parseBody(createBody, req.body);
      const prior = body.prior_subscription_plan;
      const renewed = body.renewed_subscription_plan ?? null;
      const answer = async (m: Match) =>
        reply.code(m.kind === 'exact' ? 200 : 422).send((await renderRenewals(db, [m.renewal]))[0]);

      const existing = await matchRenewal(db, prior, renewed);
      if (existing) return answer(existing);
      await validate(db, body, renewed);
      try {
        const row = await db
          .insertInto('subscription_plan_renewals')
          .values({
            prior_subscription_plan: prior,
            renewed_subscription_plan: renewed,
            salesforce_opportunity_id: body.salesforce_opportunity_id ?? null,
            number_of_licenses: body.number_of_licenses,
            effective_date: body.effective_date,
            renewed_expiration_date: body.renewed_expiration_date,
            renewed_plan_title: body.renewed_plan_title ?? null,
            license_types_to_copy: body.license_types_to_copy,
            disable_auto_apply_licenses: body.disable_auto_apply_licenses,
            exempt_from_batch_processing: body.exempt_from_batch_processing,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return reply.code(201).send((await renderRenewals(db, [row]))[0]);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // A concurrent create won the race: answer as if it had been there first.
        const winner = await matchRenewal(db, prior, renewed);
        if (winner) return answer(winner);
        throw err;
      }
    },
  );

  app.get(
    PATH,
    { onRequest: requireOperator, schema: { querystring: listQuery, documentedResponses: { 200: renewalPageSchema } } },
    async (req) => {
      let q = db.selectFrom('subscription_plan_renewals');
      if (req.query.prior_subscription_plan)
        q = q.where('prior_subscription_plan', '=', req.query.prior_subscription_plan);
      if (req.query.renewed_subscription_plan) {
        q = q.where('renewed_subscription_plan', '=', req.query.renewed_subscription_plan);
      }
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          renderRenewals(db, await q.selectAll().orderBy('id').limit(limit).offset(offset).execute()),
      );
    },
  );

  app.get(
    `${PATH}/:id`,
    {
      onRequest: requireOperator,
      schema: { params: renewalParams, documentedResponses: { 200: renewalSchema }, errors: { 404: DetailError } },
    },
    async (req) => {
      const id = intParam(req.params.id, 'integer', { min: 1 });
      const row = id === undefined ? undefined : await findRenewal(db, id);
      if (!row) throw notFound();
      return (await renderRenewals(db, [row]))[0];
    },
  );
}
