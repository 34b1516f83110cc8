import { OPERATOR_ROLES, type Principal } from './jwt';

/**
 * The strongest access a caller has to one enterprise customer, from its JWT roles:
 * operators (and edx administrators) everywhere; `enterprise_admin:<uuid>` and
 * `enterprise_learner:<uuid>` (or `:*`) for that customer. Uuids compare case-insensitively.
 */
export type CustomerAccess = 'operator' | 'admin' | 'learner' | 'none';

/** Operators (and edx administrators) act for every customer. */
export const isOperator = (p: Principal) =>
  p.administrator || p.roles.some((g) => (OPERATOR_ROLES as readonly string[]).includes(g.role));

export function accessTo(p: Principal, customerUuid: string): CustomerAccess {
  if (isOperator(p)) return 'operator';
  const customer = customerUuid.toLowerCase();
  const holds = (role: string) =>
    p.roles.some((g) => g.role === role && (g.context === '*' || g.context.toLowerCase() === customer));
  if (holds('enterprise_admin')) return 'admin';
  if (holds('enterprise_learner')) return 'learner';
  return 'none';
}
