import type { TokenSource } from './http-client';
import { signToken } from './jwt';

/**
 * The worker's own identity towards the services: an operator token signed with the local
 * secret, re-signed a while before it expires. (A real deployment would get an OAuth2
 * client-credentials token from the LMS here instead.)
 */
export function serviceTokenSource(secret: string, issuer: string, audience?: string): TokenSource {
  let token = '';
  let renewAt = 0;
  return async () => {
    const now = Date.now();
    if (!token || now >= renewAt) {
      token = await signToken(
        secret,
        issuer,
        {
          roles: ['enterprise_openedx_operator:*', 'enterprise_provisioning_admin:*'],
          username: 'enterprise-access-worker',
          expiresIn: 3600,
        },
        audience,
      );
      renewAt = now + 45 * 60_000;
    }
    return token;
  };
}
