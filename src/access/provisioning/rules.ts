/**
 * Pure rules of provisioning (spec provisioning §4), kept apart from I/O so they read against
 * the spec and are tested table-driven. Workflow code imports this module.
 */

import { PRODUCT_ID_TO_CATALOG_QUERY_ID } from './constants';
import type { ProvisioningRequest } from './request';

export interface PlanIdentity {
  salesforce_opportunity_line_item: string | null;
  title: string;
  product?: number | null;
}

/**
 * Which existing plan of the agreement a requested plan is. With a line item: the plan with that
 * line item. Without one, upstream matched any plan whose line item was also null (so a trial
 * with a null line item was "reused" as the paid plan); here it is the plan with the same title
 * and product. The title must be unique in an agreement anyway, so no second plan can be made.
 */
export function matchPlan<P extends PlanIdentity>(plans: readonly P[], wanted: PlanIdentity): P | undefined {
  if (wanted.salesforce_opportunity_line_item) {
    return plans.find((p) => p.salesforce_opportunity_line_item === wanted.salesforce_opportunity_line_item);
  }
  return plans.find((p) => p.title === wanted.title && p.product === wanted.product);
}

/** Start + 1 calendar year; 29 February becomes 28 February (as dateutil's relativedelta does). */
export function addOneYear(iso: string): string {
  const d = new Date(iso);
  const next = new Date(d);
  next.setUTCFullYear(d.getUTCFullYear() + 1);
  if (next.getUTCMonth() !== d.getUTCMonth()) next.setUTCDate(0);
  return next.toISOString();
}

/** The first paid plan's dates: start defaults to the trial's expiration as license-manager returned it. */
export function paidPlanDates(
  paid: ProvisioningRequest['first_paid_subscription_plan'],
  trialExpiration: string,
): { start_date: string; expiration_date: string } {
  const start = paid.start_date ?? new Date(trialExpiration).toISOString();
  return { start_date: start, expiration_date: paid.expiration_date ?? addOneYear(start) };
}

/** Catalog title and query: the request's, else "<name> Subscription Catalog" and the trial product's query. */
export function catalogFor(req: ProvisioningRequest): { title: string; catalogQueryId: number } {
  const catalogQueryId =
    req.enterprise_catalog?.catalog_query_id ?? PRODUCT_ID_TO_CATALOG_QUERY_ID[req.trial_subscription_plan.product_id];
  if (catalogQueryId === undefined) {
    // The request schema refuses this case; kept as a guard for callers that skip it.
    throw new Error(
      `Cannot infer catalog_query_id: product_id ${req.trial_subscription_plan.product_id} not in mapping`,
    );
  }
  return {
    title: req.enterprise_catalog?.title ?? `${req.enterprise_customer.name} Subscription Catalog`,
    catalogQueryId,
  };
}

/** Requested admin emails, trimmed, de-duplicated case-insensitively, in request order. */
export function adminEmails(req: ProvisioningRequest): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { user_email } of req.pending_admins) {
    const key = user_email.trim().toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(user_email.trim());
    }
  }
  return out;
}
