import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

/** `npm run catalog:import`, run as a real child process against the test stack's catalog service. */

const root = fileURLToPath(new URL('../..', import.meta.url));
let stack: TestStack;
let dir: string;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  dir = mkdtempSync(path.join(tmpdir(), 'catalog-import-'));
});
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runImport(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/catalog-import.ts', ...args],
      {
        cwd: root,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          DATA_DIR: path.join(dir, 'data'),
          JWT_SECRET: stack.config.env.JWT_SECRET as string,
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function writeItems(items: unknown[]): string {
  const file = path.join(dir, `items-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify({ items }));
  return file;
}

/** `courses` courses with two runs each, every run listed before every course. */
function catalogFile(prefix: string, courses: number) {
  const courseItems = Array.from({ length: courses }, (_, i) => ({
    content_key: `${prefix}+C${i}`,
    content_type: 'course',
    title: `Course ${i}`,
    org: prefix,
    content_price_cents: 1000 + i * 100,
  }));
  const runItems = courseItems.flatMap((c) =>
    ['1T2030', '2T2030'].map((term) => ({
      content_key: `course-v1:${c.content_key}+${term}`,
      content_type: 'courserun',
      parent_content_key: c.content_key,
      title: c.title,
      org: prefix,
      enroll_by_date: '2030-01-01T00:00:00Z',
    })),
  );
  return [...runItems, ...courseItems];
}

const metadata = async (key: string) =>
  request<{ content_price: number | null }>(
    'GET',
    `${stack.urls.catalog}/api/v1/content-metadata/${encodeURIComponent(key)}/`,
    undefined,
    await stack.operatorToken(),
  );

describe('npm run catalog:import', () => {
  it('imports a file in chunks of 1,000, courses before runs, and again as updates', async () => {
    const prefix = `ImpX${randomBytes(3).toString('hex')}`;
    const file = writeItems(catalogFile(prefix, 500)); // 1,000 runs first, then 500 courses
    const first = await runImport([file, '--url', stack.urls.catalog]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('items 1-1000 of 1500: ok');
    expect(first.stdout).toContain('items 1001-1500 of 1500: ok');
    expect(first.stdout).toContain(
      `Imported 1500 items from ${file} into ${stack.urls.catalog}: 1500 created, 0 updated.`,
    );
    const run = await metadata(`course-v1:${prefix}+C7+2T2030`);
    expect(run.status).toBe(200);
    expect(run.body.content_price).toBe(1700);

    const again = await runImport([file, '--url', stack.urls.catalog]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 created, 1500 updated.');
  });

  it('a refused chunk: exit 1, each bad item named by its place in the file, and what was imported before', async () => {
    const prefix = `BadX${randomBytes(3).toString('hex')}`;
    const items = catalogFile(prefix, 600) as Array<Record<string, unknown>>;
    // Item 1100 is a run: it is sent in the second chunk, after the 600 courses and 400 runs.
    items[1100] = { ...items[1100], title: ' ' };
    const file = writeItems(items);
    const res = await runImport([file, '--url', stack.urls.catalog]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`the catalog service refused items of ${file}:`);
    expect(res.stderr).toContain(`item 1100 (course-v1:${prefix}+C550+1T2030): title: This field may not be blank.`);
    expect(res.stderr).toContain('The first 1000 items were imported; fix the file and run it again.');
    expect((await metadata(`${prefix}+C599`)).status).toBe(200);
    expect((await metadata(`course-v1:${prefix}+C599+2T2030`)).status).toBe(404);
  });

  it('exits non-zero with a clear message: no such file, not JSON, wrong shape, wrong secret, no service', async () => {
    const missing = await runImport([path.join(dir, 'nope.json'), '--url', stack.urls.catalog]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^catalog:import: cannot read .*nope\.json: ENOENT/);

    const notJson = path.join(dir, 'bad.json');
    writeFileSync(notJson, '{"items": [');
    const parsed = await runImport([notJson, '--url', stack.urls.catalog]);
    expect(parsed.code).toBe(1);
    expect(parsed.stderr).toContain('is not valid JSON');

    const shape = path.join(dir, 'shape.json');
    writeFileSync(shape, '{"courses": []}');
    expect((await runImport([shape, '--url', stack.urls.catalog])).stderr).toContain(
      'must hold {"items": [...]} (or a bare list of items)',
    );

    const file = writeItems(catalogFile('SecretX', 1));
    const wrongSecret = await runImport([file, '--url', stack.urls.catalog], {
      JWT_SECRET: 'not-the-stack-secret-at-all',
    });
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stderr).toContain('refused the token (HTTP 401)');

    const down = await runImport([file, '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('unreachable');

    const usage = await runImport([]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: npm run catalog:import');
  });
});
