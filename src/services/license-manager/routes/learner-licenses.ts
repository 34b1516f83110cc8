import { sql } from 'kysely';
import { z } from 'zod';
import { isUuid, normalizeUuid, queryFlag, uuidParam } from '../../../lib/drf/fields';
import { countRows, paginate } from '../../../lib/drf/pagination';
import type { ZodApp } from '../../../lib/fastify/app';
import { requirePrincipal } from '../../../lib/fastify/auth';
import { DetailError, FieldErrorMap, MessageError } from '../../../lib/fastify/error-schemas';
import { badRequest, forbidden, notFound } from '../../../lib/http-errors';
import { holdsRoleSomewhere, type Principal } from '../../../lib/jwt';
import { isUniqueViolation } from '../../../lib/pg-errors';
import type { ServiceContext } from '../../common/service';
import { findLicense, findLicenseForActivation, licenseConditions, lockPlan, parseOrdering } from '../license-store';
import { ALLOCATED_STATUSES, activationOutcome, TRANSITIONS } from '../license-transitions';
import { autoAppliedEmail, enqueueEmails, postActivationEmail } from '../outbox';
import { canReadCustomer, coversAllCustomers, SUBSCRIPTIONS_LEARNER_OR_ADMIN_ROLES } from '../permissions';
import {
  autoApplicablePlan,
  licenseRepresentation,
  minimalAgreementRepresentation,
  minimalPlanRepresentation,
} from '../representation';
import { learnerLicensePageSchema, learnerLicenseSchema, licensePageSchema } from '../response-schemas';
import type { CustomerAgreementRow, LicenseManagerDB, LicenseRow } from '../schema';
import { findAgreement, findPlan, type LmDb, loadPlanFacts, type PlanView, plansOfAgreements } from '../store';
import { filtersOf, licenseFilterQuery, messageError, planParams, requireCaller } from './shared';

const ROLES = SUBSCRIPTIONS_LEARNER_OR_ADMIN_ROLES;

const learnerLicensesQuery = z.object({
  enterprise_customer_uuid: z.string().optional(),
  active_plans_only: queryFlag(true),
  current_plans_only: queryFlag(true),
  include_revoked: queryFlag(false),
  ...licenseFilterQuery,
});
const activationQuery = z.object({ activation_key: z.string().optional() });
const agreementParams = z.object({ customer_agreement_uuid: z.string() });

const NO_JWT_EMAIL = '`email` is required and could not be found in your jwt';

/** The caller's email from the JWT, or 400 as upstream's UserDetailsFromJwtMixin. */
function jwtEmail(p: Principal): string {
  if (!p.email) throw messageError(400, NO_JWT_EMAIL);
  return p.email;
}

/**
 * Rewrites the user's stale license emails to the JWT's (ADR 0013: a learner who changed their
 * email keeps their licenses, found by lms_user_id). Stored lower-case, as assignment stores
 * them. A license is left alone where the new email already holds a seat in its plan: the
 * unique index would refuse it, and that seat is the one the new email should keep.
 */
async function rewriteStaleEmails(db: LmDb, lmsUserId: number, email: string) {
  const lower = email.toLowerCase();
  try {
    await db
      .updateTable('licenses as l')
      .set({ user_email: lower, modified: sql<Date>`now()` })
      .where('l.lms_user_id', '=', lmsUserId)
      .where(sql<boolean>`lower(l.user_email) is distinct from ${lower}`)
      .where((eb) =>
        eb.or([
          eb('l.status', 'not in', ALLOCATED_STATUSES),
          eb.not(
            eb.exists(
              eb
                .selectFrom('licenses as o')
                .select('o.uuid')
                .whereRef('o.subscription_plan', '=', 'l.subscription_plan')
                .where(sql<string>`lower(o.user_email)`, '=', lower)
                .where('o.status', 'in', ALLOCATED_STATUSES)
                .whereRef('o.uuid', '<>', 'l.uuid'),
            ),
          ),
        ]),
      )
      .execute();
  } catch (err) {
    // A concurrent assignment seated the new email meanwhile: the next read retries the rewrite.
    if (!isUniqueViolation(err)) throw err;
  }
}

