import { requireRoles } from '../../lib/fastify/auth';

/**
 * Who may call the LMS operator endpoints: the provisioning service user
 * (`enterprise_provisioning_admin`) and support operators (`enterprise_openedx_operator`).
 */
export const OPERATOR_ROLES = ['enterprise_openedx_operator', 'enterprise_provisioning_admin'] as const;

/** `onRequest` hook: 401 without a token, 403 without an operator role (before the body is validated). */
export const requireOperator = requireRoles(OPERATOR_ROLES);
