import { type RevocationCap, revocationsView } from './revocation-rules';
import type { CustomerAgreementRow, LicenseRow, RenewalRow } from './schema';
import type { LicenseCounts, PlanFacts, PlanView, RenewalFact } from './store';

/**
 * The upstream serializers as pure functions of rows and pre-loaded facts. Times are ISO-8601
 * UTC strings, uuids lower-case strings (Postgres returns them so).
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Upstream SUBSCRIPTION_PLAN_RENEWAL_LOCK_PERIOD_HOURS. */
const RENEWAL_LOCK_PERIOD_HOURS = 12;

export const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));
const time = (d: Date | string) => new Date(d).getTime();

/** Upstream `days_until`: whole days of the timedelta, floored (negative once past). */
export const daysUntil = (d: Date | string, now: Date) => Math.floor((time(d) - now.getTime()) / DAY_MS);

export const isCurrent = (plan: Pick<PlanView, 'start_date' | 'expiration_date'>, now: Date) =>
  time(plan.start_date) <= now.getTime() && now.getTime() <= time(plan.expiration_date);

/** The renewals after `plan`, following renewed plans forward (a cycle stops the walk). */
function futureRenewals(planUuid: string, facts: PlanFacts): RenewalFact[] {
  const out: RenewalFact[] = [];
  const seen = new Set<string>([planUuid]);
  let r = facts.renewalByPrior.get(planUuid);
  while (r) {
    out.push(r);
    const next = r.renewed_subscription_plan;
    if (!next || seen.has(next)) break;
    seen.add(next);
    r = facts.renewalByPrior.get(next);
  }
  return out;
}

/** The renewals that led to `plan`, oldest first. */
function priorRenewals(planUuid: string, facts: PlanFacts): RenewalFact[] {
  const out: RenewalFact[] = [];
  const seen = new Set<string>([planUuid]);
  let r = facts.renewalByRenewed.get(planUuid);
  while (r) {
    out.push(r);
    const prev = r.prior_subscription_plan;
    if (seen.has(prev)) break;
    seen.add(prev);
    r = facts.renewalByRenewed.get(prev);
  }
  return out.reverse();
}

/** Upstream: days until the furthest renewal's expiration if the plan has renewals, else its own. */
export function daysUntilExpirationIncludingRenewals(plan: PlanView, facts: PlanFacts, now: Date): number {
  const renewals = futureRenewals(plan.uuid, facts);
  if (renewals.length === 0) return daysUntil(plan.expiration_date, now);
  return daysUntil(new Date(Math.max(...renewals.map((r) => time(r.renewed_expiration_date)))), now);
}

/** Locked while its renewal's effective date is in the future but less than 12 hours away. */
function isLockedForRenewalProcessing(plan: PlanView, facts: PlanFacts, now: Date): boolean {
  const renewal = facts.renewalByPrior.get(plan.uuid);
  if (!renewal) return false;
  const hours = (time(renewal.effective_date) - now.getTime()) / HOUR_MS;
  return hours >= 0 && hours < RENEWAL_LOCK_PERIOD_HOURS;
}

/** `total` excludes revoked licenses: each revocation adds a fresh unassigned one. */
export function licenseCounts(c: LicenseCounts) {
  return {
    total: c.unassigned + c.assigned + c.activated,
    allocated: c.assigned + c.activated,
    unassigned: c.unassigned,
    activated: c.activated,
    assigned: c.assigned,
    revoked: c.revoked,
  };
}

const countsOf = (plan: PlanView, facts: PlanFacts): LicenseCounts =>
  facts.counts.get(plan.uuid) ?? { unassigned: 0, assigned: 0, activated: 0, revoked: 0 };

/** The plan's revocation cap as the pure rules take it (`total` excludes revoked licenses). */
export const capOf = (
  plan: Pick<PlanView, 'is_revocation_cap_enabled' | 'revoke_max_percentage' | 'num_revocations_applied'>,
  counts: LicenseCounts,
): RevocationCap => ({
  enabled: plan.is_revocation_cap_enabled,
  maxPercentage: plan.revoke_max_percentage,
  applied: plan.num_revocations_applied,
  total: counts.unassigned + counts.assigned + counts.activated,
});

