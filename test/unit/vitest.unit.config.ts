import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests only: no globalSetup (the main config starts a Temporal dev server for the whole run).
 *   npx vitest run --config test/unit/vitest.unit.config.ts test/unit
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
