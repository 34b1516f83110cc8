import { hasRole, OPERATOR_ROLES, type Principal } from './jwt';

/**
 * The strongest access a caller has to one enterprise customer, from its JWT roles: an operator
 * role (`enterprise_openedx_operator`, `enterprise_provisioning_admin`) for that customer or for
 * `*`, then `enterprise_admin`, then `enterprise_learner`, each for that customer or `*`. A role
 * is valid for its own context only: `enterprise_openedx_operator:<uuid>` operates on that
 * customer alone (edx-rbac contexts). Uuids compare case-insensitively. edx administrators are
 * operators everywhere.
 */
export type CustomerAccess = 'operator' | 'admin' | 'learner' | 'none';

/** Every role that gives some access to a customer (for a first gate before the customer is known). */
export const CUSTOMER_ROLES = [...OPERATOR_ROLES, 'enterprise_admin', 'enterprise_learner'] as const;

/** Operators of every customer: an operator role for `*`, or an edx administrator. */
export const isOperator = (p: Principal) => hasRole(p, OPERATOR_ROLES);

export function accessTo(p: Principal, customerUuid: string): CustomerAccess {
  if (hasRole(p, OPERATOR_ROLES, customerUuid)) return 'operator';
  if (hasRole(p, ['enterprise_admin'], customerUuid)) return 'admin';
  if (hasRole(p, ['enterprise_learner'], customerUuid)) return 'learner';
  return 'none';
}
