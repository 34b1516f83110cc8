import { requireRoles } from '../../lib/fastify/auth';
import { OPERATOR_ROLES } from '../../lib/jwt';

/**
 * Who may call the operator endpoints of the reference services (lms, license-manager): the
 * provisioning service user (`enterprise_provisioning_admin`) and support operators
 * (`enterprise_openedx_operator`). Upstream license-manager grants its provisioning endpoints to
 * `enterprise_provisioning_admin` only; the operator role gets them here too, as the operator
 * token is what back-office tooling and the orchestrator hold.
 */
export { OPERATOR_ROLES };

/** `onRequest` hook: 401 without a token, 403 without an operator role (before the body is validated). */
export const requireOperator = requireRoles(OPERATOR_ROLES);
