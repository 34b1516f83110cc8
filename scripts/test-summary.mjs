#!/usr/bin/env node
// Prints one closing line, `Tests: N passed, N failed, N skipped`, summed over the vitest JSON
// reports given as arguments; exits 1 if any report is missing or any test failed.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
for (const file of process.argv.slice(2)) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    // A file that fails to load counts as a failed suite with no failed test: count it too.
    failed += r.numFailedTests + (r.numFailedTestSuites ?? 0);
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  } catch {
    process.stderr.write(`missing or unreadable test report: ${file}\n`);
    missing += 1;
  }
}
process.stdout.write(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 || missing > 0 || passed === 0 ? 1 : 0);
