import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, SERVICE_NAMES } from '../src/lib/config.js';

/**
 * docker-compose.yml and the Dockerfile are never run on CI (no Docker engine), so this
 * checks them statically against package.json and the config defaults: every command names a
 * real npm script, ports and service URLs agree with src/lib/config.ts, every hostname and
 * depends_on names a compose service.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const composePath = path.join(root, 'docker-compose.yml');
const dockerfilePath = path.join(root, 'Dockerfile');

const INFRA_SERVICES = ['postgres', 'temporal', 'temporal-ui'] as const;
const APP_SERVICES = ['api', 'worker', ...SERVICE_NAMES] as const;
const HTTP_SERVICES = ['api', ...SERVICE_NAMES] as const;
const URL_ENV: Record<(typeof SERVICE_NAMES)[number], string> = {
  lms: 'LMS_URL',
  'license-manager': 'LICENSE_MANAGER_URL',
  catalog: 'CATALOG_URL',
  subsidy: 'SUBSIDY_URL',
};

type Obj = Record<string, unknown>;

interface Context {
  /** package.json `scripts`. */
  scripts: Record<string, string>;
  /** Default port of each HTTP process (from loadConfig with an empty environment). */
  ports: Record<string, number>;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function readScripts(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return pkg.scripts ?? {};
}

function defaultContext(): Context {
  return { scripts: readScripts(), ports: { ...loadConfig({}).ports } };
}

function parseCompose(text: string): unknown {
  // Compose honours YAML merge keys (`<<: *app`); YAML 1.2 needs them switched on.
  return parse(text, { merge: true });
}

/** `environment:` as a map or as a list of KEY=VALUE. */
function envOf(service: Obj): Record<string, string> {
  const env = service.environment;
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq > 0) out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v == null ? '' : String(v);
  }
  return out;
}

/** `command:` as an exec array or a shell string. */
function commandOf(service: Obj): string[] | undefined {
  const cmd = service.command;
  if (Array.isArray(cmd)) return cmd.map(String);
  if (typeof cmd === 'string') return cmd.trim().split(/\s+/);
  return undefined;
}

/** `depends_on:` as a list or a map of conditions. */
function dependsOn(service: Obj): string[] {
  const deps = service.depends_on;
  if (Array.isArray(deps)) return deps.map(String);
  if (isObj(deps)) return Object.keys(deps);
  return [];
}

/** Published (host) and target (container) ports, short or long syntax. */
function portsOf(service: Obj): { published: number; target: number }[] {
  const ports = service.ports;
  if (!Array.isArray(ports)) return [];
  return ports.flatMap((p) => {
    if (isObj(p)) return [{ published: Number(p.published), target: Number(p.target) }];
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    const published = parts.length > 1 ? Number(parts.at(-2)) : Number.NaN;
    return [{ published, target }];
  });
}

/** Resolves `${VAR:-default}` / `${VAR-default}` to the default, as compose does with VAR unset. */
function interpolateDefaults(value: string): string {
  return value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_m, def: string | undefined) => def ?? '');
}

