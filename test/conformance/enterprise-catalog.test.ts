import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, type Page, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';
import { hex, importContent, roleTokens, uuid } from './support';

/**
 * openedx/enterprise-catalog's API tests, replayed over HTTP against the catalog service. A
 * catalog's content here is its catalog query's filter over the imported content (upstream links
 * content to queries in a refresh job): query 1 holds all content, query 2 the active courses and
 * runs, and a catalog without a query holds nothing. `add_metadata_to_catalog` becomes importing
 * active content (in query 2) or inactive content (in query 1 only).
 */

const VIEWS = 'enterprise_catalog/apps/api/v1/tests/test_views.py';
const CUSTOMER_VIEWS = 'enterprise_catalog/apps/api/v1/tests/test_enterprise_customer_views.py';
const CATALOGS = '/api/v1/enterprise-catalogs/';

let stack: TestStack;
let operator: string;
let tokens: ReturnType<typeof roleTokens>;
const catalogSvc = serviceClient(
  () => stack.urls.catalog,
  () => operator,
);
const as = <T = Json>(token: string | null, method: string, path: string, body?: unknown) =>
  catalogSvc.callAs<T>(token, method, path, body);

// Active content (in query 2) and inactive content (in query 1 only).
const COURSE = 'edX+ConfX';
const RUN = 'course-v1:edX+ConfX+2026';
const OTHER_RUN = 'course-v1:edX+ConfX+2027';
const OLD_COURSE = 'edX+OldConfX';
const OLD_RUN = 'course-v1:edX+OldConfX+2019';

beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
  tokens = roleTokens(stack);
  await importContent(stack, operator, [
    { content_key: COURSE, content_type: 'course', parent_content_key: null, title: 'Conf', content_price_cents: 5000 },
    {
      content_key: RUN,
      content_type: 'courserun',
      parent_content_key: COURSE,
      title: 'Conf',
      content_price_cents: 5000,
    },
    {
      content_key: OTHER_RUN,
      content_type: 'courserun',
      parent_content_key: COURSE,
      title: 'Conf',
      content_price_cents: null,
    },
  ]);
  const res = await as(operator, 'POST', '/api/v1/content-items/import/', {
    items: [OLD_COURSE, OLD_RUN].map((key, i) => ({
      content_key: key,
      content_type: i === 0 ? 'course' : 'courserun',
      parent_content_key: i === 0 ? null : OLD_COURSE,
      title: 'Old',
      org: 'edX',
      content_price_cents: 100,
      is_active: false,
    })),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

/** EnterpriseCatalogFactory(enterprise_uuid=…): a catalog made by PUT (the lms's sync). */
async function catalog(customer: string, query: number | null = 2): Promise<{ uuid: string; title: string }> {
  const id = uuid();
  const res = await as<{ uuid: string; title: string }>(operator, 'PUT', `${CATALOGS}${id}/`, {
    title: `Catalog ${hex()}`,
    enterprise_customer: customer,
    enterprise_catalog_query: query,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const containsPath = (c: string, q: string) => `${CATALOGS}${c}/contains_content_items/?${q}`;
const metadataPath = (c: string, q = '') => `${CATALOGS}${c}/get_content_metadata/${q ? `?${q}` : ''}`;
const customerContains = (customer: string, q: string) =>
  `/api/v1/enterprise-customer/${customer}/contains_content_items/?${q}`;
const ids = (...keys: string[]) => keys.map((k) => `course_run_ids=${encodeURIComponent(k)}`).join('&');

describe(`${VIEWS}::EnterpriseCatalogCRUDViewSetTests`, () => {
  it('test_detail_unauthorized_catalog_learner', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    expect((await as(await tokens.learner([customer]), 'GET', `${CATALOGS}${c.uuid}/`)).status).toBe(403);
  });

  it('test_put_unauthorized_catalog_learner', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const res = await as(await tokens.learner([customer]), 'PUT', `${CATALOGS}${c.uuid}/`, {
      title: 'Test Title',
      enterprise_customer: customer,
      enterprise_catalog_query: 1,
    });
    expect(res.status).toBe(403);
  });

  it.each(['enterprise_admin', 'enterprise_catalog_admin', 'enterprise_openedx_operator'])(
    'test_detail[implicit JWT access as %s]',
    async (role) => {
      const customer = uuid();
      const c = await catalog(customer);
      const res = await as<Json>(await tokens.roles([`${role}:${customer}`]), 'GET', `${CATALOGS}${c.uuid}/`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ uuid: c.uuid, title: c.title, enterprise_customer: customer });
    },
  );

  it('test_detail_provisioning_admin', async () => {
    const c = await catalog(uuid());
    const res = await as<Json>(await tokens.roles(['enterprise_provisioning_admin:*']), 'GET', `${CATALOGS}${c.uuid}/`);
    expect(res.status).toBe(200);
    expect(res.body.uuid).toBe(c.uuid);
  });

  it('test_detail_unauthorized_non_catalog_admin', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    expect((await as(await tokens.roles([`invalid_role:${customer}`]), 'GET', `${CATALOGS}${c.uuid}/`)).status).toBe(
      403,
    );
  });

  it('test_detail_unauthorized_incorrect_jwt_context', async () => {
    const c = await catalog(uuid());
    expect((await as(await tokens.admin([uuid()]), 'GET', `${CATALOGS}${c.uuid}/`)).status).toBe(403);
  });

  it('test_put (a catalog admin updates its customer’s catalog)', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const res = await as<Json>(await tokens.admin([customer]), 'PUT', `${CATALOGS}${c.uuid}/`, {
      title: 'Test Title',
      enterprise_customer: customer,
      enterprise_catalog_query: 1,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ title: 'Test Title', enterprise_catalog_query: 1 });
  });

  it('test_put_provisioning_admins', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const res = await as<Json>(
      await tokens.roles(['enterprise_provisioning_admin:*']),
      'PUT',
      `${CATALOGS}${c.uuid}/`,
      {
        title: 'Test Title',
        enterprise_customer: customer,
        enterprise_catalog_query: 1,
      },
    );
    expect(res.status).toBe(200);
  });

  it('test_put_unauthorized_non_catalog_admin', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const res = await as(await tokens.roles([`invalid_role:${customer}`]), 'PUT', `${CATALOGS}${c.uuid}/`, {
      title: 'Test Title',
      enterprise_customer: customer,
      enterprise_catalog_query: 1,
    });
    expect(res.status).toBe(403);
  });

  it('test_put_unauthorized_incorrect_jwt_context (also: moving a catalog to a customer one does not administer)', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const body = { title: 'Test Title', enterprise_customer: customer, enterprise_catalog_query: 1 };
    expect((await as(await tokens.admin([uuid()]), 'PUT', `${CATALOGS}${c.uuid}/`, body)).status).toBe(403);
    const mine = await tokens.admin([customer]);
    expect((await as(mine, 'PUT', `${CATALOGS}${c.uuid}/`, { ...body, enterprise_customer: uuid() })).status).toBe(403);
  });
});

