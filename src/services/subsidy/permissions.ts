import type { FastifyRequest } from 'fastify';
import { isUuid, normalizeUuid } from '../../lib/drf/fields';
import { requirePrincipal } from '../../lib/fastify/auth';
import { forbidden } from '../../lib/http-errors';
import { hasRole, type Principal, roleContexts } from '../../lib/jwt';
import { OPERATOR_ROLES } from '../common/auth';

/**
 * enterprise-subsidy's rules (`apps/subsidy/rules.py`) in the JWT role format. Three access
 * levels, each including the ones below: operator (`enterprise_openedx_operator`, and here also
 * `enterprise_provisioning_admin`), admin (`enterprise_admin`), learner (`enterprise_learner`).
 * Every permission is checked against one customer (the context), and a role counts for its own
 * customer or for `*` only: an operator scoped to a customer operates on that customer alone.
 *
 * - `can_read_subsidies`, `can_read_all_transactions`: admin level;
 * - `can_read_transactions` (a learner's own): learner level;
 * - `can_write_subsidies`, `can_create_transactions`, `can_create_deposits`: operator level.
 *
 * Upstream finds no context for a subsidy that does not exist, so such a request is refused (403)
 * before any lookup, even for an operator.
 */

export type Access = 'operator' | 'admin' | 'learner' | 'none';

export const ADMIN_LEVEL_ROLES = [...OPERATOR_ROLES, 'enterprise_admin'] as const;

export const PERMISSIONS = {
  readSubsidies: 'subsidy.can_read_subsidies',
  writeSubsidies: 'subsidy.can_write_subsidies',
  readTransactions: 'subsidy.can_read_transactions',
  readAllTransactions: 'subsidy.can_read_all_transactions',
  createTransactions: 'subsidy.can_create_transactions',
  createDeposits: 'subsidy.can_create_deposits',
} as const;
type Permission = (typeof PERMISSIONS)[keyof typeof PERMISSIONS];

const LEVEL: Record<Permission, Access> = {
  'subsidy.can_read_subsidies': 'admin',
  'subsidy.can_read_all_transactions': 'admin',
  'subsidy.can_read_transactions': 'learner',
  'subsidy.can_write_subsidies': 'operator',
  'subsidy.can_create_transactions': 'operator',
  'subsidy.can_create_deposits': 'operator',
};
const RANK: Record<Access, number> = { none: 0, learner: 1, admin: 2, operator: 3 };

/** The strongest access the caller has to one customer's subsidies (uuids compared case-insensitively). */
export function accessTo(p: Principal, customerUuid: string): Access {
  if (hasRole(p, OPERATOR_ROLES, customerUuid)) return 'operator';
  if (hasRole(p, ['enterprise_admin'], customerUuid)) return 'admin';
  if (hasRole(p, ['enterprise_learner'], customerUuid)) return 'learner';
  return 'none';
}

/** True when the caller holds `permission` for the customer; a null customer (unknown subsidy) has no holder. */
export const holds = (p: Principal, permission: Permission, customerUuid: string | null): boolean =>
  customerUuid !== null && RANK[accessTo(p, customerUuid)] >= RANK[LEVEL[permission]];

/**
 * 403 unless the caller holds `permission` on the customer. The message names the permission as
 * upstream's two permission checks do: the viewsets' `MISSING: …`, the decorated v2 views' `Missing: …`.
 */
export function requirePermission(
  req: FastifyRequest,
  permission: Permission,
  customerUuid: string | null,
  style: 'viewset' | 'decorator',
): Access {
  const p = requirePrincipal(req);
  if (!holds(p, permission, customerUuid)) {
    throw forbidden(`${style === 'viewset' ? 'MISSING' : 'Missing'}: ${permission}`);
  }
  return accessTo(p, customerUuid as string);
}

/**
 * Which customers' subsidies the caller may list (`PermissionRequiredForListingMixin` with the
 * admin and operator roles): `all` for a `*` grant, else the customer uuids its grants name.
 */
export function readableCustomers(p: Principal): 'all' | string[] {
  const contexts = roleContexts(p, ADMIN_LEVEL_ROLES);
  if (contexts === '*') return 'all';
  return [...new Set(contexts.filter(isUuid).map(normalizeUuid))];
}

/** True for callers who may read every customer's subsidies (operators or admins for `*`). */
export const readsEveryCustomer = (p: Principal) => hasRole(p, ADMIN_LEVEL_ROLES);

export { forbidden };
