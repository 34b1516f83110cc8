import type { Principal } from '../../lib/jwt';
import { OPERATOR_ROLES } from '../common/auth';
import { isUuid, normalizeUuid } from '../common/fields';

/**
 * Role mapping of license-manager (spec §4), in the JWT role format. The provisioning endpoints
 * take the operator roles every reference service shares (`requireOperator` of ../common/auth).
 */

/** Who may read a customer's agreement: its admins and learners, or a role over every customer. */
export const AGREEMENT_READ_ROLES = ['enterprise_admin', 'enterprise_learner', ...OPERATOR_ROLES] as const;

/**
 * Which customers' records the caller may list: `all`, or the customer uuids its grants name
 * (upstream's PermissionRequiredForListingMixin filters the list the same way).
 */
export function readableCustomers(p: Principal, roles: readonly string[]): 'all' | string[] {
  if (p.administrator || p.roles.some((g) => roles.includes(g.role) && g.context === '*')) return 'all';
  // Contexts that are not uuids name no customer (and must not reach a uuid comparison in SQL).
  const contexts = p.roles
    .filter((g) => roles.includes(g.role) && isUuid(g.context))
    .map((g) => normalizeUuid(g.context));
  return [...new Set(contexts)];
}

/** True when the caller holds a read role for this customer (compared case-insensitively) or for all. */
export function canReadCustomer(p: Principal, customerUuid: string): boolean {
  const scope = readableCustomers(p, AGREEMENT_READ_ROLES);
  return scope === 'all' || scope.includes(customerUuid);
}
