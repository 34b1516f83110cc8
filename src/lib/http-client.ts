import { Agent, request, errors as undiciErrors } from 'undici';

/**
 * The base of every service client: JSON over undici with a service token, and one rule for
 * what a failure means. Network faults, timeouts, 5xx, 408 and 429 are transient (retry);
 * any other 4xx is the downstream refusing the request (do not retry; surface its message).
 */
export class ServiceError extends Error {
  override name = 'ServiceError';
  constructor(
    readonly service: string,
    readonly operation: string,
    readonly retryable: boolean,
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** The downstream's own words: DRF `detail`, a field map, or the raw text. */
export function describeBody(body: unknown): string {
  if (body === undefined || body === null || body === '') return '';
  if (typeof body === 'string') return body.slice(0, 500);
  if (typeof body === 'object' && 'detail' in body && typeof body.detail === 'string') return body.detail;
  return JSON.stringify(body).slice(0, 500);
}

export type TokenSource = () => Promise<string>;

export interface HttpClientOptions {
  service: string;
  baseUrl: string;
  token: TokenSource;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  dispatcher?: Agent;
}

export interface CallOptions {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** An array value repeats the parameter (`state=a&state=b`), as DRF multiple-choice filters expect. */
  query?: Record<string, string | number | boolean | readonly (string | number)[] | undefined>;
  body?: unknown;
  /** Statuses that are answers, not failures (e.g. 404 for a lookup). Default: 2xx only. */
  accept?: readonly number[];
  headers?: Record<string, string>;
}

export interface CallResult<T> {
  status: number;
  body: T;
}

const sharedAgent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

export class HttpClient {
  readonly service: string;
  readonly baseUrl: string;
  private readonly token: TokenSource;
  private readonly timeoutMs: number;
  private readonly dispatcher: Agent;

  constructor(opts: HttpClientOptions) {
    this.service = opts.service;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.dispatcher = opts.dispatcher ?? sharedAgent;
  }

  async call<T>(opts: CallOptions): Promise<CallResult<T>> {
    const url = new URL(this.baseUrl + opts.path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, String(item));
      else if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const fail = (retryable: boolean, message: string, status?: number, body?: unknown) =>
      new ServiceError(
        this.service,
        opts.operation,
        retryable,
        `${this.service} ${opts.operation}: ${message}`,
        status,
        body,
      );
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        method: opts.method,
        dispatcher: this.dispatcher,
        headers: {
          accept: 'application/json',
          authorization: `JWT ${await this.token()}`,
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).name;
      const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
      throw fail(true, `${timeout ? 'timed out' : 'unreachable'} (${code}: ${(err as Error).message})`);
    }
    const text = await res.body.text().catch(() => '');
    let body: unknown = text;
    if (text && String(res.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const ok = (res.statusCode >= 200 && res.statusCode < 300) || opts.accept?.includes(res.statusCode);
    if (!ok) {
      const words = describeBody(body);
      throw fail(
        isRetryableStatus(res.statusCode),
        `HTTP ${res.statusCode}${words ? ` ${words}` : ''}`,
        res.statusCode,
        body,
      );
    }
    return { status: res.statusCode, body: body as T };
  }
}
