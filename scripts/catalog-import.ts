/**
 * `npm run catalog:import -- path/to/items.json [--url http://127.0.0.1:8003]`
 *
 * Imports courses and runs into the catalog service: reads a JSON file `{"items": [...]}` (the
 * shape of `POST /api/v1/content-items/import/` and of data/catalog-seed.json; a bare list works
 * too), signs an operator token with the local secret (JWT_SECRET, else DATA_DIR/jwt-secret) and
 * posts the items in chunks of 1,000, courses first so every run's course is there before it.
 * Existing keys are replaced, so running it again is safe. Prints the counts; on any error prints
 * what and where, and exits non-zero.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../src/lib/config';
import { HttpClient, ServiceError } from '../src/lib/http-client';
import { resolveJwtSecret, signToken } from '../src/lib/jwt';

const CHUNK = 1000;
const usage = `Usage: npm run catalog:import -- <file.json> [--url <catalog service URL>]
The file holds {"items": [{content_key, content_type, parent_content_key, title, org,
content_price_cents, enroll_by_date, start_date, end_date, is_active}, ...]}.
--url defaults to CATALOG_URL, else http://HOST:CATALOG_PORT.`;

function fail(message: string, code = 1): never {
  process.stderr.write(`catalog:import: ${message}\n`);
  process.exit(code);
}

const parseCommandArgs = () =>
  parseArgs({
    options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });

function parseCommandLine(): { file: string; url?: string } {
  let parsed: ReturnType<typeof parseCommandArgs>;
  try {
    parsed = parseCommandArgs();
  } catch (err) {
    fail(`${(err as Error).message}\n\n${usage}`, 2);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const [file, ...rest] = parsed.positionals;
  if (!file || rest.length > 0) fail(`expected one file, got ${parsed.positionals.length}\n\n${usage}`, 2);
  return { file, url: parsed.values.url };
}

function readItems(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    fail(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(data)
    ? data
    : typeof data === 'object' && data !== null && 'items' in data && Array.isArray(data.items)
      ? (data.items as unknown[])
      : undefined;
  if (!items) fail(`${file} must hold {"items": [...]} (or a bare list of items)`);
  return items;
}

const isCourse = (item: unknown) =>
  typeof item === 'object' && item !== null && (item as { content_type?: unknown }).content_type === 'course';

/** The field errors of a refused chunk, one line per item and field, numbered as in the file. */
function describeFieldErrors(body: unknown, fileIndex: (i: number) => number, items: unknown[]): string[] {
  const perItem = (body as { items?: unknown } | null)?.items;
  if (typeof perItem !== 'object' || perItem === null || Array.isArray(perItem)) {
    return [JSON.stringify(body).slice(0, 1000)];
  }
  return Object.entries(perItem).flatMap(([i, fields]) => {
    const at = /^\d+$/.test(i) ? fileIndex(Number(i)) : undefined;
    const key = at === undefined ? undefined : (items[at] as { content_key?: unknown } | undefined)?.content_key;
    const where = at === undefined ? `items.${i}` : `item ${at}${typeof key === 'string' ? ` (${key})` : ''}`;
    if (Array.isArray(fields)) return [`${where}: ${fields.join(' ')}`];
    return Object.entries(fields as Record<string, unknown>).map(
      ([field, messages]) => `${where}: ${field}: ${Array.isArray(messages) ? messages.join(' ') : String(messages)}`,
    );
  });
}

async function main() {
  const { file, url: urlArg } = parseCommandLine();
  const config = loadConfigOrExit();
  const url = urlArg ?? config.serviceUrls.catalog;
  const items = readItems(file);
  if (items.length === 0) {
    process.stdout.write(`No items in ${file}; nothing to import.\n`);
    return;
  }
  // Courses first (stable), so that a run's course is imported in the same or an earlier chunk.
  const order = items.map((_, i) => i).sort((a, b) => Number(!isCourse(items[a])) - Number(!isCourse(items[b])));

  const { env } = config;
  const secret = resolveJwtSecret(env.JWT_SECRET, config.dataDir);
  const token = await signToken(
    secret,
    env.JWT_ISSUER,
    { roles: ['enterprise_openedx_operator:*'], username: 'catalog-import', expiresIn: 3600 },
    env.JWT_AUDIENCE,
  );
  const client = new HttpClient({ service: 'catalog', baseUrl: url, token: async () => token, timeoutMs: 120_000 });

  let created = 0;
  let updated = 0;
  for (let start = 0; start < order.length; start += CHUNK) {
    const slice = order.slice(start, start + CHUNK);
    try {
      const res = await client.call<{ created: number; updated: number }>({
        operation: 'import content items',
        method: 'POST',
        path: '/api/v1/content-items/import/',
        body: { items: slice.map((i) => items[i]) },
      });
      created += res.body.created;
      updated += res.body.updated;
      process.stdout.write(`  items ${start + 1}-${start + slice.length} of ${order.length}: ok\n`);
    } catch (err) {
      const done = start > 0 ? `\nThe first ${start} items were imported; fix the file and run it again.` : '';
      if (err instanceof ServiceError && err.status === 400) {
        const lines = describeFieldErrors(err.body, (i) => slice[i] ?? i, items);
        const shown = lines.slice(0, 50).map((l) => `  ${l}`);
        if (lines.length > shown.length) shown.push(`  ... and ${lines.length - shown.length} more`);
        fail(`the catalog service refused items of ${file}:\n${shown.join('\n')}${done}`);
      }
      if (err instanceof ServiceError && (err.status === 401 || err.status === 403)) {
        fail(
          `${url} refused the token (HTTP ${err.status}): is JWT_SECRET (or DATA_DIR) the one the stack uses?${done}`,
        );
      }
      fail(`${err instanceof Error ? err.message : String(err)} (catalog service at ${url}).${done}`);
    }
  }
  process.stdout.write(
    `Imported ${order.length} items from ${file} into ${url}: ${created} created, ${updated} updated.\n`,
  );
}

void main();