describe(`${VIEWS}::EnterpriseCatalogCRUDViewSetListTests`, () => {
  it('test_list_for_superusers', async () => {
    const [a, b] = [await catalog(uuid()), await catalog(uuid())];
    const superuser = await stack.token({ roles: [], administrator: true });
    const res = await as<Page<Json>>(superuser, 'GET', `${CATALOGS}?page_size=100`);
    expect(res.status).toBe(200);
    expect(res.body.results.map((c) => c.uuid)).toEqual(expect.arrayContaining([a.uuid, b.uuid]));
  });

  it('test_list_for_provisioning_admins', async () => {
    const [a, b] = [await catalog(uuid()), await catalog(uuid())];
    const res = await as<Page<Json>>(
      await tokens.roles(['enterprise_provisioning_admin:*']),
      'GET',
      `${CATALOGS}?page_size=100`,
    );
    expect(res.status).toBe(200);
    expect(res.body.results.map((c) => c.uuid)).toEqual(expect.arrayContaining([a.uuid, b.uuid]));
  });

  it('test_one_catalog_for_catalog_admins', async () => {
    const customer = uuid();
    const mine = await catalog(customer);
    await catalog(uuid());
    const res = await as<Page<Json>>(await tokens.roles([`enterprise_catalog_admin:${customer}`]), 'GET', CATALOGS);
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(1);
    expect(res.body.results[0]?.uuid).toBe(mine.uuid);
  });

  it('test_multiple_catalogs_for_catalog_admins', async () => {
    const [x, y] = [uuid(), uuid()];
    const [a, b] = [await catalog(x), await catalog(y)];
    const token = await tokens.roles([`enterprise_catalog_admin:${x}`, `enterprise_catalog_admin:${y}`]);
    const res = await as<Page<Json>>(token, 'GET', CATALOGS);
    expect(res.body.count).toBe(2);
    expect(res.body.results.map((c) => c.uuid)).toEqual([a.uuid, b.uuid]);
  });

  it('test_every_catalog_for_catalog_admins', async () => {
    const made = [await catalog(uuid()), await catalog(uuid()), await catalog(uuid())];
    const res = await as<Page<Json>>(
      await tokens.roles(['enterprise_catalog_admin:*']),
      'GET',
      `${CATALOGS}?page_size=100`,
    );
    expect(res.status).toBe(200);
    expect(res.body.results.map((c) => c.uuid)).toEqual(expect.arrayContaining(made.map((c) => c.uuid)));
  });

  it('test_catalog_list_for_catalog_admins_with_enterprise_param', async () => {
    const customer = uuid();
    const mine = await catalog(customer);
    await catalog(uuid());
    const res = await as<Page<Json>>(
      await tokens.roles([`enterprise_catalog_admin:${customer}`]),
      'GET',
      `${CATALOGS}?enterprise_customer=${customer}`,
    );
    expect(res.body.results.map((c) => c.uuid)).toEqual([mine.uuid]);
  });

  it('test_list_unauthorized_catalog_learner', async () => {
    expect((await as(await tokens.learner([uuid()]), 'GET', CATALOGS)).status).toBe(403);
  });
});

