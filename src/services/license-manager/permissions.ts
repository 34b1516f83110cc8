import { isUuid, normalizeUuid } from '../../lib/drf/fields';
import type { Principal } from '../../lib/jwt';
import { OPERATOR_ROLES } from '../common/auth';

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

/**
 * Upstream's feature roles of the lifecycle endpoints (spec §4): `enterprise_admin` and
 * `enterprise_openedx_operator` make a subscriptions admin, `enterprise_learner` a subscriptions
 * learner. The provisioning role grants the provisioning endpoints only, as upstream.
 */
export const SUBSCRIPTIONS_ADMIN_ROLES = ['enterprise_admin', 'enterprise_openedx_operator'] as const;
export const SUBSCRIPTIONS_LEARNER_OR_ADMIN_ROLES = [...SUBSCRIPTIONS_ADMIN_ROLES, 'enterprise_learner'] as const;

/** True when the caller holds one of `roles` for this customer (compared case-insensitively) or for all. */
export function canReadCustomer(p: Principal, customerUuid: string, roles: readonly string[] = AGREEMENT_READ_ROLES) {
  const scope = readableCustomers(p, roles);
  return scope === 'all' || scope.includes(customerUuid);
}

/** True for callers whose role covers every customer (superusers, `*` grants). */
export const coversAllCustomers = (p: Principal, roles: readonly string[]) => readableCustomers(p, roles) === 'all';