const revocations = (plan: PlanView, counts: LicenseCounts) => revocationsView(capOf(plan, counts));

function priorRenewalsOf(plan: PlanView, facts: PlanFacts) {
  return priorRenewals(plan.uuid, facts).map((r) => ({
    prior_subscription_plan_id: r.prior_subscription_plan,
    prior_subscription_plan_start_date: iso(r.prior_start_date),
    renewed_subscription_plan_id: r.renewed_subscription_plan,
    renewed_subscription_plan_start_date: isoOrNull(r.renewed_start_date),
  }));
}

/** Upstream MinimalSubscriptionPlanSerializer: nested in learner licenses. */
export function minimalPlanRepresentation(plan: PlanView, facts: PlanFacts, now: Date) {
  return {
    title: plan.title,
    uuid: plan.uuid,
    start_date: iso(plan.start_date),
    expiration_date: iso(plan.expiration_date),
    enterprise_customer_uuid: plan.enterprise_customer_uuid,
    enterprise_catalog_uuid: plan.enterprise_catalog_uuid,
    is_active: plan.is_active,
    is_revocation_cap_enabled: plan.is_revocation_cap_enabled,
    days_until_expiration: daysUntil(plan.expiration_date, now),
    days_until_expiration_including_renewals: daysUntilExpirationIncludingRenewals(plan, facts, now),
    is_locked_for_renewal_processing: isLockedForRenewalProcessing(plan, facts, now),
    should_auto_apply_licenses: plan.should_auto_apply_licenses,
  };
}

/** Fields every plan representation shares. */
function planBase(plan: PlanView, facts: PlanFacts, now: Date) {
  return {
    ...minimalPlanRepresentation(plan, facts, now),
    is_current: isCurrent(plan, now),
    created: iso(plan.created),
    plan_type: plan.plan_type,
    salesforce_opportunity_line_item: plan.salesforce_opportunity_line_item,
  };
}

/**
 * The admin/learner plan representation (spec 5.5), also nested in customer agreements. It has
 * no `product` key: upstream's quirk, which enterprise-access relies on (it reads the product
 * from the provisioning endpoints only), so it is kept.
 */
export function planRepresentation(plan: PlanView, facts: PlanFacts, now: Date) {
  const counts = countsOf(plan, facts);
  return {
    ...planBase(plan, facts, now),
    licenses: licenseCounts(counts),
    revocations: revocations(plan, counts),
    prior_renewals: priorRenewalsOf(plan, facts),
  };
}

/** The provisioning plan representation (spec 5.2), plus the license counts. */
export function provisioningPlanRepresentation(plan: PlanView, facts: PlanFacts, now: Date) {
  return {
    ...planBase(plan, facts, now),
    can_freeze_unused_licenses: plan.can_freeze_unused_licenses,
    customer_agreement: plan.customer_agreement,
    desired_num_licenses: plan.desired_num_licenses,
    expiration_processed: plan.expiration_processed,
    for_internal_use_only: plan.for_internal_use_only,
    last_freeze_timestamp: isoOrNull(plan.last_freeze_timestamp),
    num_revocations_applied: plan.num_revocations_applied,
    product: plan.product_id,
    revoke_max_percentage: plan.revoke_max_percentage,
    change_reason: plan.change_reason,
    licenses: licenseCounts(countsOf(plan, facts)),
  };
}

/** A provisioning list item: as upstream's list serializer, it also carries revocations and renewals. */
export function provisioningPlanListItem(plan: PlanView, facts: PlanFacts, now: Date) {
  const counts = countsOf(plan, facts);
  return {
    ...provisioningPlanRepresentation(plan, facts, now),
    revocations: revocations(plan, counts),
    prior_renewals: priorRenewalsOf(plan, facts),
  };
}

/**
 * Upstream MinimalCustomerAgreementSerializer (nested in learner licenses). `plans` are all of
 * the agreement's plans, newest start first: the derived fields look at all of them (upstream's
 * `net_days_until_expiration` does too).
 */
