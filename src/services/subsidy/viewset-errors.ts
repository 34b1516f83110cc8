import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The error body of upstream's SubsidyViewSet (`/api/v1/subsidies/…`, its `handle_exception`):
 * an error that DRF would answer as `{"detail": …}` becomes
 * `{"error_code": "<HTTP reason>", "developer_message": …, "user_message": …}` (other keys kept);
 * field errors and bare JSON strings pass unchanged. Added as an `onSend` hook of those routes only.
 */
export async function viewsetErrorShape(_req: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body) || !('detail' in body)) return payload;
  const { detail, ...rest } = body as { detail: unknown };
  return JSON.stringify({
    ...rest,
    error_code: STATUS_CODES[reply.statusCode] ?? 'unknown_error',
    developer_message: detail,
    user_message: detail,
  });
}
