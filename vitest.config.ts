import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server for the whole run; each test file gets its own database and task queue.
    globalSetup: ['test/setup/global-setup.ts'],
    setupFiles: ['test/setup/silence-temporal.ts'],
    // Temporal's worker runs workflow code in worker_threads of its own: test files run in forks.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.test-results/results.json' },
  },
});
