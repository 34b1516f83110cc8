import { isUuid, normalizeUuid } from '../../lib/drf/fields';
import { forbidden } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import { OPERATOR_ROLES } from '../common/auth';

/**
 * Role mapping of enterprise-subsidy, in the JWT role format. Writes take the operator roles
 * (`requireOperator`). Reads follow upstream's feature roles: operators everywhere; a customer's
 * admins (`can_read_all_transactions`) see its subsidies and every transaction; its learners
 * (`can_read_subsidies`, `can_read_transactions`) see its subsidies and their own transactions
 * only, never other learners'.
 */

export type Access = 'operator' | 'admin' | 'learner' | 'none';

const grantsFor = (p: Principal, role: string) =>
  p.roles.filter((g) => g.role === role).map((g) => (isUuid(g.context) ? normalizeUuid(g.context) : g.context));

/** The strongest access the caller has to one customer's subsidies (uuids compared case-insensitively). */
export function accessTo(p: Principal, customerUuid: string): Access {
  if (p.administrator || p.roles.some((g) => (OPERATOR_ROLES as readonly string[]).includes(g.role))) {
    return 'operator';
  }
  const customer = normalizeUuid(customerUuid);
  const holds = (role: string) => grantsFor(p, role).some((c) => c === '*' || c === customer);
  if (holds('enterprise_admin')) return 'admin';
  if (holds('enterprise_learner')) return 'learner';
  return 'none';
}

/** 403 unless the caller may read this customer's subsidies at all. */
export function requireReader(p: Principal, customerUuid: string): Access {
  const access = accessTo(p, customerUuid);
  if (access === 'none') throw forbidden();
  return access;
}

/** 403 unless the caller may read every transaction of this customer's subsidies (operator or admin). */
export function requireAdminReader(p: Principal, customerUuid: string): void {
  const access = accessTo(p, customerUuid);
  if (access !== 'operator' && access !== 'admin') throw forbidden();
}

/** 403 unless the caller may read this learner's transactions: admins and operators, or the learner. */
export function requireLearnerReader(p: Principal, customerUuid: string, lmsUserId: number | null): void {
  const access = requireReader(p, customerUuid);
  if (access === 'learner' && (p.userId === undefined || p.userId !== lmsUserId)) throw forbidden();
}

/**
 * Which customers' subsidies the caller may list: `all`, or the customer uuids its read grants
 * name (a grant for `*` of a customer role counts as all, as upstream's `ALL_ACCESS_CONTEXT`).
 */
export function readableCustomers(p: Principal): 'all' | string[] {
  if (p.administrator || p.roles.some((g) => (OPERATOR_ROLES as readonly string[]).includes(g.role))) return 'all';
  const contexts = [...grantsFor(p, 'enterprise_admin'), ...grantsFor(p, 'enterprise_learner')];
  if (contexts.includes('*')) return 'all';
  return [...new Set(contexts.filter(isUuid))];
}