/** Every problem found in a parsed compose file; empty when it is consistent. */
function checkCompose(compose: unknown, ctx: Context): string[] {
  const problems: string[] = [];
  if (!isObj(compose) || !isObj(compose.services)) return ['compose file has no `services` map'];
  const services = compose.services as Record<string, unknown>;
  const names = new Set(Object.keys(services));

  for (const name of [...INFRA_SERVICES, ...APP_SERVICES]) {
    if (!names.has(name)) problems.push(`service ${name}: missing`);
  }

  for (const [name, raw] of Object.entries(services)) {
    if (!isObj(raw)) {
      problems.push(`service ${name}: not a map`);
      continue;
    }
    if ('<<' in raw) problems.push(`service ${name}: unmerged \`<<\` key (merge keys not applied)`);
    for (const dep of dependsOn(raw)) {
      if (!names.has(dep)) problems.push(`service ${name}: depends_on names unknown service ${dep}`);
    }
    const cmd = commandOf(raw);
    if (cmd && cmd[0] === 'npm' && cmd[1] === 'run') {
      const script = cmd[2];
      if (!script || !(script in ctx.scripts)) {
        problems.push(`service ${name}: command runs npm script ${script ?? '(none)'} not in package.json`);
      }
      if (script === 'start:service') {
        const args = cmd.slice(3);
        const target = args[0] === '--' ? args[1] : args[0];
        if (!target || !(SERVICE_NAMES as readonly string[]).includes(target)) {
          problems.push(`service ${name}: start:service target ${target ?? '(none)'} is not one of ${SERVICE_NAMES}`);
        }
      }
    }
  }

  const expectedCommands: Record<string, string[]> = {
    api: ['npm', 'run', 'start:api'],
    worker: ['npm', 'run', 'start:worker'],
  };
  for (const svc of SERVICE_NAMES) expectedCommands[svc] = ['npm', 'run', 'start:service', '--', svc];

  for (const name of APP_SERVICES) {
    const svc = services[name];
    if (!isObj(svc)) continue;
    const build = isObj(svc.build) ? svc.build.context : svc.build;
    if (build !== '.' && build !== './') problems.push(`service ${name}: must build from . (got ${String(build)})`);
    const cmd = commandOf(svc);
    const expected = expectedCommands[name];
    if (expected && JSON.stringify(cmd) !== JSON.stringify(expected)) {
      problems.push(`service ${name}: command ${JSON.stringify(cmd)}, expected ${JSON.stringify(expected)}`);
    }

    const env = envOf(svc);
    const dbUrl = env.DATABASE_URL;
    if (!dbUrl) {
      problems.push(`service ${name}: DATABASE_URL not set`);
    } else {
      let host = '';
      try {
        const u = new URL(interpolateDefaults(dbUrl));
        if (!u.protocol.startsWith('postgres')) problems.push(`service ${name}: DATABASE_URL is not a postgres URL`);
        host = u.hostname;
      } catch {
        problems.push(`service ${name}: DATABASE_URL is not a URL`);
      }
      if (host && !names.has(host)) problems.push(`service ${name}: DATABASE_URL host ${host} is not a service`);
    }
    const temporal = env.TEMPORAL_ADDRESS;
    if (!temporal) {
      problems.push(`service ${name}: TEMPORAL_ADDRESS not set`);
    } else {
      const host = interpolateDefaults(temporal).split(':')[0] ?? '';
      if (!names.has(host)) problems.push(`service ${name}: TEMPORAL_ADDRESS host ${host} is not a service`);
    }
    const secret = interpolateDefaults(env.JWT_SECRET ?? '');
    if (secret.length < 16) problems.push(`service ${name}: JWT_SECRET (default) shorter than 16 characters`);
    if (env.HOST !== '0.0.0.0') problems.push(`service ${name}: HOST must be 0.0.0.0 (got ${env.HOST})`);

    for (const target of SERVICE_NAMES) {
      const key = URL_ENV[target];
      const value = env[key];
      if (!value) {
        problems.push(`service ${name}: ${key} not set`);
        continue;
      }
      try {
        const u = new URL(interpolateDefaults(value));
        if (u.hostname !== target) problems.push(`service ${name}: ${key} host ${u.hostname}, expected ${target}`);
        if (Number(u.port) !== ctx.ports[target]) {
          problems.push(`service ${name}: ${key} port ${u.port}, expected ${ctx.ports[target]}`);
        }
      } catch {
        problems.push(`service ${name}: ${key} is not a URL`);
      }
    }
  }

  for (const name of HTTP_SERVICES) {
    const svc = services[name];
    if (!isObj(svc)) continue;
    const port = ctx.ports[name];
    const ports = portsOf(svc);
    if (!ports.some((p) => p.published === port && p.target === port)) {
      problems.push(`service ${name}: port ${port} not published as ${port}:${port}`);
    }
    const test = isObj(svc.healthcheck) ? svc.healthcheck.test : undefined;
    const testText = Array.isArray(test) ? test.join(' ') : String(test ?? '');
    if (!testText.includes(`127.0.0.1:${port}/healthz`)) {
      problems.push(`service ${name}: healthcheck does not probe 127.0.0.1:${port}/healthz`);
    }
  }

  return problems;
}

