/**
 * The errors a route or a service function throws on purpose, one class per kind of answer. The
 * one error mapper of every app (`lib/fastify/errors.ts`) turns them into the upstream (DRF)
 * shapes: `{"detail": "..."}` for most, a field map `{"field": ["message"]}` for validation.
 * Feature code throws the kind (`new NotFound()`, `new Unavailable(...)`); only the mapper knows
 * how each is written on the wire.
 */
export type FieldErrors = { [field: string]: string[] | FieldErrors };

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(
      typeof body === 'object' && body && 'detail' in body
        ? String((body as { detail: unknown }).detail)
        : `HTTP ${statusCode}`,
    );
  }
}

/** 400: the request's fields (a DRF field map) or the request as a whole (`{"detail"}`). */
export class InvalidInput extends HttpError {
  override name = 'InvalidInput';
  constructor(fields: FieldErrors | string) {
    super(400, typeof fields === 'string' ? { detail: fields } : fields);
  }
}

/** 401: no token, or a token that cannot be verified. */
class NotAuthenticated extends HttpError {
  override name = 'NotAuthenticated';
  constructor(message = 'Authentication credentials were not provided.') {
    super(401, { detail: message });
  }
}

/** 403: the caller's roles do not allow this. */
export class PermissionDenied extends HttpError {
  override name = 'PermissionDenied';
  constructor(message = 'You do not have permission to perform this action.') {
    super(403, { detail: message });
  }
}

/** 404. */
export class NotFound extends HttpError {
  override name = 'NotFound';
  constructor(message = 'Not found.') {
    super(404, { detail: message });
  }
}

/** 422: understood, but refused by a business rule; `body` is the upstream's own shape. */
export class Refused extends HttpError {
  override name = 'Refused';
  constructor(body: Record<string, unknown> | string) {
    super(422, typeof body === 'string' ? { detail: body } : body);
  }
}

/**
 * 503 with `Retry-After`: something this request needs (a downstream service, Temporal) cannot be
 * reached now; the same request may be repeated safely.
 */
export class Unavailable extends HttpError {
  override name = 'Unavailable';
  constructor(message: string, retryAfterSeconds = 5) {
    super(503, { detail: message }, { 'retry-after': String(retryAfterSeconds) });
  }
}

export const detail = (statusCode: number, message: string) => new HttpError(statusCode, { detail: message });
export const badRequest = (fields: FieldErrors) => new InvalidInput(fields);
export const notFound = (message?: string) => new NotFound(message);
export const unauthorized = (message?: string) => new NotAuthenticated(message);
export const forbidden = (message?: string) => new PermissionDenied(message);
