import type { FastifyRequest } from 'fastify';
import { requirePrincipal } from '../../lib/fastify/auth';
import { forbidden } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import { OPERATOR_ROLES, requireRoleSomewhere } from '../common/auth';
import { isUuid, normalizeUuid } from '../common/fields';

/**
 * Who may read a catalog (upstream `catalog.has_learner_access`): the admins and learners of its
 * customer, and operators. Writes take the operator roles (`requireOperator` of ../common/auth).
 */
export const CATALOG_READ_ROLES = ['enterprise_admin', 'enterprise_learner', ...OPERATOR_ROLES] as const;

/** `onRequest` hook: 401 without a token, 403 without any read role (the customer is checked later). */
export const requireReader = requireRoleSomewhere(CATALOG_READ_ROLES);

const isReadRole = (role: string) => (CATALOG_READ_ROLES as readonly string[]).includes(role);

/** The customers whose catalogs the caller may read: `all`, or the uuids its grants name. */
export function readableCustomers(p: Principal): 'all' | string[] {
  if (p.administrator || p.roles.some((g) => isReadRole(g.role) && g.context === '*')) {
    return 'all';
  }
  // Contexts that are not uuids name no customer (and must not reach a uuid comparison in SQL).
  const contexts = p.roles.filter((g) => isReadRole(g.role) && isUuid(g.context)).map((g) => normalizeUuid(g.context));
  return [...new Set(contexts)];
}

/** 403 unless the caller may read `customer`'s catalogs. */
export function assertCanRead(req: FastifyRequest, customer: string): void {
  const scope = readableCustomers(requirePrincipal(req));
  if (scope !== 'all' && !(isUuid(customer) && scope.includes(normalizeUuid(customer)))) throw forbidden();
}
