/** JSON over HTTP against the test stack's services, authenticated with a JWT as service calls are. */

export type Json = Record<string, unknown>;

/** A response: its status and its JSON body (null when the body is empty). */
export interface Res<T = Json> {
  status: number;
  body: T;
}

/** A DRF-paginated list. */
export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/**
 * One request to `url`: `body`, when given, is sent as JSON; `token`, when given, as
 * `authorization: JWT <token>`.
 */
export async function request<T = Json>(
  method: string,
  url: string,
  body?: unknown,
  token?: string | null,
): Promise<Res<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `JWT ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/**
 * Calls to one service. `auth` left out (undefined) sends the client's default token; null sends
 * no authorization header.
 */
export interface ServiceClient {
  call<T = Json>(method: string, path: string, body?: unknown, auth?: string | null): Promise<Res<T>>;
  get<T = Json>(path: string, auth?: string | null): Promise<Res<T>>;
  post<T = Json>(path: string, body: unknown, auth?: string | null): Promise<Res<T>>;
  put<T = Json>(path: string, body: unknown, auth?: string | null): Promise<Res<T>>;
  /** Token first: undefined (or null) sends no authorization header. */
  callAs<T = Json>(token: string | null | undefined, method: string, path: string, body?: unknown): Promise<Res<T>>;
}

/**
 * A client for the service at `base()`, calling with `defaultToken()` unless told otherwise. Both
 * are read at each call, so they may be set in a `beforeAll`. A path starting with `http` (a
 * pagination link) is used as it is; any other is appended to the base.
 */
export function serviceClient(base: () => string, defaultToken: () => string | null | undefined): ServiceClient {
  const call = <T = Json>(method: string, path: string, body?: unknown, auth?: string | null) =>
    request<T>(
      method,
      path.startsWith('http') ? path : `${base()}${path}`,
      body,
      auth === undefined ? defaultToken() : auth,
    );
  return {
    call,
    get: <T = Json>(path: string, auth?: string | null) => call<T>('GET', path, undefined, auth),
    post: <T = Json>(path: string, body: unknown, auth?: string | null) => call<T>('POST', path, body, auth),
    put: <T = Json>(path: string, body: unknown, auth?: string | null) => call<T>('PUT', path, body, auth),
    callAs: <T = Json>(token: string | null | undefined, method: string, path: string, body?: unknown) =>
      call<T>(method, path, body, token ?? null),
  };
}
