import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTool } from '../../scripts/ensure-temporal-cli.mjs';

export interface DevServerOptions {
  /** SQLite file; omit to keep everything in memory (tests). */
  dbFile?: string;
  ip?: string;
  port: number;
  uiPort: number;
  /** false: no Web UI (tests). */
  ui?: boolean;
  namespace?: string;
  /** Trade durability for speed (tests and benchmarks): no fsync per write. */
  fast?: boolean;
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /** Where to record the server's pid, so a run that was killed outright can clean up after itself. */
  pidFile?: string;
  /** Custom search attributes to register, as `Name=Type` (e.g. `CustomerSlug=Keyword`). */
  searchAttributes?: readonly string[];
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The flags that make the CLI dev server fit this project (shared with the test harness). */
function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip ?? '127.0.0.1', '--port', String(o.port), '--log-level', 'warn'];
  if (o.ui === false) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort), '--ui-disable-news-fetch');
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.namespace && o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const sa of o.searchAttributes ?? []) args.push('--search-attribute', sa);
  for (const kv of [
    'frontend.enableUpdateWorkflowExecution=true',
    'frontend.enableExecuteMultiOperation=true',
    // Fast local development: no throttling of the default namespace.
    'frontend.namespaceRPS=5000',
    // The history service reads new tasks (workflow and activity tasks to dispatch) at most 20
    // times a second by default: past a short burst every step of a workflow then waits ~50 ms
    // for its task to be read, whatever the load. Measured with `npm run bench:redeem`.
    'history.transferProcessorMaxPollRPS=1000',
    'history.timerProcessorMaxPollRPS=1000',
  ]) {
    args.push('--dynamic-config-value', kv);
  }
  args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', `synchronous=${o.fast ? 'OFF' : 'NORMAL'}`);
  return args;
}

/** A port nobody listens on right now (tests and benchmarks; another process may still take it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function assertPortFree(port: number, host: string, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `Port ${port} (${what}) is already in use. Stop whatever holds it, or choose another port (see the config table in the README).`
            : `Cannot bind ${host}:${port} (${what}): ${err.message}`,
        ),
      ),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

/** Starts `temporal server start-dev` as a child process and waits until it answers. */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const ip = o.ip ?? '127.0.0.1';
  await assertPortFree(o.port, ip, 'Temporal gRPC; set TEMPORAL_ADDRESS to use a server already running there');
  if (o.ui !== false) await assertPortFree(o.uiPort, ip, 'Temporal Web UI');
  if (o.dbFile) mkdirSync(path.dirname(o.dbFile), { recursive: true });
  const cli = ensureTool('cli');
  if (o.pidFile) killLeftover(o.pidFile);
  // Own process group: a terminal's Ctrl-C reaches only us, and we stop the server last,
  // after the worker has drained (see main.ts).
  const child = spawn(cli, devServerArgs(o), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (o.pidFile && child.pid) writeFileSync(o.pidFile, String(child.pid));
  let output = '';
  const onData = (buf: Buffer) => {
    const text = buf.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) o.log?.(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const address = `${ip}:${o.port}`;
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  let ready = false;
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
  });
  while (!ready && Date.now() < deadline && exitCode === undefined) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.describeNamespace({ namespace: o.namespace ?? 'default' });
      await conn.close();
      ready = true;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    if (o.pidFile) rmSync(o.pidFile, { force: true });
  };
  if (!ready) {
    await stop();
    throw new Error(
      `The Temporal dev server did not become ready on ${address}${exitCode !== undefined ? ` (exited with ${exitCode})` : ''}.\n${output}`,
    );
  }
  return { address, uiUrl: o.ui === false ? undefined : `http://${ip}:${o.uiPort}`, process: child, stop };
}

/**
 * A previous stack killed with SIGKILL cannot stop its dev server; the next start does, if the
 * recorded pid is still a `temporal server start-dev` process.
 */
function killLeftover(pidFile: string) {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('start-dev')) process.kill(pid, 'SIGKILL');
  } catch {
    // Not running (or not Linux): nothing to clean up.
  }
  rmSync(pidFile, { force: true });
}