describe(`${VIEWS}::EnterpriseCatalogContainsContentItemsTests`, () => {
  let customer: string;
  let learner: string;
  let open: { uuid: string };
  beforeAll(async () => {
    customer = uuid();
    learner = await tokens.learner([customer]);
    open = await catalog(customer, 2);
  });

  it('test_contains_content_items_no_params', async () => {
    const res = await as(learner, 'GET', `${CATALOGS}${open.uuid}/contains_content_items/`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual([
      'You must provide at least one of the following query parameters: course_run_ids, program_uuids.',
    ]);
  });

  it('test_contains_content_items_unauthorized_incorrect_jwt_context', async () => {
    const other = await catalog(uuid());
    expect((await as(learner, 'GET', containsPath(other.uuid, 'course_run_ids=fakeX'))).status).toBe(403);
  });

  it('test_contains_content_items_implicit_access', async () => {
    const res = await as(learner, 'GET', containsPath(open.uuid, 'course_run_ids=fakeX'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ contains_content_items: false });
  });

  it('test_contains_content_items_no_catalog_query', async () => {
    const none = await catalog(customer, null);
    const res = await as(learner, 'GET', containsPath(none.uuid, 'program_uuids=test-uuid'));
    expect(res.body).toEqual({ contains_content_items: false });
  });

  it('test_contains_content_items_keys_in_catalog', async () => {
    expect((await as(learner, 'GET', containsPath(open.uuid, ids(RUN)))).body).toEqual({
      contains_content_items: true,
    });
    const missing = await as(learner, 'GET', containsPath(open.uuid, 'course_run_ids=test-key-foo,test-key-bar'));
    expect(missing.body).toEqual({ contains_content_items: false });
    // Asked again (upstream: from its per-view cache), the same answer.
    expect((await as(learner, 'GET', containsPath(open.uuid, ids(RUN)))).body).toEqual({
      contains_content_items: true,
    });
  });

  it('test_contains_content_items_parent_keys_in_catalog', async () => {
    expect((await as(learner, 'GET', containsPath(open.uuid, ids(COURSE)))).body).toEqual({
      contains_content_items: true,
    });
  });

  it('test_contains_content_items_course_run_keys_in_catalog', async () => {
    expect((await as(learner, 'GET', containsPath(open.uuid, ids(OTHER_RUN)))).body).toEqual({
      contains_content_items: true,
    });
  });

  it('test_contains_content_items_keys_not_in_catalog', async () => {
    // Inactive content is not in the open-courses query.
    expect((await as(learner, 'GET', containsPath(open.uuid, ids(OLD_RUN)))).body).toEqual({
      contains_content_items: false,
    });
  });
});

describe(`${VIEWS}::EnterpriseCatalogGetContentMetadataTests`, () => {
  it('test_get_content_metadata_unauthorized_invalid_permissions', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    expect((await as(await tokens.roles([`invalid_role:${customer}`]), 'GET', metadataPath(c.uuid))).status).toBe(403);
  });

  it('test_get_content_metadata_unauthorized_incorrect_jwt_context', async () => {
    const c = await catalog(uuid());
    expect((await as(await tokens.learner([uuid()]), 'GET', metadataPath(c.uuid))).status).toBe(403);
  });

  it('test_get_content_metadata_implicit_access', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    expect((await as(await tokens.learner([customer]), 'GET', metadataPath(c.uuid))).status).toBe(200);
  });

  it('test_get_content_metadata_no_catalog_query', async () => {
    const customer = uuid();
    const c = await catalog(customer, null);
    const res = await as<Page<Json>>(await tokens.learner([customer]), 'GET', metadataPath(c.uuid));
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([]);
  });

  it('test_get_content_metadata_content_filters (content_keys narrows the page to the catalog’s keys given)', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const res = await as<Page<Json>>(
      await tokens.learner([customer]),
      'GET',
      metadataPath(c.uuid, `content_keys=${encodeURIComponent(RUN)}&content_keys=${encodeURIComponent(OLD_RUN)}`),
    );
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => r.content_key)).toEqual([RUN]);
  });

  it('test_get_content_metadata (the catalog’s content with its metadata, the catalog named on the page)', async () => {
    const customer = uuid();
    const c = await catalog(customer);
    const res = await as<Page<Json> & Json>(
      await tokens.learner([customer]),
      'GET',
      metadataPath(c.uuid, `content_keys=${encodeURIComponent(COURSE)}&content_keys=${encodeURIComponent(OTHER_RUN)}`),
    );
    expect(res.body).toMatchObject({ uuid: c.uuid, title: c.title, enterprise_customer: customer, count: 2 });
    const byKey = Object.fromEntries(res.body.results.map((r) => [r.content_key, r]));
    expect(byKey[COURSE]).toMatchObject({ content_type: 'course', content_price: 5000, is_active: true });
    // A run without a price of its own takes its course's.
    expect(byKey[OTHER_RUN]).toMatchObject({
      content_type: 'courserun',
      parent_content_key: COURSE,
      content_price: 5000,
    });
  });

  it('test_get_content_metadata_non_active_courses (in a catalog whose query holds them)', async () => {
    const customer = uuid();
    const all = await catalog(customer, 1);
    const res = await as<Page<Json>>(
      await tokens.learner([customer]),
      'GET',
      metadataPath(all.uuid, `content_keys=${encodeURIComponent(OLD_RUN)}`),
    );
    expect(res.body.results).toEqual([expect.objectContaining({ content_key: OLD_RUN, is_active: false })]);
  });
});

describe(`${VIEWS}::ContentMetadataViewTests`, () => {
  it('test_retrieve_success', async () => {
    const res = await as<Json>(
      await tokens.learner([uuid()]),
      'GET',
      `/api/v1/content-metadata/${encodeURIComponent(RUN)}/`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ content_key: RUN, content_type: 'courserun', parent_content_key: COURSE });
  });

  it('test_content_metadata_content_not_found', async () => {
    const res = await as(await tokens.learner([uuid()]), 'GET', '/api/v1/content-metadata/course-v1:edX+NoSuchX+1/');
    expect(res.status).toBe(404);
  });
});

