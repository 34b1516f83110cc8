import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogService } from '../../src/services/catalog';
import { inCatalog } from '../../src/services/catalog/content-filter';
import { CATALOG_QUERIES, SEED_FILE } from '../../src/services/catalog/migrations';
import type { CatalogDB } from '../../src/services/catalog/schema';
import type { LmsDB } from '../../src/services/lms/schema';
import { type Page, type Res, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let token: string;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  token = await stack.operatorToken();
});
afterAll(async () => {
  await stack?.close();
});

interface Catalog {
  uuid: string;
  title: string;
  enterprise_customer: string;
  enterprise_catalog_query: number | null;
  content_count: number;
}
interface Metadata {
  content_key: string;
  content_type: string;
  parent_content_key: string | null;
  title: string;
  org: string;
  content_price: number | null;
  enroll_by_date: string | null;
  start_date: string | null;
  end_date: string | null;
  is_active: boolean;
}
interface SeedItem {
  content_key: string;
  content_type: 'course' | 'courserun';
  parent_content_key: string | null;
  title: string;
  org: string;
  content_price_cents: number | null;
  enroll_by_date: string | null;
  start_date: string | null;
  end_date: string | null;
  is_active: boolean;
}

const seed = (JSON.parse(readFileSync(SEED_FILE, 'utf8')) as { items: SeedItem[] }).items;
/** The stored items a query holds by the in-memory rule (content-filter.ts); the service answers in SQL. */
async function expectedInQuery(filter: unknown): Promise<string[]> {
  const rows = await catalogDb().selectFrom('content_items').selectAll().execute();
  const byKey = new Map(rows.map((r) => [r.content_key, r]));
  return rows
    .filter((r) => inCatalog(filter, r, r.parent_content_key ? byKey.get(r.parent_content_key) : undefined))
    .map((r) => r.content_key)
    .sort();
}
const OPEN_COURSES = CATALOG_QUERIES[1].content_filter;

// Seed items the assertions name (data/catalog-seed.json).
const DEMO_COURSE = 'edX+DemoX';
const DEMO_RUN = 'course-v1:edX+DemoX+2026'; // active, no price of its own: takes the course's 19900
const DEMO_OLD_RUN = 'course-v1:edX+DemoX+2025'; // inactive, own price 14900, its course is active
const RETIRED_RUN = 'course-v1:edX+RetiredX+2024'; // inactive run of an inactive course
const FREE_RUN = 'course-v1:edX+FreeX+2027'; // neither run nor course has a price

const { call, get, put, post } = serviceClient(
  () => stack.urls.catalog,
  () => token,
);