/** Every problem found in the Dockerfile text; empty when it is fine. */
function checkDockerfile(text: string, scripts: Record<string, string>): string[] {
  const problems: string[] = [];
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages = new Set<string>();
  let froms = 0;
  for (const line of lines) {
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)/i.exec(line);
    if (arg?.[1] && arg[2] && froms === 0) args[arg[1]] = arg[2].replace(/^["']|["']$/g, '');
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from?.[1]) continue;
    froms++;
    const image = from[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, n: string) => args[n] ?? '');
    if (!stages.has(image)) {
      if (/alpine/i.test(image)) problems.push(`Dockerfile: base image ${image} is alpine (no musl Temporal core)`);
      if (!/^(docker\.io\/)?(library\/)?node:20([.-]|$)/.test(image)) {
        problems.push(`Dockerfile: base image ${image} is not node 20`);
      }
    }
    if (from[2]) stages.add(from[2]);
  }
  if (froms === 0) problems.push('Dockerfile: no FROM');
  if (!lines.some((l) => /^RUN\b.*\bnpm install\b.*--ignore-scripts/.test(l))) {
    problems.push('Dockerfile: no `npm install --ignore-scripts`');
  }
  const cmd = lines.filter((l) => /^CMD\b/i.test(l)).at(-1);
  if (!cmd) {
    problems.push('Dockerfile: no CMD');
  } else {
    const script = /"npm",\s*"run",\s*"([^"]+)"/.exec(cmd)?.[1];
    if (!script || !(script in scripts)) problems.push(`Dockerfile: CMD runs npm script ${script} not in package.json`);
  }
  return problems;
}

describe('docker-compose.yml', () => {
  const text = readFileSync(composePath, 'utf8');
  const ctx = defaultContext();

  it('parses as YAML with a services map', () => {
    const compose = parseCompose(text);
    expect(isObj(compose) && isObj(compose.services)).toBe(true);
  });

  it('defines every expected service', () => {
    const compose = parseCompose(text) as { services: Obj };
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining([...INFRA_SERVICES, ...APP_SERVICES]));
  });

  it('is consistent with package.json scripts, config defaults and its own service names', () => {
    expect(checkCompose(parseCompose(text), ctx)).toEqual([]);
  });

  it('checks the scripts it relies on for real', () => {
    for (const script of ['start:api', 'start:worker', 'start:service']) expect(ctx.scripts).toHaveProperty([script]);
  });

  it('pins the Temporal images', () => {
    const { services } = parseCompose(text) as { services: Record<string, Obj> };
    expect(String(services.temporal?.image)).toMatch(/^temporalio\/auto-setup:1\.2\d\.\d+$/);
    expect(String(services['temporal-ui']?.image)).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
  });

  it('gives the Temporal server the dev server’s task-reading rates (a mounted dynamic config that exists)', () => {
    const { services } = parseCompose(text) as { services: Record<string, Obj> };
    const temporal = services.temporal as { environment: Obj; volumes: string[] };
    const [source, target] = String(temporal.volumes.find((v) => v.includes('dynamicconfig'))).split(':');
    expect(`/etc/temporal/${temporal.environment.DYNAMIC_CONFIG_FILE_PATH}`).toBe(target);
    const dynamic = parse(readFileSync(path.join(root, String(source)), 'utf8')) as Record<string, [{ value: number }]>;
    expect(dynamic['history.transferProcessorMaxPollRPS']?.[0]?.value).toBeGreaterThanOrEqual(1000);
  });
});