/** The learner license representation (spec 5.10) for licenses of one agreement's plans. */
async function learnerViews(db: LmDb, agreement: CustomerAgreementRow) {
  const plans = await plansOfAgreements(db, [agreement.uuid]);
  const facts = await loadPlanFacts(db, plans);
  const now = new Date();
  const minimalAgreement = minimalAgreementRepresentation(agreement, plans, facts, now);
  const planByUuid = new Map(plans.map((p) => [p.uuid, p]));
  const render = (l: LicenseRow) => {
    const plan = planByUuid.get(l.subscription_plan);
    return {
      ...licenseRepresentation(l),
      customer_agreement: minimalAgreement,
      subscription_plan: plan ? minimalPlanRepresentation(plan, facts, now) : null,
    };
  };
  return { minimalAgreement, render };
}

const agreementOfPlan = async (db: LmDb, plan: PlanView) => {
  const agreement = await findAgreement(db, plan.customer_agreement);
  if (!agreement) throw new Error(`plan ${plan.uuid} has no agreement`);
  return agreement;
};

/** The learner-facing license endpoints (spec 5.4 auto-apply, 5.6 own license, 5.10, 5.11). */
export function learnerLicenseRoutes(app: ZodApp, ctx: ServiceContext<LicenseManagerDB>) {
  const { db } = ctx;

  /** The JWT's user id, else the LMS account of the JWT email (upstream falls back the same way). */
  async function lmsUserIdOf(p: Principal, email: string): Promise<number | null> {
    if (p.userId !== undefined) return p.userId;
    try {
      const res = await ctx.peer('lms').call<Array<{ id: number }>>({
        operation: 'find user',
        method: 'GET',
        path: '/api/user/v1/accounts',
        query: { email },
      });
      return res.body[0]?.id ?? null;
    } catch (err) {
      ctx.logger.warn({ err }, 'lms user lookup failed; activating without lms_user_id');
      return null;
    }
  }

  app.get(
    '/api/v1/learner-licenses',
    {
      onRequest: requireCaller,
      schema: {
        querystring: learnerLicensesQuery,
        documentedResponses: { 200: learnerLicensePageSchema },
        errors: { 400: [MessageError, FieldErrorMap] },
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const raw = req.query.enterprise_customer_uuid;
      if (!raw) throw messageError(400, 'missing enterprise_customer_uuid query param');
      if (!isUuid(raw)) throw badRequest({ enterprise_customer_uuid: ['Must be a valid UUID.'] });
      const customer = normalizeUuid(raw);
      if (!canReadCustomer(principal, customer, ROLES)) throw forbidden();

      const email = principal.email?.toLowerCase();
      const userId = principal.userId;
      let q = db
        .selectFrom('licenses as l')
        .innerJoin('subscription_plans as p', 'p.uuid', 'l.subscription_plan')
        .innerJoin('customer_agreements as a', 'a.uuid', 'p.customer_agreement')
        .where('a.enterprise_customer_uuid', '=', customer)
        // The caller's licenses: by the JWT's email or by its user id (ADR 0013).
        .where((eb) =>
          eb.or([
            email ? eb(sql<string>`lower(l.user_email)`, '=', email) : sql<boolean>`false`,
            userId !== undefined ? eb('l.lms_user_id', '=', userId) : sql<boolean>`false`,
          ]),
        );
      if (req.query.active_plans_only) q = q.where('p.is_active', '=', true);
      if (req.query.current_plans_only) {
        q = q.where('p.start_date', '<=', sql<Date>`now()`).where('p.expiration_date', '>=', sql<Date>`now()`);
      }
      if (!req.query.include_revoked) q = q.where('l.status', '<>', 'revoked');
      for (const c of licenseConditions(filtersOf(req.query))) q = q.where(c);

      // Licenses found by user id under an older email take the JWT's email before they are shown.
      if (email && userId !== undefined) {
        const stale = await q
          .select('l.uuid')
          .where(sql<boolean>`lower(l.user_email) is distinct from ${email}`)
          .limit(1)
          .executeTakeFirst();
        if (stale) await rewriteStaleEmails(db, userId, email);
      }

      const agreement = await db
        .selectFrom('customer_agreements')
        .selectAll()
        .where('enterprise_customer_uuid', '=', customer)
        .executeTakeFirst();
      const views = agreement ? await learnerViews(db, agreement) : undefined;
      const ordering = parseOrdering(req.query.ordering);
      const page = await paginate(
        req,
        () => countRows(q),
        async (limit, offset) => {
          let rows = q.selectAll('l');
          for (const o of ordering) rows = rows.orderBy(sql.ref(`l.${o.field}`), o.desc ? 'desc' : 'asc');
          // Upstream order: activated, assigned, revoked (status as text), latest-expiring plan first.
          if (ordering.length === 0) rows = rows.orderBy('l.status').orderBy('p.expiration_date', 'desc');
          const licenses = await rows.orderBy('l.uuid').limit(limit).offset(offset).execute();
          return views ? licenses.map(views.render) : [];
        },
      );
      return { ...page, customer_agreement: views?.minimalAgreement ?? null };
    },
  );

  app.post(
    '/api/v1/license-activation',
    {
      onRequest: requireCaller,
      schema: {
        querystring: activationQuery,
        documentedResponses: { 200: learnerLicenseSchema },
        errors: { 400: MessageError, 404: MessageError, 422: MessageError },
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      // Permission first, as upstream: a caller with no learner or admin role anywhere is a 403.
      if (!holdsRoleSomewhere(principal, ROLES)) throw forbidden();
      const key = req.query.activation_key;
      if (!key) throw messageError(400, 'activation_key is a required parameter');
      if (!isUuid(key)) throw messageError(400, `${key} is not a valid activation key.`);
      const email = jwtEmail(principal);
      const found = await findLicenseForActivation(db, normalizeUuid(key), email);
      if (!found) {
        throw messageError(404, `No current license exists for the email ${email} with activation key ${key}`);
      }
      const plan = await findPlan(db, found.subscription_plan);
      if (!plan || !canReadCustomer(principal, plan.enterprise_customer_uuid, ROLES)) throw forbidden();

      let license = found;
      if (activationOutcome(license.status) === 'activate') {
        const lmsUserId = await lmsUserIdOf(principal, email);
        license = await db.transaction().execute(async (trx) => {
          // Guarded by the state machine: of two concurrent activations one updates, the other
          // finds the license activated and answers the same 200. (Upstream also reset other
          // seats of the email in the plan here; the unique index means there are none.)
          const activated = await trx
            .updateTable('licenses')
            .set({
              status: TRANSITIONS.activate.to,
              activation_date: sql<Date>`now()`,
              lms_user_id: lmsUserId,
              modified: sql<Date>`now()`,
            })
            .where('uuid', '=', found.uuid)
            .where('status', 'in', TRANSITIONS.activate.from)
            .returningAll()
            .executeTakeFirst();
          if (activated && !plan.disable_onboarding_notifications) {
            await enqueueEmails(trx, [postActivationEmail(plan, activated)]);
          }
          return activated ?? (await findLicense(trx, found.uuid)) ?? found;
        });
      }
      if (activationOutcome(license.status) === 'refuse_revoked') {
        throw messageError(
          422,
          `Action: activation failed for license: ${license.uuid} because: Cannot activate a revoked license.`,
        );
      }
      return (await learnerViews(db, await agreementOfPlan(db, plan))).render(license);
    },
  );

  app.get(
    '/api/v1/subscriptions/:subscription_uuid/license',
    { onRequest: requireCaller, schema: { params: planParams, documentedResponses: { 200: licensePageSchema } } },
    async (req) => {
      const principal = requirePrincipal(req);
      const uuid = uuidParam(req.params.subscription_uuid);
      const plan = uuid ? await findPlan(db, uuid) : undefined;
      if (
        plan ? !canReadCustomer(principal, plan.enterprise_customer_uuid, ROLES) : !coversAllCustomers(principal, ROLES)
      ) {
        throw forbidden();
      }
      // The caller's own non-revoked licenses in the plan (none for a missing plan, as upstream).
      if (!plan || !principal.email)
        return paginate(
          req,
          async () => 0,
          async () => [],
        );
      const q = db
        .selectFrom('licenses as l')
        .where('l.subscription_plan', '=', plan.uuid)
        .where(sql<string>`lower(l.user_email)`, '=', principal.email.toLowerCase())
        .where('l.status', '<>', 'revoked');
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await q.selectAll('l').orderBy('l.status').orderBy('l.uuid').limit(limit).offset(offset).execute()).map(
            licenseRepresentation,
          ),
      );
    },
  );

  app.post(
    '/api/v1/customer-agreement/:customer_agreement_uuid/auto-apply',
    {
      onRequest: requireCaller,
      schema: {
        params: agreementParams,
        documentedResponses: { 200: learnerLicenseSchema },
        errors: { 400: MessageError, 404: DetailError, 422: MessageError },
      },
    },
    async (req) => autoApply(requirePrincipal(req), req.params.customer_agreement_uuid),
  );

  /**
   * ADR 0010: an SSO learner without a license gets one activated from the agreement's
   * auto-apply plan. Idempotent: a second call returns the same license, also when two calls
   * race (the plan lock orders them, the unique index would refuse a second seat).
   */
  async function autoApply(principal: Principal, rawUuid: string) {
    const uuid = uuidParam(rawUuid);
    const agreement = uuid ? await findAgreement(db, uuid) : undefined;
    if (!agreement) {
      if (coversAllCustomers(principal, ROLES)) throw notFound();
      throw forbidden();
    }
    if (!canReadCustomer(principal, agreement.enterprise_customer_uuid, ROLES)) throw forbidden();
    const email = jwtEmail(principal).toLowerCase();
    const plan = autoApplicablePlan(await plansOfAgreements(db, [agreement.uuid]), new Date());
    if (!plan) {
      throw messageError(
        422,
        'License was unable to be automatically applied. Please contact your administrator for further assistance.',
      );
    }
    const lmsUserId = await lmsUserIdOf(principal, email);
    const apply = () =>
      db.transaction().execute(async (trx) => {
        await lockPlan(trx, plan.uuid);
        const own = await trx
          .selectFrom('licenses')
          .selectAll()
          .where('subscription_plan', '=', plan.uuid)
          .where(sql<string>`lower(user_email)`, '=', email)
          .orderBy('uuid')
          .execute();
        if (own.some((l) => l.status === 'revoked')) {
          throw messageError(
            422,
            'You are not eligible for an auto-applied license. Please contact your administrator for further assistance.',
          );
        }
        const seated = own.find((l) => ALLOCATED_STATUSES.includes(l.status));
        if (seated) return seated;
        const license = await trx
          .updateTable('licenses')
          .set({
            status: TRANSITIONS.auto_apply.to,
            user_email: email,
            lms_user_id: lmsUserId,
            activation_key: sql<string>`gen_random_uuid()`,
            activation_date: sql<Date>`now()`,
            assigned_date: sql<Date>`now()`,
            last_remind_date: sql<Date>`now()`,
            auto_applied: true,
            modified: sql<Date>`now()`,
          })
          .where('uuid', '=', (eb) =>
            eb
              .selectFrom('licenses')
              .select('uuid')
              .where('subscription_plan', '=', plan.uuid)
              .where('status', 'in', TRANSITIONS.auto_apply.from)
              .orderBy('uuid')
              .limit(1)
              .forUpdate()
              .skipLocked(),
          )
          .returningAll()
          .executeTakeFirst();
        if (!license) {
          throw messageError(
            422,
            'There are no licenses remaining in your organization. Please contact your administrator for further assistance.',
          );
        }
        // An onboarding email: the agreement's switch turns it off as it does the others.
        if (!plan.disable_onboarding_notifications) await enqueueEmails(trx, [autoAppliedEmail(plan, license)]);
        return license;
      });
    let license: LicenseRow;
    try {
      license = await apply();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      license = await apply();
    }
    return (await learnerViews(db, agreement)).render(license);
  }
}