const catalogDb = () => stack.db.database.forSchema<CatalogDB>('catalog');
const countItems = async () =>
  Number(
    (
      await catalogDb()
        .selectFrom('content_items')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const suffix = () => randomBytes(4).toString('hex');

const CATALOGS = '/api/v1/enterprise-catalogs';
async function newCatalog(query: number | null = 2, customer = randomUUID()): Promise<Catalog> {
  const uuid = randomUUID();
  const res = await put<Catalog>(`${CATALOGS}/${uuid}/`, {
    title: `Catalog ${suffix()}`,
    enterprise_customer: customer,
    enterprise_catalog_query: query,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const contains = (catalog: string, query: string) =>
  get<{ contains_content_items: boolean }>(`${CATALOGS}/${catalog}/contains_content_items/?${query}`);
const runIds = (...keys: string[]) => keys.map((k) => `course_run_ids=${encodeURIComponent(k)}`).join('&');

describe('catalog service: auth', () => {
  const someUuid = '00000000-0000-4000-8000-000000000000';
  const routes: Array<[string, string]> = [
    ['GET', `${CATALOGS}/`],
    ['GET', `${CATALOGS}/${someUuid}/`],
    ['PUT', `${CATALOGS}/${someUuid}/`],
    ['GET', `${CATALOGS}/${someUuid}/contains_content_items/?course_run_ids=x`],
    ['GET', `${CATALOGS}/${someUuid}/get_content_metadata/`],
    ['GET', `/api/v1/enterprise-customer/${someUuid}/contains_content_items/?course_run_ids=x`],
    ['GET', `/api/v1/content-metadata/${DEMO_COURSE}/`],
    ['POST', '/api/v1/content-items/import/'],
  ];

  it('401 without a token on every route', async () => {
    for (const [method, path] of routes) {
      const res = await call(method, path, method === 'GET' ? undefined : {}, null);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
  });

  it('403 for a token without an enterprise role on every route', async () => {
    const stranger = await stack.token({ roles: ['some_other_role:*'] });
    for (const [method, path] of routes) {
      const res = await call(method, path, method === 'GET' ? undefined : {}, stranger);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it('catalog writes need a catalog admin role (403 for learners before the body is validated); imports an operator', async () => {
    const learner = await stack.token({ roles: ['enterprise_learner:*'] });
    expect((await put(`${CATALOGS}/${someUuid}/`, {}, learner)).status).toBe(403);
    const admin = await stack.token({ roles: ['enterprise_admin:*', 'enterprise_learner:*'] });
    expect((await put(`${CATALOGS}/${someUuid}/`, {}, admin)).status).toBe(400);
    expect((await post('/api/v1/content-items/import/', {}, admin)).status).toBe(403);
    const provisioner = await stack.token({ roles: ['enterprise_provisioning_admin:*'] });
    expect((await put(`${CATALOGS}/${someUuid}/`, {}, provisioner)).status).toBe(400);
  });

  it("reads: the catalog's own admins and learners may, another customer's may not", async () => {
    const customer = randomUUID();
    const catalog = await newCatalog(2, customer);
    const other = randomUUID();
    const admin = await stack.token({ roles: [`enterprise_admin:${customer}`] });
    const learner = await stack.token({ roles: [`enterprise_learner:${customer.toUpperCase()}`] });
    const outsider = await stack.token({ roles: [`enterprise_admin:${other}`, `enterprise_learner:${other}`] });
    const reads = [
      `${CATALOGS}/${catalog.uuid}/`,
      `${CATALOGS}/${catalog.uuid}/contains_content_items/?${runIds(DEMO_RUN)}`,
      `${CATALOGS}/${catalog.uuid}/get_content_metadata/?page_size=1`,
      `/api/v1/enterprise-customer/${customer}/contains_content_items/?${runIds(DEMO_RUN)}`,
    ];
    for (const path of reads) {
      expect((await get(path, admin)).status, path).toBe(200);
      // The catalog record itself is for its admins (upstream's CRUD viewset); learners read its content.
      expect((await get(path, learner)).status, path).toBe(path === reads[0] ? 403 : 200);
      expect((await get(path, outsider)).status, path).toBe(403);
    }
    // The list holds only the caller's customers' catalogs.
    const mine = await get<Page<Catalog>>(`${CATALOGS}/`, admin);
    expect(mine.body.results.map((c) => c.uuid)).toEqual([catalog.uuid]);
    const theirs = await get<Page<Catalog>>(`${CATALOGS}/`, outsider);
    expect(theirs.body.count).toBe(0);
    // Content metadata for a named customer needs a role for that customer.
    expect(
      (await get(`/api/v1/content-metadata/${DEMO_COURSE}/?enterprise_customer_uuid=${customer}`, learner)).status,
    ).toBe(200);
    expect(
      (await get(`/api/v1/content-metadata/${DEMO_COURSE}/?enterprise_customer_uuid=${customer}`, outsider)).status,
    ).toBe(403);
    expect((await get(`/api/v1/content-metadata/${DEMO_COURSE}/`, outsider)).status).toBe(200);
  });
});

describe('PUT/GET enterprise-catalogs/{uuid}', () => {
  it('creates (201), then updates (200) the same row; GET reads it with its content count', async () => {
    const uuid = randomUUID();
    const customer = randomUUID();
    const first = await put<Catalog>(`${CATALOGS}/${uuid}/`, {
      title: ' Acme catalog ',
      enterprise_customer: customer,
      enterprise_catalog_query: 1,
      // Upstream's signal sends these too; they are ignored.
      uuid,
      enterprise_customer_name: 'Acme',
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toEqual({
      uuid,
      title: 'Acme catalog',
      enterprise_customer: customer,
      enterprise_catalog_query: 1,
      content_count: (await expectedInQuery(CATALOG_QUERIES[0].content_filter)).length,
    });

    const again = await put<Catalog>(`${CATALOGS}/${uuid.toUpperCase()}/`, {
      title: 'Acme open courses',
      enterprise_customer: customer,
      enterprise_catalog_query: '2',
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ uuid, title: 'Acme open courses', enterprise_catalog_query: 2 });
    expect(again.body.content_count).toBe((await expectedInQuery(OPEN_COURSES)).length);
    expect(again.body.content_count).toBeLessThan(first.body.content_count);

    const read = await get<Catalog>(`${CATALOGS}/${uuid}/`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(again.body);
    const rows = await catalogDb().selectFrom('enterprise_catalogs').selectAll().where('uuid', '=', uuid).execute();
    expect(rows).toHaveLength(1);
  });

  it('a catalog without a query holds nothing', async () => {
    const catalog = await newCatalog(null);
    expect(catalog.content_count).toBe(0);
    expect((await contains(catalog.uuid, runIds(DEMO_RUN))).body.contains_content_items).toBe(false);
  });

  it('400 naming each bad field; 404 for a malformed or unknown uuid', async () => {
    const uuid = randomUUID();
    const missing = await put(`${CATALOGS}/${uuid}/`, {});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      title: ['This field is required.'],
      enterprise_customer: ['This field is required.'],
      enterprise_catalog_query: ['This field is required.'],
    });
    const bad = await put(`${CATALOGS}/${uuid}/`, {
      title: '  ',
      enterprise_customer: 'acme',
      enterprise_catalog_query: 'all',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      title: ['This field may not be blank.'],
      enterprise_customer: ['Must be a valid UUID.'],
      enterprise_catalog_query: ['A valid integer is required.'],
    });
    const unknownQuery = await put(`${CATALOGS}/${uuid}/`, {
      title: 'x',
      enterprise_customer: randomUUID(),
      enterprise_catalog_query: 99,
    });
    expect(unknownQuery.status).toBe(400);
    expect(unknownQuery.body).toEqual({ enterprise_catalog_query: ['Invalid pk "99" - object does not exist.'] });
    expect((await get(`${CATALOGS}/${uuid}/`)).status).toBe(404);
    expect((await put(`${CATALOGS}/not-a-uuid/`, { title: 'x' })).status).toBe(404);
    expect((await get(`${CATALOGS}/not-a-uuid/`)).body).toEqual({ detail: 'Not found.' });
  });

  it('10 concurrent PUTs of a new uuid make one row: one 201, nine 200', async () => {
    const uuid = randomUUID();
    const customer = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        put<Catalog>(`${CATALOGS}/${uuid}/`, {
          title: `Concurrent ${i}`,
          enterprise_customer: customer,
          enterprise_catalog_query: 2,
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const rows = await catalogDb().selectFrom('enterprise_catalogs').selectAll().where('uuid', '=', uuid).execute();
    expect(rows).toHaveLength(1);
  });

  it('lists catalogs, filtered by customer and paginated', async () => {
    const customer = randomUUID();
    const a = await newCatalog(1, customer);
    const b = await newCatalog(2, customer);
    await newCatalog(2);
    const page = await get<Page<Catalog>>(`${CATALOGS}/?enterprise_customer=${customer}&page_size=1`);
    expect(page.status).toBe(200);
    expect(page.body.count).toBe(2);
    expect(page.body.results).toEqual([a]);
    expect(page.body.next).not.toBeNull();
    const second = await get<Page<Catalog>>(page.body.next as string);
    expect(second.body.results).toEqual([b]);
    expect((await get(`${CATALOGS}/?enterprise_customer=nope`)).status).toBe(400);
  });
});

describe('contains_content_items', () => {
  let open: Catalog;
  beforeAll(async () => {
    open = await newCatalog(2);
  });

  it('a run whose course matches the query is in the catalog, though the run itself does not match', async () => {
    const res = await contains(open.uuid, runIds(DEMO_OLD_RUN));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ contains_content_items: true });
  });

  it('content outside the query is not: an inactive run of an inactive course, an unknown key', async () => {
    expect((await contains(open.uuid, runIds(RETIRED_RUN))).body).toEqual({ contains_content_items: false });
    expect((await contains(open.uuid, runIds('course-v1:edX+NoSuchX+2026'))).body.contains_content_items).toBe(false);
    expect((await contains(open.uuid, 'program_uuids=a6b8b4c8-2f4d-4f0b-8a60-0f4f0c1f3b21')).body).toEqual({
      contains_content_items: false,
    });
  });

  it('true when ANY key is in the catalog; keys repeated, comma-separated, or with + unescaped', async () => {
    expect((await contains(open.uuid, runIds(RETIRED_RUN, DEMO_RUN))).body.contains_content_items).toBe(true);
    expect(
      (await contains(open.uuid, `course_run_ids=${encodeURIComponent(`${RETIRED_RUN},${DEMO_COURSE}`)}`)).body
        .contains_content_items,
    ).toBe(true);
    // `+` left unescaped arrives as a space, which lookups turn back (upstream's unquote_course_keys).
    expect((await contains(open.uuid, `course_run_ids=${DEMO_RUN}`)).body.contains_content_items).toBe(true);
    expect((await contains(open.uuid, `course_run_ids=${RETIRED_RUN}`)).body.contains_content_items).toBe(false);
  });

  it('a query on other fields: a catalog of one org', async () => {
    await catalogDb()
      .insertInto('catalog_queries')
      .values({ id: 900, title: 'MITx only', content_filter: sql`'{"org": ["MITx"]}'::jsonb` })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const mit = await newCatalog(900);
    const mitRun = seed.find((i) => i.org === 'MITx' && i.content_type === 'courserun') as SeedItem;
    expect((await contains(mit.uuid, runIds(mitRun.content_key))).body.contains_content_items).toBe(true);
    expect((await contains(mit.uuid, runIds(DEMO_RUN))).body.contains_content_items).toBe(false);
    expect(mit.content_count).toBe((await expectedInQuery({ org: ['MITx'] })).length);
    expect(mit.content_count).toBe(seed.filter((i) => i.org === 'MITx').length);
  });

  it('400 without content keys; 404 for an unknown catalog', async () => {
    const none = await contains(open.uuid, '');
    expect(none.status).toBe(400);
    expect(none.body).toEqual([
      'You must provide at least one of the following query parameters: course_run_ids, program_uuids.',
    ]);
    const unknown = await contains(randomUUID(), runIds(DEMO_RUN));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ detail: 'Not found.' });
    expect((await contains('not-a-uuid', runIds(DEMO_RUN))).status).toBe(404);
  });

  it('enterprise-customer/{uuid}/contains_content_items: any catalog of the customer', async () => {
    const customer = randomUUID();
    const empty = await newCatalog(null, customer);
    const withOpen = await newCatalog(2, customer);
    const path = (q: string) => `/api/v1/enterprise-customer/${customer}/contains_content_items/?${q}`;
    expect((await get(path(runIds(DEMO_RUN)))).body).toEqual({ contains_content_items: true });
    expect((await get(path(runIds(RETIRED_RUN)))).body).toEqual({ contains_content_items: false });
    const listed = await get(path(`${runIds(DEMO_RUN)}&get_catalogs_containing_specified_content_ids=true`));
    expect(listed.body).toEqual({ contains_content_items: true, catalog_list: [withOpen.uuid] });
    expect(empty.uuid).not.toBe(withOpen.uuid);
    // A customer without catalogs has no content.
    const nobody = await get(`/api/v1/enterprise-customer/${randomUUID()}/contains_content_items/?${runIds(DEMO_RUN)}`);
    expect(nobody.body).toEqual({ contains_content_items: false });
    expect((await get(path(''))).status).toBe(400);
    expect((await get(`/api/v1/enterprise-customer/nope/contains_content_items/?${runIds(DEMO_RUN)}`)).status).toBe(
      400,
    );
  });
});

describe('content metadata', () => {
  it('a course with its price; a run without a price takes its course price', async () => {
    const courseRes = await get<Metadata>(`/api/v1/content-metadata/${DEMO_COURSE}/`);
    expect(courseRes.status).toBe(200);
    expect(courseRes.body).toMatchObject({
      content_key: DEMO_COURSE,
      content_type: 'course',
      parent_content_key: null,
      title: 'edX Demonstration Course',
      org: 'edX',
      content_price: 19900,
      is_active: true,
    });
    const runRes = await get<Metadata>(`/api/v1/content-metadata/${encodeURIComponent(DEMO_RUN)}/`);
    expect(runRes.status).toBe(200);
    expect(runRes.body).toEqual({
      content_key: DEMO_RUN,
      content_type: 'courserun',
      parent_content_key: DEMO_COURSE,
      title: 'edX Demonstration Course',
      org: 'edX',
      content_price: 19900,
      enroll_by_date: '2028-12-31T23:00:00.000Z',
      start_date: '2027-01-15T00:00:00.000Z',
      end_date: '2029-01-15T00:00:00.000Z',
      is_active: true,
    });
  });

  it('a run with its own price keeps it; no price anywhere is null', async () => {
    const own = await get<Metadata>(`/api/v1/content-metadata/${DEMO_OLD_RUN}/`);
    expect(own.body).toMatchObject({ content_price: 14900, is_active: false });
    expect(new Date(own.body.enroll_by_date as string).getTime()).toBeLessThan(Date.now());
    expect((await get<Metadata>(`/api/v1/content-metadata/${FREE_RUN}/`)).body.content_price).toBeNull();
  });

  it('404 {"detail": "Not found."} for an unknown key', async () => {
    const res = await get(`/api/v1/content-metadata/course-v1:edX+NoSuchX+2026/`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not found.' });
  });

  it("get_content_metadata: the catalog's items (the same as the in-memory rule), or only the keys asked for", async () => {
    const open = await newCatalog(2);
    const expected = await expectedInQuery(OPEN_COURSES);
    const all: string[] = [];
    let url: string | null = `${CATALOGS}/${open.uuid}/get_content_metadata/`;
    while (url) {
      const page: Res<Page<Metadata> & { uuid: string; enterprise_customer: string }> = await get(url);
      expect(page.status).toBe(200);
      expect(page.body.count).toBe(expected.length);
      expect(page.body.uuid).toBe(open.uuid);
      expect(page.body.enterprise_customer).toBe(open.enterprise_customer);
      all.push(...page.body.results.map((m) => m.content_key));
      url = page.body.next;
    }
    expect(all.sort()).toEqual(expected);
    expect(all).toContain(DEMO_OLD_RUN);
    expect(all).not.toContain(RETIRED_RUN);

    const some = await get<Page<Metadata>>(
      `${CATALOGS}/${open.uuid}/get_content_metadata/?content_keys=${encodeURIComponent(DEMO_RUN)}&content_keys=${encodeURIComponent(`${RETIRED_RUN},${DEMO_OLD_RUN}`)}`,
    );
    expect(some.body.results.map((m) => [m.content_key, m.content_price])).toEqual([
      [DEMO_OLD_RUN, 14900],
      [DEMO_RUN, 19900],
    ]);
    const tooMany = Array.from({ length: 101 }, (_, i) => `k${i}`).join(',');
    expect((await get(`${CATALOGS}/${open.uuid}/get_content_metadata/?content_keys=${tooMany}`)).status).toBe(400);
    expect((await get(`${CATALOGS}/${randomUUID()}/get_content_metadata/`)).status).toBe(404);
  });
});

describe('POST content-items/import', () => {
  const IMPORT = '/api/v1/content-items/import/';
  const courseItem = (key: string, extra: Record<string, unknown> = {}) => ({
    content_key: key,
    content_type: 'course',
    title: `Course ${key}`,
    org: 'TestX',
    content_price_cents: 12300,
    ...extra,
  });
  const runItem = (key: string, parent: string, extra: Record<string, unknown> = {}) => ({
    content_key: key,
    content_type: 'courserun',
    parent_content_key: parent,
    title: `Run ${key}`,
    org: 'TestX',
    enroll_by_date: '2030-01-01T00:00:00Z',
    ...extra,
  });

  it('400 naming each bad field by its item, and nothing is imported', async () => {
    const before = await countItems();
    const s = suffix();
    const res = await post(IMPORT, {
      items: [
        courseItem(`TestX+OK${s}`),
        { content_key: `TestX+Bad${s}`, content_type: 'program', title: '', org: 'TestX', content_price_cents: -1 },
        runItem(`course-v1:TestX+Orphan${s}+1`, ''),
        { ...runItem(`course-v1:TestX+X${s}+1`, `TestX+OK${s}`), enroll_by_date: 'tomorrow', is_active: 'maybe' },
        { content_type: 'course', content_key: 'has space', title: 't', org: 'o' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      items: {
        '1': {
          content_type: ['"program" is not a valid choice.'],
          title: ['This field may not be blank.'],
          content_price_cents: ['Ensure this value is greater than or equal to 0.'],
        },
        '2': { parent_content_key: ['This field may not be blank.'] },
        '3': {
          enroll_by_date: [
            'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
          ],
          is_active: ['Must be a valid boolean.'],
        },
        '4': { content_key: ['Content keys may not contain whitespace.'] },
      },
    });
    expect(await countItems()).toBe(before);
  });

  it('400 for a missing list, an empty one, too many items, a duplicate key, a run of an unknown course', async () => {
    expect((await post(IMPORT, {})).body).toEqual({ items: ['This field is required.'] });
    expect((await post(IMPORT, { items: {} })).body).toEqual({
      items: ['Expected a list of items but got type "dict".'],
    });
    expect((await post(IMPORT, { items: [] })).body).toEqual({ items: ['This list may not be empty.'] });
    const tooMany = await post(IMPORT, { items: Array.from({ length: 10_001 }, (_, i) => courseItem(`TestX+M${i}`)) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({ items: ['Ensure this field has no more than 10000 elements.'] });

    const s = suffix();
    const before = await countItems();
    const dup = await post(IMPORT, { items: [courseItem(`TestX+D${s}`), courseItem(`TestX+D${s}`)] });
    expect(dup.status).toBe(400);
    expect(dup.body).toEqual({
      items: { '1': { content_key: ['Duplicate of item 0: each content key may appear once per request.'] } },
    });
    const orphan = await post(IMPORT, {
      items: [runItem(`course-v1:TestX+O${s}+1`, `TestX+Nope${s}`), runItem(`course-v1:TestX+R${s}+1`, DEMO_RUN)],
    });
    expect(orphan.status).toBe(400);
    expect(orphan.body).toEqual({
      items: {
        '0': { parent_content_key: [`No course with the key "TestX+Nope${s}" exists or is in this request.`] },
        '1': { parent_content_key: [`No course with the key "${DEMO_RUN}" exists or is in this request.`] },
      },
    });
    expect(await countItems()).toBe(before);
  });

  it('creates, then updates, and reports the counts; the metadata reflects the import', async () => {
    const s = suffix();
    const course = `TestX+C${s}`;
    const items = [
      runItem(`course-v1:TestX+C${s}+1T2030`, course),
      courseItem(course),
      runItem(`course-v1:TestX+C${s}+2T2030`, course, { content_price_cents: 5000 }),
    ];
    const first = await post(IMPORT, { items });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ created: 3, updated: 0 });
    expect((await get<Metadata>(`/api/v1/content-metadata/course-v1:TestX+C${s}+1T2030/`)).body.content_price).toBe(
      12300,
    );

    // A run of a course stored by an earlier call, and the course repriced.
    const again = await post(IMPORT, {
      items: [courseItem(course, { content_price_cents: '4500' }), runItem(`course-v1:TestX+C${s}+3T2030`, course)],
    });
    expect(again.body).toEqual({ created: 1, updated: 1 });
    const run = await get<Metadata>(`/api/v1/content-metadata/course-v1:TestX+C${s}+1T2030/`);
    expect(run.body).toMatchObject({
      content_price: 4500,
      enroll_by_date: '2030-01-01T00:00:00.000Z',
      is_active: true,
    });
  });
});

describe('seed', () => {
  it('a new database holds the seed: at least 200 courses, each run under its course', async () => {
    const rows = await catalogDb()
      .selectFrom('content_items')
      .select(['content_key', 'content_type', 'parent_content_key'])
      .where(
        'content_key',
        'in',
        seed.map((i) => i.content_key),
      )
      .execute();
    expect(rows).toHaveLength(seed.length);
    expect(rows.filter((r) => r.content_type === 'course').length).toBeGreaterThanOrEqual(200);
    const courses = new Set(rows.filter((r) => r.content_type === 'course').map((r) => r.content_key));
    expect(
      rows.filter((r) => r.content_type === 'courserun').every((r) => courses.has(r.parent_content_key ?? '')),
    ).toBe(true);
  });

  it('migrating again adds nothing, even when the seed migration itself runs again', async () => {
    const before = await countItems();
    expect(await catalogService.migrate(stack.db.database)).toEqual([]);
    expect(await countItems()).toBe(before);
    // Forget that 0002_seed ran: it runs again, finds content and leaves it alone.
    await catalogDb()
      .deleteFrom('migrations' as never)
      .where('name' as never, '=', '0002_seed' as never)
      .execute();
    expect(await catalogService.migrate(stack.db.database)).toEqual(['0002_seed']);
    expect(await countItems()).toBe(before);
  });
});

describe('lms catalogs are kept in step', () => {
  const LMS = '/enterprise/api/v1';
  const { call: lms } = serviceClient(
    () => stack.urls.lms,
    () => token,
  );
  const lmsDb = () => stack.db.database.forSchema<LmsDB>('lms');
  async function newCustomer(): Promise<string> {
    const res = await lms<{ uuid: string }>('POST', `${LMS}/enterprise-customer/`, {
      name: 'Acme',
      slug: `c-${suffix()}`,
      country: 'US',
    });
    expect(res.status).toBe(201);
    return res.body.uuid;
  }
  const createCatalog = (customer: string, query = 2) =>
    lms<{ uuid: string; title: string }>('POST', `${LMS}/enterprise_customer_catalog/`, {
      title: 'Acme Catalog',
      enterprise_customer: customer,
      enterprise_catalog_query: query,
    });

  it('a new lms catalog is in the catalog service under the same uuid; a found one is synced again', async () => {
    const customer = await newCustomer();
    const created = await createCatalog(customer);
    expect(created.status).toBe(201);
    const mirrored = await get<Catalog>(`${CATALOGS}/${created.body.uuid}/`);
    expect(mirrored.status).toBe(200);
    expect(mirrored.body).toMatchObject({
      uuid: created.body.uuid,
      title: 'Acme Catalog',
      enterprise_customer: customer,
      enterprise_catalog_query: 2,
    });

    // The catalog service lost it (e.g. it was restored from an older backup): the next get-or-create restores it.
    await catalogDb().deleteFrom('enterprise_catalogs').where('uuid', '=', created.body.uuid).execute();
    const found = await createCatalog(customer);
    expect(found.status).toBe(200);
    expect(found.body.uuid).toBe(created.body.uuid);
    expect((await get(`${CATALOGS}/${created.body.uuid}/`)).status).toBe(200);
  });

  it('503 while the catalog service fails; the retry finds the lms catalog and syncs it', async () => {
    const customer = await newCustomer();
    await stack.faults('catalog').add({
      method: 'PUT',
      route: '/api/v1/enterprise-catalogs/:uuid/',
      status: 503,
      count: 1,
    });
    const failed = await createCatalog(customer);
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ detail: 'Could not sync the catalog to enterprise-catalog; retry.' });
    const lmsRow = await lmsDb()
      .selectFrom('enterprise_customer_catalogs')
      .selectAll()
      .where('enterprise_customer', '=', customer)
      .executeTakeFirstOrThrow();
    expect((await get(`${CATALOGS}/${lmsRow.uuid}/`)).status).toBe(404);

    const retried = await createCatalog(customer);
    expect(retried.status).toBe(200);
    expect(retried.body.uuid).toBe(lmsRow.uuid);
    const mirrored = await get<Catalog>(`${CATALOGS}/${lmsRow.uuid}/`);
    expect(mirrored.status).toBe(200);
    expect(mirrored.body.enterprise_customer).toBe(customer);
  });

  it('a refusal by the catalog service is a 422 with its reason, which callers do not retry', async () => {
    const customer = await newCustomer();
    await stack.faults('catalog').add({
      method: 'PUT',
      route: '/api/v1/enterprise-catalogs/:uuid/',
      status: 400,
      body: { enterprise_catalog_query: ['Invalid pk "2" - object does not exist.'] },
      count: 1,
    });
    const refused = await createCatalog(customer);
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({
      detail:
        'Could not sync the catalog to enterprise-catalog: {"enterprise_catalog_query":["Invalid pk \\"2\\" - object does not exist."]}',
    });
  });
});