describe('Dockerfile', () => {
  it('exists at the repo root, is node 20 on Debian and runs an existing script', () => {
    expect(existsSync(dockerfilePath)).toBe(true);
    expect(checkDockerfile(readFileSync(dockerfilePath, 'utf8'), readScripts())).toEqual([]);
  });

  it('rejects an alpine or non-20 base', () => {
    const scripts = { 'start:api': 'x' };
    const ok = 'FROM node:20-bookworm-slim\nRUN npm install --ignore-scripts\nCMD ["npm", "run", "start:api"]\n';
    expect(checkDockerfile(ok, scripts)).toEqual([]);
    expect(checkDockerfile(ok.replace('20-bookworm-slim', '20-alpine'), scripts).join('\n')).toMatch(/alpine/);
    expect(checkDockerfile(ok.replace('node:20', 'node:22'), scripts).join('\n')).toMatch(/not node 20/);
    expect(checkDockerfile(ok.replace('start:api', 'start:nope'), scripts).join('\n')).toMatch(/start:nope/);
  });
});

describe('the compose checker catches a broken file', () => {
  const text = readFileSync(composePath, 'utf8');
  const ctx = defaultContext();
  const broken = (mutate: (services: Record<string, Obj>) => void): string[] => {
    const compose = parseCompose(text) as { services: Record<string, Obj> };
    mutate(compose.services);
    return checkCompose(compose, ctx);
  };
  const app = (services: Record<string, Obj>, name: string): Obj => {
    const svc = services[name];
    if (!svc) throw new Error(`no service ${name}`);
    return svc;
  };

  it('an npm script that does not exist', () => {
    const problems = broken((s) => {
      app(s, 'worker').command = ['npm', 'run', 'start:wrker'];
    });
    expect(problems.join('\n')).toMatch(/worker: command runs npm script start:wrker not in package\.json/);
  });

  it('an unknown start:service target', () => {
    const problems = broken((s) => {
      app(s, 'catalog').command = ['npm', 'run', 'start:service', '--', 'catalogue'];
    });
    expect(problems.join('\n')).toMatch(/catalog: start:service target catalogue/);
  });

  it('a published port that differs from the config default', () => {
    const problems = broken((s) => {
      app(s, 'subsidy').ports = ['9004:8004'];
    });
    expect(problems.join('\n')).toMatch(/subsidy: port 8004 not published/);
  });

  it('a depends_on naming no service', () => {
    const problems = broken((s) => {
      app(s, 'api').depends_on = { postgress: { condition: 'service_healthy' } };
    });
    expect(problems.join('\n')).toMatch(/api: depends_on names unknown service postgress/);
  });

  it('a DATABASE_URL or TEMPORAL_ADDRESS host that is not a service', () => {
    const problems = broken((s) => {
      const lms = app(s, 'lms');
      lms.environment = { ...envOf(lms), DATABASE_URL: 'postgres://u:p@db:5432/x', TEMPORAL_ADDRESS: 'localhost:7233' };
    });
    const all = problems.join('\n');
    expect(all).toMatch(/lms: DATABASE_URL host db is not a service/);
    expect(all).toMatch(/lms: TEMPORAL_ADDRESS host localhost is not a service/);
  });

  it('a missing service and an app not built from .', () => {
    const problems = broken((s) => {
      delete s['license-manager'];
      app(s, 'api').build = './other';
    });
    const all = problems.join('\n');
    expect(all).toMatch(/service license-manager: missing/);
    expect(all).toMatch(/api: must build from \./);
  });

  it('YAML merge keys left unapplied', () => {
    const problems = checkCompose(parse(text), ctx);
    expect(problems.join('\n')).toMatch(/unmerged `<<` key/);
  });
});
