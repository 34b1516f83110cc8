import type { FastifyRequest } from 'fastify';
import { requirePrincipal, requireRoleSomewhere, requireRoles } from '../../lib/fastify/auth';
import { forbidden } from '../../lib/http-errors';
import { hasRole, OPERATOR_ROLES, type Principal } from '../../lib/jwt';

/**
 * Who may call the operator endpoints of the reference services (lms, license-manager): the
 * provisioning service user (`enterprise_provisioning_admin`) and support operators
 * (`enterprise_openedx_operator`). Upstream license-manager grants its provisioning endpoints to
 * `enterprise_provisioning_admin` only; the operator role gets them here too, as the operator
 * token is what back-office tooling and the orchestrator hold.
 *
 * A role is valid for its own context only (edx-rbac): `enterprise_openedx_operator:<uuid>`
 * operates on that customer's records alone, `:*` on every customer's.
 */
export { OPERATOR_ROLES };

/**
 * `onRequest` hook for actions on no one customer (create a customer, list or import
 * everything): 401 without a token, 403 without an operator role for `*`, before the body is read.
 */
export const requireOperator = requireRoles(OPERATOR_ROLES);

/**
 * `onRequest` hook: 401 without a token, 403 unless the caller holds one of `roles` for some
 * customer, before the body is read (as upstream checks permission first). Only a first gate: the
 * route then checks the role against the customer of the record it acts on (`requireRoleFor`).
 */
export { requireRoleSomewhere };

/** `onRequest` gate of operator routes on one customer's records; `requireOperatorFor` follows. */
export const requireOperatorSomewhere = requireRoleSomewhere(OPERATOR_ROLES);

/** 403 unless the caller holds one of `roles` for `customer` (or for `*`). */
export function requireRoleFor(p: Principal, roles: readonly string[], customer: string): void {
  if (!hasRole(p, roles, customer)) throw forbidden();
}

/** 403 unless the caller is an operator of `customer` (scoped to it, or of every customer). */
export const requireOperatorFor = (req: FastifyRequest, customer: string): void =>
  requireRoleFor(requirePrincipal(req), OPERATOR_ROLES, customer);

/** True for operators of every customer (`*`) and edx administrators. */
export const isGlobalOperator = (p: Principal): boolean => hasRole(p, OPERATOR_ROLES);
