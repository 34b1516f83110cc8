import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTool } from '../../scripts/ensure-temporal-cli.mjs';
import { signToken } from '../../src/lib/jwt';
import { freePort } from '../setup/global-setup';

/**
 * The README's first command, for real: `npm start` on embedded defaults (its own Temporal dev
 * server with the Web UI, PGlite under DATA_DIR), every URL it prints, a token from
 * `npm run token`, Ctrl-C leaving nothing behind, and a second start finding the first's data.
 */
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ea-stack-'));
const ports = {
  API_PORT: 0,
  LMS_PORT: 0,
  LICENSE_MANAGER_PORT: 0,
  CATALOG_PORT: 0,
  SUBSIDY_PORT: 0,
  TEMPORAL_PORT: 0,
  TEMPORAL_UI_PORT: 0,
};
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'JWT_SECRET', 'FAULT_INJECTION', 'CI']) delete e[k];
  for (const [k, v] of Object.entries(ports)) e[k] = String(v);
  return e;
};

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(): Running {
  // Own process group, like a terminal's foreground job: Ctrl-C goes to the whole group.
  const child = spawn('npm', ['start'], { env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (b) => {
    out += b;
  });
  child.stderr?.on('data', (b) => {
    out += b;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitFor(r: Running, text: string, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!r.output().includes(text)) {
    if (Date.now() > deadline || r.child.exitCode !== null) throw new Error(`no "${text}" in:\n${r.output()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Every live process whose environment names our DATA_DIR: the stack and its Temporal child. */
function processesUsingDataDir(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.includes(`DATA_DIR=${dataDir}`) || cmd.includes(dataDir)) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}
function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Waits (up to 30 s) until no process of the stack is left; fails naming what is. */
async function waitUntilGone() {
  const deadline = Date.now() + 30_000;
  while (processesUsingDataDir().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const left = processesUsingDataDir().map(
    (pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`,
  );
  expect(left).toEqual([]);
}

const token = (roles: string) =>
  execFileSync(
    'npm',
    ['run', 'token', '--silent', '--', '--roles', roles, '--user-id', '42', '--email', 'op@example.com'],
    {
      env: env(),
      encoding: 'utf8',
    },
  );

const running: Running[] = [];
afterAll(async () => {
  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  };
  for (const r of running) if (r.child.exitCode === null) kill(-(r.child.pid as number));
  for (const pid of processesUsingDataDir()) kill(pid);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start (embedded defaults)', () => {
  it('starts everything, serves every URL it prints, and stops cleanly on Ctrl-C', async () => {
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    const first = npmStart();
    running.push(first);
    await waitFor(first, 'Press Ctrl-C to stop.');
    const banner = first.output();
    expect(banner).toContain('start #1 on data created');
    expect(banner).toContain(`PGlite at ${path.join(dataDir, 'pglite')}`);

    const urls = [...banner.matchAll(/^ {2}(\S[^\n]*?)\s{2,}(http:\/\/\S+)/gm)].map((m) => ({
      name: m[1],
      url: m[2] as string,
    }));
    const byName = Object.fromEntries(urls.map((u) => [u.name, u.url]));
    for (const name of ['API', 'lms', 'license-manager', 'catalog', 'subsidy']) {
      const res = await fetch(`${byName[name]}/healthz`);
      expect(res.status, name).toBe(200);
    }
    expect(byName['Temporal Web UI']).toBe(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`);
    expect((await fetch(byName['Temporal Web UI'] as string)).status).toBe(200);
    expect((await fetch(`${byName.API}/docs/`)).status).toBe(200);
    expect((await fetch(`${byName.API}/openapi.json`)).status).toBe(200);

    // The token command prints the token and nothing else, and the stack accepts it.
    const printed = token('enterprise_openedx_operator:*');
    expect(printed).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const me = await fetch(`${byName.API}/api/v1/me`, { headers: { authorization: `JWT ${printed.trim()}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      user_id: 42,
      email: 'op@example.com',
      roles: ['enterprise_openedx_operator:*'],
    });
    const forged = await signToken('a-secret-that-is-not-the-stacks', 'enterprise-access-local', {
      roles: ['enterprise_openedx_operator:*'],
    });
    expect((await fetch(`${byName.API}/api/v1/me`, { headers: { authorization: `JWT ${forged}` } })).status).toBe(401);

    // Records made now must survive the restart: an lms account and a workflow run.
    const created = await fetch(`${byName.lms}/api/user/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `JWT ${printed.trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'persist@example.com' }),
    });
    expect(created.status).toBe(201);
    const cli = ensureTool('cli');
    const address = `127.0.0.1:${ports.TEMPORAL_PORT}`;
    const exec = spawnSync(
      cli,
      [
        'workflow',
        'execute',
        '--type',
        'checkStack',
        '--task-queue',
        'enterprise-access',
        '--workflow-id',
        'persisted-run',
        '--address',
        address,
      ],
      { encoding: 'utf8' },
    );
    expect(exec.stdout).toContain('COMPLETED');

    const temporalPid = Number(readFileSync(path.join(dataDir, 'temporal.pid'), 'utf8'));
    process.kill(-(first.child.pid as number), 'SIGINT');
    await waitUntilGone();
    expect(first.output()).toContain('Stopped.');
    expect(existsSync(`/proc/${temporalPid}`)).toBe(false);
  });

  it('a second start finds the data of the first, and SIGTERM to the stack process stops everything', async () => {
    const second = npmStart();
    running.push(second);
    await waitFor(second, 'Press Ctrl-C to stop.');
    expect(second.output()).toContain('start #2 on data created');

    const op = token('enterprise_openedx_operator:*').trim();
    const found = await fetch(`http://127.0.0.1:${ports.LMS_PORT}/api/user/v1/accounts?email=persist@example.com`, {
      headers: { authorization: `JWT ${op}` },
    });
    expect(((await found.json()) as unknown[]).length).toBe(1);
    const described = spawnSync(
      ensureTool('cli'),
      ['workflow', 'describe', '--workflow-id', 'persisted-run', '--address', `127.0.0.1:${ports.TEMPORAL_PORT}`],
      { encoding: 'utf8' },
    );
    expect(described.stdout).toContain('COMPLETED');

    // SIGTERM to the node process alone (as a process manager would send it).
    const stackPid = processesUsingDataDir().find((pid) => {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'node' && argv.includes('src/main.ts');
    });
    expect(stackPid).toBeDefined();
    process.kill(stackPid as number, 'SIGTERM');
    await waitUntilGone();
    expect(second.output()).toContain('Stopped.');
  });

  it('refuses a bad configuration value, naming the variable', () => {
    const r = spawnSync('npm', ['start', '--silent'], { env: { ...env(), API_PORT: 'eighty' }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('API_PORT="eighty"');
  });
});
