import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';
import { HISTORIES_DIR, historyFixtures, replayHistoryFile } from '../helpers/replay';

describe('determinism: committed workflow histories replay against the current code', () => {
  const files = historyFixtures();

  it('has fixtures to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`replays ${file.slice(HISTORIES_DIR.length)}`, async () => {
      await replayHistoryFile(file, { codePath: inject('workflowBundlePath') });
    });
  }

  it('keeps zod out of workflow code (Temporal evaluates the bundle for every run; validation is a local activity)', () => {
    const bundle = readFileSync(inject('workflowBundlePath'), 'utf8');
    expect(bundle).not.toMatch(/node_modules\/zod\//);
  });

  it('catches a non-deterministic change (the guard can fail)', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../fixtures/workflows/changed-check-stack.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const err = await replayHistoryFile(`${HISTORIES_DIR}check-stack.json`, changed).catch((e) => e);
    expect(err).toBeInstanceOf(DeterminismViolationError);
  });
});
