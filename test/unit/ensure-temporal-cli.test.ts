import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/ensure-temporal-cli.mjs', import.meta.url));

let tmp: string;
/** Directory holding executable fakes named `temporal` and `temporal-test-server`. */
let binDir: string;
let fakeCli: string;
let fakeTestServer: string;

function writeExecutable(file: string, body: string, mode = 0o755) {
  fs.writeFileSync(file, body);
  fs.chmodSync(file, mode);
}

/** Runs the script with only `env` (PATH defaults to a directory that does not exist, so nothing real is found). */
function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [script, ...args], {
    env: { PATH: '/nonexistent-dir', HOME: tmp, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ensure-temporal-cli-'));
  binDir = path.join(tmp, 'bin');
  fs.mkdirSync(binDir);
  fakeCli = path.join(tmp, 'fake-temporal');
  writeExecutable(fakeCli, '#!/bin/sh\necho fake "$@"\n');
  fakeTestServer = path.join(tmp, 'fake-test-server');
  writeExecutable(fakeTestServer, '#!/bin/sh\necho fake-test-server\n');
  writeExecutable(path.join(binDir, 'temporal'), '#!/bin/sh\necho path-temporal "$@"\n');
  writeExecutable(path.join(binDir, 'temporal-test-server'), '#!/bin/sh\necho path-test-server\n');
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('scripts/ensure-temporal-cli.mjs', () => {
  it('prints TEMPORAL_CLI when it points at an executable', () => {
    const r = run([], { TEMPORAL_CLI: fakeCli, TEMPORAL_TEST_SERVER: fakeTestServer });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${fakeCli}\n`);
  });

  it('prefers TEMPORAL_CLI over `temporal` on PATH', () => {
    const r = run([], { TEMPORAL_CLI: fakeCli, PATH: binDir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${fakeCli}\n`);
  });

  it('prints nothing with --quiet', () => {
    const r = run(['--quiet'], { TEMPORAL_CLI: fakeCli, TEMPORAL_TEST_SERVER: fakeTestServer });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('exits 1 naming TEMPORAL_CLI when it points at a non-executable file', () => {
    const notExecutable = path.join(tmp, 'not-executable');
    writeExecutable(notExecutable, '#!/bin/sh\necho nope\n', 0o644);
    const r = run([], { TEMPORAL_CLI: notExecutable, TEMPORAL_TEST_SERVER: fakeTestServer });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`TEMPORAL_CLI=${notExecutable} is not an executable file.`);
  });

  it('does not take a directory for the binary (TEMPORAL_CLI or on PATH)', () => {
    const r = run([], { TEMPORAL_CLI: tmp });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TEMPORAL_CLI');
    const dirs = path.join(tmp, 'dirs');
    fs.mkdirSync(path.join(dirs, 'temporal'), { recursive: true });
    const found = run([], { PATH: `${dirs}:${binDir}` });
    expect(found.stdout.trim()).toBe(path.join(binDir, 'temporal'));
  });

  it('exits 1 naming TEMPORAL_CLI when it points at a missing file', () => {
    const missing = path.join(tmp, 'does-not-exist');
    const r = run([], { TEMPORAL_CLI: missing, TEMPORAL_TEST_SERVER: fakeTestServer });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TEMPORAL_CLI');
    expect(r.stderr).toContain(missing);
  });

  it('exits 0 on that error with --quiet when TEMPORAL_ADDRESS is set, and 1 without it', () => {
    const missing = path.join(tmp, 'does-not-exist');
    const withAddress = run(['--quiet'], { TEMPORAL_CLI: missing, TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(withAddress.status).toBe(0);
    expect(withAddress.stderr).toContain('TEMPORAL_CLI');
    const without = run(['--quiet'], { TEMPORAL_CLI: missing });
    expect(without.status).toBe(1);
  });

  it('finds `temporal` on PATH when TEMPORAL_CLI is unset', () => {
    const r = run([], { PATH: `/nonexistent-dir${path.delimiter}${binDir}` });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${path.join(binDir, 'temporal')}\n`);
  });

  it('treats an empty TEMPORAL_CLI as unset', () => {
    const r = run([], { TEMPORAL_CLI: '', PATH: binDir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${path.join(binDir, 'temporal')}\n`);
  });

  it('prints the test server path with --test-server', () => {
    expect(run(['--test-server'], { TEMPORAL_TEST_SERVER: fakeTestServer }).stdout).toBe(`${fakeTestServer}\n`);
    expect(run(['--test-server'], { PATH: binDir }).stdout).toBe(`${path.join(binDir, 'temporal-test-server')}\n`);
  });

  it('exits 1 naming TEMPORAL_TEST_SERVER when it points at a missing file', () => {
    const missing = path.join(tmp, 'no-test-server');
    const r = run([], { TEMPORAL_CLI: fakeCli, TEMPORAL_TEST_SERVER: missing });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`TEMPORAL_TEST_SERVER=${missing} is not an executable file.`);
  });

  it('runs the CLI with --exec, passing the arguments through', () => {
    const r = run(['--exec', '--version'], { TEMPORAL_CLI: fakeCli });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('fake --version\n');
  });

  it('passes the exit status of the CLI through --exec', () => {
    const failing = path.join(tmp, 'failing-temporal');
    writeExecutable(failing, '#!/bin/sh\necho failing "$@" >&2\nexit 3\n');
    const r = run(['--exec', 'workflow', 'list'], { TEMPORAL_CLI: failing });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('failing workflow list');
  });

  it('runs the CLI found on PATH with --exec', () => {
    const r = run(['--exec', 'server', 'start-dev'], { PATH: binDir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('path-temporal server start-dev\n');
  });
});
