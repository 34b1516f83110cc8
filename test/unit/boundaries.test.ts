import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const depcruise = `${root}node_modules/.bin/depcruise`;

/** The lint's dependency check (`npm run lint`), on `src` under `cwd`: its violations as "rule: from → to". */
function violations(cwd: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      depcruise,
      ['--config', `${root}.dependency-cruiser.cjs`, '--output-type', 'json', 'src'],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        try {
          const out = JSON.parse(stdout) as {
            summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
          };
          resolve(out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort());
        } catch {
          reject(err ?? new Error(`depcruise printed no JSON: ${stdout.slice(0, 500)}`));
        }
      },
    );
  });
}

describe('code boundaries (dependency-cruiser, run by npm run lint)', () => {
  it('fails on each kind of forbidden import in a fixture, and lets type-only imports into workflow code', async () => {
    expect(await violations(`${root}test/fixtures/boundaries`)).toEqual([
      'lib-knows-no-feature: src/lib/reads-api.ts → src/api/routes.ts',
      'orchestrator-not-into-services: src/api/reads-service.ts → src/services/lms/store.ts',
      'service-not-into-another-service: src/services/catalog/reads-lms.ts → src/services/lms/store.ts',
      'services-not-into-orchestrator: src/services/lms/reads-api.ts → src/api/routes.ts',
      'workflow-code-is-workflow-safe: src/workflows/uses-node.ts → crypto',
      'workflow-code-is-workflow-safe: src/workflows/uses-node.ts → src/api/routes.ts',
    ]);
  });

  it('finds none in the project', async () => {
    expect(await violations(root)).toEqual([]);
  });
});

describe('configuration', () => {
  it('is read from the environment in one module only (src/lib/config.ts)', () => {
    const files = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' }).filter((f) => /\.m?ts$/.test(f));
    const readers = files.filter((f) => readFileSync(path.join(root, 'src', f), 'utf8').includes('process.env'));
    expect(readers).toEqual([path.join('lib', 'config.ts')]);
  });
});
