import { type ChildProcess, spawn } from 'node:child_process';
import type { TestStack } from './stack';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL: the crash a test wants, with no chance to drain. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real worker entry (`npm run start:worker`'s file) as a child process on the stack's task
 * queue and services, so a test can kill it outright and start another.
 */
export async function startWorkerProcess(stack: TestStack, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const e = stack.config.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: e.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      JWT_SECRET: e.JWT_SECRET,
      JWT_ISSUER: e.JWT_ISSUER,
      LMS_URL: stack.urls.lms,
      LICENSE_MANAGER_URL: stack.urls['license-manager'],
      CATALOG_URL: stack.urls.catalog,
      SUBSIDY_URL: stack.urls.subsidy,
      // The worker writes the orchestrator's records itself, in the stack's database.
      DATABASE_URL: stack.db.url ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b) => {
    out += b;
  });
  child.stderr?.on('data', (b) => {
    out += b;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 90_000;
  while (!out.includes('worker running')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
