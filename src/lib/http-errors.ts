/**
 * Errors a route throws on purpose. The error mapper turns them into the upstream (DRF) shapes:
 * `{"detail": "..."}` for most, a field map `{"field": ["message"]}` for validation.
 */
export type FieldErrors = { [field: string]: string[] | FieldErrors };

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    super(
      typeof body === 'object' && body && 'detail' in body
        ? String((body as { detail: unknown }).detail)
        : `HTTP ${statusCode}`,
    );
  }
}

export const detail = (statusCode: number, message: string) => new HttpError(statusCode, { detail: message });
export const badRequest = (fields: FieldErrors) => new HttpError(400, fields);
export const notFound = (message = 'Not found.') => detail(404, message);
export const unauthorized = (message = 'Authentication credentials were not provided.') => detail(401, message);
export const forbidden = (message = 'You do not have permission to perform this action.') => detail(403, message);
