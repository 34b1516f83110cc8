import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';

export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

/** The committed histories (exported with `temporal workflow show -w ID -o json`). */
export function historyFixtures(): string[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(HISTORIES_DIR, f));
}

export function loadHistory(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
}

/**
 * Replays a recorded history against workflow code; throws DeterminismViolationError when the
 * code would no longer make the same decisions. Needs no server.
 */
export async function replayHistoryFile(file: string, workflowBundle: WorkflowBundleOption, workflowId?: string) {
  await Worker.runReplayHistory({ workflowBundle }, loadHistory(file), workflowId ?? path.basename(file, '.json'));
}
