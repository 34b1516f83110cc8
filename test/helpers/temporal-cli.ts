import { execFile } from 'node:child_process';
import { ensureTool } from '../../scripts/ensure-temporal-cli.mjs';
import type { TestStack } from './stack';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * The real `temporal` CLI against the stack's server. Asynchronous on purpose: the services run
 * in the test process, and a synchronous spawn would block the very event loop that must answer
 * the workflow's calls.
 */
export function temporalCli(stack: () => TestStack) {
  const cli = ensureTool('cli');
  return (args: string[]) =>
    new Promise<CliResult>((resolve) => {
      execFile(
        cli,
        [...args, '--address', stack().config.env.TEMPORAL_ADDRESS as string],
        { encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) => resolve({ status: err ? Number(err.code ?? 1) || 1 : 0, stdout, stderr }),
      );
    });
}
