import type { FastifyRequest } from 'fastify';
import { isUuid, normalizeUuid } from '../../lib/drf/fields';
import { requirePrincipal } from '../../lib/fastify/auth';
import { forbidden } from '../../lib/http-errors';
import { hasRole, type Principal, roleContexts } from '../../lib/jwt';
import { requireRoleSomewhere } from '../common/auth';

/**
 * enterprise-catalog's role mapping (`SYSTEM_TO_FEATURE_ROLE_MAPPING`, `catalog/rules.py`), in the
 * JWT role format; each role counts for its own customer or for `*` only:
 * - catalog admin (`catalog.has_admin_access`: the catalogs' CRUD): `enterprise_catalog_admin`,
 *   `enterprise_openedx_operator`, `enterprise_admin`; the provisioning admin
 *   (`enterprise_provisioning_admin`) has the CRUD too (`catalog.has_provisioning_admin_access`);
 * - catalog learner (`catalog.has_learner_access`: contains_content_items, content metadata):
 *   the admins above and `enterprise_learner`.
 */
export const CATALOG_ADMIN_ROLES = [
  'enterprise_catalog_admin',
  'enterprise_openedx_operator',
  'enterprise_admin',
] as const;
export const CATALOG_CRUD_ROLES = [...CATALOG_ADMIN_ROLES, 'enterprise_provisioning_admin'] as const;
export const CATALOG_READ_ROLES = [...CATALOG_CRUD_ROLES, 'enterprise_learner'] as const;

/** `onRequest` hook: 401 without a token, 403 without any read role (the customer is checked later). */
export const requireReader = requireRoleSomewhere(CATALOG_READ_ROLES);

/** `onRequest` hook of the catalogs' CRUD: 401, or 403 without an admin role anywhere (learners included). */
export const requireCatalogAdmin = requireRoleSomewhere(CATALOG_CRUD_ROLES);

/** The customers whose catalogs the caller may see with `roles`: `all`, or the uuids its grants name. */
export function customersFor(p: Principal, roles: readonly string[]): 'all' | string[] {
  const contexts = roleContexts(p, roles);
  if (contexts === '*') return 'all';
  // Contexts that are not uuids name no customer (and must not reach a uuid comparison in SQL).
  return [...new Set(contexts.filter(isUuid).map(normalizeUuid))];
}

/** The customers whose catalogs the caller may read. */
export const readableCustomers = (p: Principal) => customersFor(p, CATALOG_READ_ROLES);

/** 403 unless the caller holds one of `roles` for `customer` (default: may read its catalogs). */
export function assertCanRead(
  req: FastifyRequest,
  customer: string,
  roles: readonly string[] = CATALOG_READ_ROLES,
): void {
  if (!hasRole(requirePrincipal(req), roles, isUuid(customer) ? normalizeUuid(customer) : customer)) throw forbidden();
}