export function minimalAgreementRepresentation(
  agreement: CustomerAgreementRow,
  plans: readonly PlanView[],
  facts: PlanFacts,
  now: Date,
) {
  const netDays = plans.reduce((max, p) => Math.max(max, daysUntilExpirationIncludingRenewals(p, facts, now)), 0);
  // Latest-starting plan that auto-applies and is active and current (plans come newest first).
  const autoApplied = autoApplicablePlan(plans, now);
  const catalogs = new Set<string>();
  for (const p of plans) {
    if (p.is_active && daysUntilExpirationIncludingRenewals(p, facts, now) > 0) catalogs.add(p.enterprise_catalog_uuid);
  }
  return {
    uuid: agreement.uuid,
    enterprise_customer_uuid: agreement.enterprise_customer_uuid,
    enterprise_customer_slug: agreement.enterprise_customer_slug,
    default_enterprise_catalog_uuid: agreement.default_enterprise_catalog_uuid,
    disable_expiration_notifications: agreement.disable_expiration_notifications,
    net_days_until_expiration: netDays,
    subscription_for_auto_applied_licenses: autoApplied?.uuid ?? null,
    available_subscription_catalogs: [...catalogs].sort(),
  };
}

/** Upstream `auto_applicable_subscription`: of plans newest start first, the first active, current auto-apply one. */
export const autoApplicablePlan = <P extends PlanView>(plans: readonly P[], now: Date): P | undefined =>
  plans.find((p) => p.should_auto_apply_licenses === true && p.is_active && isCurrent(p, now));

/**
 * The customer agreement (spec 5.4): the minimal one plus `subscriptions`, the active plans
 * unless `activePlansOnly` is false.
 */
export function agreementRepresentation(
  agreement: CustomerAgreementRow,
  plans: readonly PlanView[],
  facts: PlanFacts,
  now: Date,
  activePlansOnly = true,
) {
  return {
    ...minimalAgreementRepresentation(agreement, plans, facts, now),
    enable_auto_applied_subscriptions_with_universal_link:
      agreement.enable_auto_applied_subscriptions_with_universal_link,
    subscriptions: plans.filter((p) => !activePlansOnly || p.is_active).map((p) => planRepresentation(p, facts, now)),
  };
}

/** Upstream LicenseSerializer (spec 5.6). */
export function licenseRepresentation(l: LicenseRow) {
  return {
    uuid: l.uuid,
    status: l.status,
    user_email: l.user_email,
    activation_date: isoOrNull(l.activation_date),
    last_remind_date: isoOrNull(l.last_remind_date),
    subscription_plan_uuid: l.subscription_plan,
    revoked_date: isoOrNull(l.revoked_date),
    activation_key: l.activation_key,
  };
}

/** The plans' titles and the customer a renewal belongs to (upstream's serializer reads them through the plans). */
export interface RenewalFacts {
  prior_subscription_plan_title: string | null;
  renewed_subscription_plan_title: string | null;
  enterprise_customer_uuid: string | null;
}

export function renewalRepresentation(r: RenewalRow, facts: RenewalFacts) {
  return {
    id: r.id,
    prior_subscription_plan: r.prior_subscription_plan,
    prior_subscription_plan_title: facts.prior_subscription_plan_title,
    renewed_subscription_plan: r.renewed_subscription_plan,
    renewed_subscription_plan_title: facts.renewed_subscription_plan_title,
    enterprise_customer_uuid: facts.enterprise_customer_uuid,
    salesforce_opportunity_id: r.salesforce_opportunity_id,
    number_of_licenses: r.number_of_licenses,
    effective_date: iso(r.effective_date),
    renewed_expiration_date: iso(r.renewed_expiration_date),
    renewed_plan_title: r.renewed_plan_title,
    license_types_to_copy: r.license_types_to_copy,
    disable_auto_apply_licenses: r.disable_auto_apply_licenses,
    exempt_from_batch_processing: r.exempt_from_batch_processing,
    processed: r.processed,
    processed_datetime: isoOrNull(r.processed_datetime),
    created: iso(r.created),
    modified: iso(r.modified),
  };
}