describe(`${CUSTOMER_VIEWS}::EnterpriseCustomerViewSetTests`, () => {
  let customer: string;
  let learner: string;
  let none: { uuid: string };
  let open: { uuid: string };
  beforeAll(async () => {
    customer = uuid();
    learner = await tokens.learner([customer]);
    none = await catalog(customer, null);
    open = await catalog(customer, 2);
  });

  it('test_contains_content_items_unauthorized_non_catalog_learner', async () => {
    const res = await as(
      await tokens.roles([`invalid_role:${customer}`]),
      'GET',
      customerContains(customer, 'course_run_ids=fakeX'),
    );
    expect(res.status).toBe(403);
  });

  it('test_contains_content_items_unauthorized_incorrect_jwt_context', async () => {
    expect((await as(learner, 'GET', customerContains(uuid(), 'course_run_ids=fakeX'))).status).toBe(403);
  });

  it('test_contains_content_items_implicit_access', async () => {
    const res = await as(learner, 'GET', customerContains(customer, 'program_uuids=fakeX'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ contains_content_items: false });
  });

  it('test_contains_content_items_no_params', async () => {
    expect((await as(learner, 'GET', `/api/v1/enterprise-customer/${customer}/contains_content_items/`)).status).toBe(
      400,
    );
  });

  it('test_contains_content_items_not_in_catalogs', async () => {
    const res = await as(
      learner,
      'GET',
      customerContains(customer, 'program_uuids=this-is-not-the-uuid-youre-looking-for'),
    );
    expect(res.body).toEqual({ contains_content_items: false });
  });

  it('test_contains_content_items_in_catalogs', async () => {
    expect((await as(learner, 'GET', customerContains(customer, ids(RUN)))).body).toEqual({
      contains_content_items: true,
    });
  });

  it('test_no_catalog_list_given_without_get_catalogs_containing_specified_content_ids_query', async () => {
    const res = await as<Json>(learner, 'GET', customerContains(customer, ids(RUN)));
    expect(Object.keys(res.body)).not.toContain('catalog_list');
  });

  it('test_contains_catalog_list_with_catalog_list_param', async () => {
    const res = await as<Json>(learner, 'GET', customerContains(customer, `${ids(RUN)}&get_catalog_list=True`));
    expect(res.body).toEqual({ contains_content_items: true, catalog_list: [open.uuid] });
    expect(none.uuid).not.toBe(open.uuid);
  });

  it('test_contains_catalog_list_parent_key', async () => {
    const res = await as<Json>(
      learner,
      'GET',
      customerContains(customer, `${ids(COURSE)}&get_catalogs_containing_specified_content_ids=True`),
    );
    expect(res.body).toEqual({ contains_content_items: true, catalog_list: [open.uuid] });
  });

  it('test_contains_catalog_list_content_items_not_in_catalog', async () => {
    const res = await as<Json>(
      learner,
      'GET',
      customerContains(customer, `course_run_ids=fake-key%2B101x&get_catalogs_containing_specified_content_ids=True`),
    );
    expect(res.body).toEqual({ contains_content_items: false, catalog_list: [] });
  });
});

describe('edx-rbac contexts (enterprise_catalog/apps/catalog/rules.py): an operator scoped to a customer', () => {
  it("administers that customer's catalogs only", async () => {
    const [mine, theirs] = [uuid(), uuid()];
    const [a, b] = [await catalog(mine), await catalog(theirs)];
    const scoped = await tokens.operator([mine]);
    expect((await as(scoped, 'GET', `${CATALOGS}${a.uuid}/`)).status).toBe(200);
    expect((await as(scoped, 'GET', `${CATALOGS}${b.uuid}/`)).status).toBe(403);
    const list = await as<Page<Json>>(scoped, 'GET', CATALOGS);
    expect(list.body.results.map((c) => c.uuid)).toEqual([a.uuid]);
    expect((await as(scoped, 'POST', '/api/v1/content-items/import/', { items: [] })).status).toBe(403);
  });
});
