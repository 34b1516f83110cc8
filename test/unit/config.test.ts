import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadConfig } from '../../src/lib/config';

/** Runs loadConfig and returns the ConfigError it throws (fails the test if it does not throw one). */
function configError(source: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(source)}) did not throw`);
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('uses the documented default ports', () => {
    expect(config.ports).toEqual({
      api: 8000,
      lms: 8001,
      'license-manager': 8002,
      catalog: 8003,
      subsidy: 8004,
    });
    expect(config.env.TEMPORAL_PORT).toBe(7233);
    expect(config.env.TEMPORAL_UI_PORT).toBe(8233);
  });

  it('points every service URL at 127.0.0.1 and its default port', () => {
    expect(config.serviceUrls).toEqual({
      lms: 'http://127.0.0.1:8001',
      'license-manager': 'http://127.0.0.1:8002',
      catalog: 'http://127.0.0.1:8003',
      subsidy: 'http://127.0.0.1:8004',
    });
  });

  it('fills in the other defaults and leaves optional settings unset', () => {
    expect(config.env).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      DATA_DIR: '.data',
      DATABASE_POOL_SIZE: 10,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'enterprise-access',
      HOST: '127.0.0.1',
      JWT_ISSUER: 'enterprise-access-local',
      FAULT_INJECTION: false,
    });
    for (const key of [
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_CLI',
      'LMS_URL',
      'LICENSE_MANAGER_URL',
      'CATALOG_URL',
      'SUBSIDY_URL',
      'JWT_SECRET',
      'JWT_AUDIENCE',
      'JWT_JWKS_URL',
    ] as const) {
      expect(config.env[key], key).toBeUndefined();
    }
  });

  it('resolves DATA_DIR to an absolute path', () => {
    expect(config.dataDir).toBe(path.resolve('.data'));
    expect(loadConfig({ DATA_DIR: '/srv/state' }).dataDir).toBe('/srv/state');
  });

  it('does not read process.env when given an explicit source', () => {
    // process.env in the test runner certainly differs from this; the result must depend on the argument only.
    expect(loadConfig({ API_PORT: '9100' }).ports.api).toBe(9100);
    expect(loadConfig({}).ports.api).toBe(8000);
  });
});

describe('loadConfig overrides', () => {
  it('coerces port variables to numbers', () => {
    const config = loadConfig({
      API_PORT: '9000',
      LMS_PORT: '9001',
      LICENSE_MANAGER_PORT: '9002',
      CATALOG_PORT: '9003',
      SUBSIDY_PORT: '9004',
      TEMPORAL_PORT: '17233',
      TEMPORAL_UI_PORT: '18233',
    });
    expect(config.ports).toEqual({ api: 9000, lms: 9001, 'license-manager': 9002, catalog: 9003, subsidy: 9004 });
    expect(config.env.TEMPORAL_PORT).toBe(17233);
    expect(config.env.TEMPORAL_UI_PORT).toBe(18233);
  });

  it('builds default service URLs from the configured service ports', () => {
    const config = loadConfig({ LMS_PORT: '9101', SUBSIDY_PORT: '9104' });
    expect(config.serviceUrls.lms).toBe('http://127.0.0.1:9101');
    expect(config.serviceUrls.subsidy).toBe('http://127.0.0.1:9104');
    expect(config.serviceUrls.catalog).toBe('http://127.0.0.1:8003');
  });

  it('uses LMS_URL, LICENSE_MANAGER_URL, CATALOG_URL and SUBSIDY_URL when set', () => {
    const config = loadConfig({
      LMS_URL: 'http://lms:18000',
      LICENSE_MANAGER_URL: 'https://licenses.example.com',
      CATALOG_URL: 'http://catalog.internal:8080/base',
      SUBSIDY_URL: 'http://subsidy:18280',
    });
    expect(config.serviceUrls).toEqual({
      lms: 'http://lms:18000',
      'license-manager': 'https://licenses.example.com',
      catalog: 'http://catalog.internal:8080/base',
      subsidy: 'http://subsidy:18280',
    });
  });

  it('overrides one service URL and keeps the defaults for the rest', () => {
    const config = loadConfig({ CATALOG_URL: 'http://catalog:9999' });
    expect(config.serviceUrls.catalog).toBe('http://catalog:9999');
    expect(config.serviceUrls.lms).toBe('http://127.0.0.1:8001');
  });

  it('uses HOST in the default service URLs', () => {
    const config = loadConfig({ HOST: 'localhost' });
    expect(config.serviceUrls.lms).toBe('http://localhost:8001');
    expect(config.serviceUrls['license-manager']).toBe('http://localhost:8002');
  });

  it('uses 127.0.0.1 in the default service URLs when HOST=0.0.0.0', () => {
    const config = loadConfig({ HOST: '0.0.0.0' });
    expect(config.env.HOST).toBe('0.0.0.0');
    expect(config.serviceUrls).toEqual({
      lms: 'http://127.0.0.1:8001',
      'license-manager': 'http://127.0.0.1:8002',
      catalog: 'http://127.0.0.1:8003',
      subsidy: 'http://127.0.0.1:8004',
    });
  });

  it('accepts a valid TEMPORAL_ADDRESS, DATABASE_URL and JWT settings', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      DATABASE_URL: 'postgresql://app:pw@db:5432/app',
      JWT_SECRET: 'a-secret-of-sixteen+',
      JWT_AUDIENCE: 'enterprise',
      JWT_JWKS_URL: 'https://lms.example.com/oauth2/jwks',
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
    });
    expect(config.env).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      DATABASE_URL: 'postgresql://app:pw@db:5432/app',
      JWT_SECRET: 'a-secret-of-sixteen+',
      JWT_AUDIENCE: 'enterprise',
      JWT_JWKS_URL: 'https://lms.example.com/oauth2/jwks',
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['', false],
  ])('reads FAULT_INJECTION=%j as %s', (value, expected) => {
    expect(loadConfig({ FAULT_INJECTION: value }).env.FAULT_INJECTION).toBe(expected);
  });
});

describe('loadConfig errors', () => {
  it.each([
    ['API_PORT', 'abc'],
    ['API_PORT', '70000'],
    ['LMS_PORT', '80.5'],
    ['TEMPORAL_PORT', '-1'],
    ['TEMPORAL_ADDRESS', 'nohostport'],
    ['TEMPORAL_ADDRESS', 'temporal:port'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://db/app'],
    ['DATABASE_POOL_SIZE', '0'],
    ['LMS_URL', 'not a url'],
    ['JWT_JWKS_URL', 'jwks'],
    ['FAULT_INJECTION', 'maybe'],
  ])('rejects %s=%j with a ConfigError naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(/^Invalid configuration:\n/);
    expect(err.message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('names a bad JWT_SECRET without printing it, and hides passwords in URLs', () => {
    const secret = configError({ JWT_SECRET: 'short' }).message;
    expect(secret).toContain('JWT_SECRET="<hidden>"');
    expect(secret).not.toContain('short"');
    const url = configError({ DATABASE_URL: 'mysql://app:hunter2@db/app' }).message;
    expect(url).toContain('DATABASE_URL="mysql://app:***@db/app"');
    expect(url).not.toContain('hunter2');
  });

  it('treats an empty or blank port as unset (the default), not as port 0', () => {
    const c = loadConfig({ API_PORT: '', LMS_PORT: ' ', DATABASE_POOL_SIZE: '' });
    expect(c.ports.api).toBe(8000);
    expect(c.ports.lms).toBe(8001);
    expect(c.env.DATABASE_POOL_SIZE).toBe(10);
  });

  it('builds reachable service URLs for IPv6 and wildcard hosts', () => {
    expect(loadConfig({ HOST: '::1' }).serviceUrls.lms).toBe('http://[::1]:8001');
    expect(loadConfig({ HOST: '::' }).serviceUrls.lms).toBe('http://127.0.0.1:8001');
  });

  it('explains what is wrong', () => {
    expect(configError({ TEMPORAL_ADDRESS: 'nohostport' }).message).toContain('expected host:port');
    expect(configError({ JWT_SECRET: 'short' }).message).toContain('must be at least 16 characters');
  });

  it('names every bad variable, one per line', () => {
    const err = configError({
      API_PORT: 'abc',
      TEMPORAL_ADDRESS: 'nohostport',
      LOG_LEVEL: 'loud',
      JWT_SECRET: 'short',
      LMS_PORT: '8001',
    });
    const lines = err.message.split('\n').slice(1);
    expect(lines).toHaveLength(4);
    for (const name of ['API_PORT', 'TEMPORAL_ADDRESS', 'LOG_LEVEL', 'JWT_SECRET']) {
      expect(
        lines.filter((l) => l.trimStart().startsWith(`${name}=`)),
        name,
      ).toHaveLength(1);
    }
    expect(err.message).not.toContain('LMS_PORT');
  });

  it('refuses FAULT_INJECTION in production', () => {
    const err = configError({ FAULT_INJECTION: 'true', NODE_ENV: 'production' });
    expect(err.message).toContain('FAULT_INJECTION');
    expect(err.message).toContain('NODE_ENV=production');
  });

  it('requires exp on tokens by default; JWT_REQUIRE_EXP=false only outside production', () => {
    expect(loadConfig({}).env.JWT_REQUIRE_EXP).toBe(true);
    expect(loadConfig({ JWT_REQUIRE_EXP: '' }).env.JWT_REQUIRE_EXP).toBe(true);
    expect(loadConfig({ JWT_REQUIRE_EXP: 'false', NODE_ENV: 'test' }).env.JWT_REQUIRE_EXP).toBe(false);
    const err = configError({ JWT_REQUIRE_EXP: 'false', NODE_ENV: 'production' });
    expect(err.message).toContain('JWT_REQUIRE_EXP');
    expect(err.message).toContain('NODE_ENV=production');
    expect(loadConfig({ JWT_REQUIRE_EXP: 'true', NODE_ENV: 'production' }).env.JWT_REQUIRE_EXP).toBe(true);
  });

  it('allows FAULT_INJECTION outside production and production without it', () => {
    expect(loadConfig({ FAULT_INJECTION: 'true', NODE_ENV: 'test' }).env.FAULT_INJECTION).toBe(true);
    expect(loadConfig({ FAULT_INJECTION: 'true' }).env.FAULT_INJECTION).toBe(true);
    expect(loadConfig({ FAULT_INJECTION: 'false', NODE_ENV: 'production' }).env.FAULT_INJECTION).toBe(false);
  });
});

describe('empty optional variables', () => {
  it('treats empty strings as unset', () => {
    const config = loadConfig({
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_CLI: '',
      LMS_URL: '',
      LICENSE_MANAGER_URL: '',
      CATALOG_URL: '',
      SUBSIDY_URL: '',
      JWT_SECRET: '',
      JWT_AUDIENCE: '',
      JWT_JWKS_URL: '',
      FAULT_INJECTION: '',
    });
    for (const key of [
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_CLI',
      'LMS_URL',
      'LICENSE_MANAGER_URL',
      'CATALOG_URL',
      'SUBSIDY_URL',
      'JWT_SECRET',
      'JWT_AUDIENCE',
      'JWT_JWKS_URL',
    ] as const) {
      expect(config.env[key], key).toBeUndefined();
    }
    expect(config.env.FAULT_INJECTION).toBe(false);
    expect(config.serviceUrls.lms).toBe('http://127.0.0.1:8001');
    expect(config.serviceUrls.subsidy).toBe('http://127.0.0.1:8004');
  });

  it('does not apply the min-length rule to an empty JWT_SECRET', () => {
    expect(() => loadConfig({ JWT_SECRET: '' })).not.toThrow();
    expect(() => loadConfig({ JWT_SECRET: 'x' })).toThrow(ConfigError);
  });
});

describe('envSchema', () => {
  it('parses an empty object to the defaults', () => {
    const env = envSchema.parse({});
    expect(env.API_PORT).toBe(8000);
    expect(env.TEMPORAL_UI_PORT).toBe(8233);
    expect(env.FAULT_INJECTION).toBe(false);
  });

  it('drops variables it does not know', () => {
    const env = envSchema.parse({ PATH: '/usr/bin', HOME: '/root' }) as Record<string, unknown>;
    expect(env.PATH).toBeUndefined();
    expect(env.HOME).toBeUndefined();
  });

  it('reports a bad value at the variable path', () => {
    const result = envSchema.safeParse({ CATALOG_PORT: 'x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['CATALOG_PORT']]);
  });
});
