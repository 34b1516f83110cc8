import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { type DevServer, startDevServer } from '../../src/lib/temporal-dev-server';
import { WORKFLOWS_PATH } from '../../src/worker';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../src/workflows/definitions';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

let server: DevServer | undefined;

/**
 * Starts one real Temporal dev server (the CLI binary found or installed by
 * scripts/ensure-temporal-cli.mjs; never a download at run time) in memory for the whole run,
 * and bundles the workflow code once for every test file's workers.
 */
export default async function setup(project: TestProject) {
  const outDir = path.resolve('.test-results');
  mkdirSync(outDir, { recursive: true });
  const [started, bundle] = await Promise.all([
    startDevServer({
      port: await freePort(),
      uiPort: 0,
      ui: false,
      fast: true,
      startTimeoutMs: 90_000,
      searchAttributes: SEARCH_ATTRIBUTE_FLAGS,
    }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
  ]);
  server = started;
  const bundlePath = path.join(outDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server?.stop();
  };
}

const noop = () => {};
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
