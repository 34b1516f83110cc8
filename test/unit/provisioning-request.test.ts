import { describe, expect, it } from 'vitest';
import {
  canonicalRequest,
  isLegacyRequest,
  type ProvisioningRequest,
  provisioningRequestSchema,
} from '../../src/access/provisioning/request';
import { adminsResponse, agreementResponse, planResponse } from '../../src/access/provisioning/response';
import { addOneYear, adminEmails, catalogFor, matchPlan, paidPlanDates } from '../../src/access/provisioning/rules';
import { issuesToFieldErrors } from '../../src/lib/validation';
import { validBody } from '../helpers/provisioning';

type Body = ReturnType<typeof validBody> & { enterprise_catalog?: { title: string; catalog_query_id?: number } };
type Errors = Record<string, Record<string, string[]>>;

const errorsOf = (body: unknown) => {
  const r = provisioningRequestSchema.safeParse(body);
  return r.success ? null : issuesToFieldErrors(r.error.issues);
};

const without = (obj: Record<string, unknown>, path: string[]): Record<string, unknown> => {
  const copy = structuredClone(obj);
  let node = copy as Record<string, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  delete node[path[path.length - 1] as string];
  return copy;
};

describe('provisioning request: every field a step needs is checked at the edge (400, never a late 422)', () => {
  it('accepts the minimal upstream body and normalises it', () => {
    const r = provisioningRequestSchema.parse(validBody());
    expect(r.enterprise_customer.country).toBe('US');
    expect(r.trial_subscription_plan.start_date).toBe('2026-06-01T00:00:00.000Z');
  });

  it.each([
    [['enterprise_customer'], { enterprise_customer: ['This field is required.'] }],
    [['pending_admins'], { pending_admins: ['This field is required.'] }],
    [['trial_subscription_plan'], { trial_subscription_plan: ['This field is required.'] }],
    [['first_paid_subscription_plan'], { first_paid_subscription_plan: ['This field is required.'] }],
    [['enterprise_customer', 'slug'], { enterprise_customer: { slug: ['This field is required.'] } }],
    [['enterprise_customer', 'country'], { enterprise_customer: { country: ['This field is required.'] } }],
    [
      ['trial_subscription_plan', 'start_date'],
      { trial_subscription_plan: { start_date: ['This field is required.'] } },
    ],
    [
      ['trial_subscription_plan', 'product_id'],
      { trial_subscription_plan: { product_id: ['This field is required.'] } },
    ],
    [
      ['trial_subscription_plan', 'desired_num_licenses'],
      { trial_subscription_plan: { desired_num_licenses: ['This field is required.'] } },
    ],
    [
      ['first_paid_subscription_plan', 'salesforce_opportunity_line_item'],
      { first_paid_subscription_plan: { salesforce_opportunity_line_item: ['This field is required.'] } },
    ],
    [
      ['first_paid_subscription_plan', 'product_id'],
      { first_paid_subscription_plan: { product_id: ['This field is required.'] } },
    ],
  ])('missing %j → %j', (path, expected) => {
    expect(errorsOf(without(validBody(), path))).toEqual(expected);
  });

  it('names bad values: country, slug, email, product, dates, counts', () => {
    const body: Body = validBody();
    body.enterprise_customer.country = 'Narnia';
    body.enterprise_customer.slug = 'has space';
    body.pending_admins = [{ user_email: 'ok@acme.com' }, { user_email: 'nope' }];
    (body.trial_subscription_plan as { desired_num_licenses: number }).desired_num_licenses = -1;
    body.trial_subscription_plan.product_id = 9;
    body.trial_subscription_plan.expiration_date = 'tomorrow';
    body.trial_subscription_plan.desired_num_licenses = -1;
    expect(errorsOf(body)).toEqual({
      enterprise_customer: {
        country: ['"NARNIA" is not a valid choice.'],
        slug: ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
      },
      pending_admins: { '1': { user_email: ['Enter a valid email address.'] } },
      trial_subscription_plan: {
        product_id: ['"9" is not a valid choice.'],
        expiration_date: ['Datetime has wrong format. Use ISO 8601.'],
        desired_num_licenses: ['Ensure this value is greater than or equal to 0.'],
      },
    });
  });

  it('refuses a trial that ends before it starts, and a product with no catalog query to infer', () => {
    const body: Body = validBody();
    body.trial_subscription_plan.expiration_date = '2026-05-01T00:00:00Z';
    body.trial_subscription_plan.product_id = 4;
    const errors = errorsOf(body) as Errors;
    expect(errors.trial_subscription_plan?.expiration_date).toEqual(['expiration_date must be after start_date.']);
    expect(errors.enterprise_catalog?.catalog_query_id?.[0]).toMatch(
      /Cannot infer the catalog query from product_id 4/,
    );
    body.enterprise_catalog = { title: 'Mine', catalog_query_id: 2 };
    body.trial_subscription_plan.expiration_date = '2026-07-01T00:00:00Z';
    expect(errorsOf(body)).toBeNull();
  });

  it('converts the legacy one-plan shape as upstream does', () => {
    const { trial_subscription_plan, first_paid_subscription_plan: _, ...rest } = validBody();
    const legacy = { ...rest, subscription_plan: trial_subscription_plan };
    expect(isLegacyRequest(legacy)).toBe(true);
    expect(isLegacyRequest(validBody())).toBe(false);
    const r = provisioningRequestSchema.parse(legacy);
    expect(r.trial_subscription_plan.title).toBe('acme Trial');
    expect(r.first_paid_subscription_plan).toMatchObject({
      title: 'acme Trial - First Paid Plan',
      product_id: 1,
      salesforce_opportunity_line_item: null,
    });
  });

  it('gives the same canonical text however the JSON is laid out, and another for another request', () => {
    const a = provisioningRequestSchema.parse(validBody());
    const reordered = JSON.parse(JSON.stringify(validBody(), Object.keys(validBody()).reverse()));
    const b = provisioningRequestSchema.parse({ ...reordered, ...validBody() });
    expect(canonicalRequest(a)).toBe(canonicalRequest(b));
    const other = validBody();
    other.trial_subscription_plan.desired_num_licenses = 6;
    expect(canonicalRequest(provisioningRequestSchema.parse(other))).not.toBe(canonicalRequest(a));
  });
});

describe('provisioning rules', () => {
  const plans = [
    { title: 'Trial', product: 2, salesforce_opportunity_line_item: null as string | null, uuid: 't' },
    { title: 'Paid', product: 1, salesforce_opportunity_line_item: '00k000000000001AAA', uuid: 'p' },
  ];

  it.each([
    [
      'same line item, another product: reuse (upstream)',
      { title: 'X', product: 3, salesforce_opportunity_line_item: '00k000000000001AAA' },
      'p',
    ],
    [
      'another line item: create',
      { title: 'Paid', product: 1, salesforce_opportunity_line_item: '00k000000000002AAA' },
      undefined,
    ],
    [
      'null line item, same title and product: reuse',
      { title: 'Trial', product: 2, salesforce_opportunity_line_item: null },
      't',
    ],
    [
      'null line item, same title and product, the plan since got a line item: reuse',
      { title: 'Paid', product: 1, salesforce_opportunity_line_item: null },
      'p',
    ],
    [
      'null vs null but another title: create (upstream wrongly reused)',
      { title: 'Paid 2', product: 1, salesforce_opportunity_line_item: null },
      undefined,
    ],
    [
      'null line item, same title, other product: create',
      { title: 'Trial', product: 4, salesforce_opportunity_line_item: null },
      undefined,
    ],
  ])('%s', (_, wanted, expected) => {
    expect(matchPlan(plans, wanted)?.uuid).toBe(expected);
  });

  it('derives the paid plan dates from the trial, a calendar year long', () => {
    const paid = provisioningRequestSchema.parse(validBody()).first_paid_subscription_plan;
    expect(paidPlanDates(paid, '2026-06-15T00:00:00+00:00')).toEqual({
      start_date: '2026-06-15T00:00:00.000Z',
      expiration_date: '2027-06-15T00:00:00.000Z',
    });
    expect(addOneYear('2028-02-29T12:00:00.000Z')).toBe('2029-02-28T12:00:00.000Z');
  });

  it('infers the catalog title and query, and de-duplicates admin emails case-insensitively', () => {
    const body = validBody();
    body.pending_admins = [{ user_email: 'A@acme.com' }, { user_email: 'a@ACME.com' }, { user_email: 'b@acme.com' }];
    const req: ProvisioningRequest = provisioningRequestSchema.parse(body);
    expect(catalogFor(req)).toEqual({ title: 'acme Inc Subscription Catalog', catalogQueryId: 2 });
    expect(adminEmails(req)).toEqual(['A@acme.com', 'b@acme.com']);
  });

  it('lists every requested admin once, created or existing, sorted', () => {
    const r = adminsResponse(
      ['z@acme.com', 'Old@acme.com'],
      [
        { email: 'b@acme.com', created: true },
        { email: 'old@acme.com', created: false },
        { email: 'a@acme.com', created: false },
      ],
    );
    expect(r).toEqual({
      created_admins: [{ user_email: 'b@acme.com' }],
      existing_admins: [{ user_email: 'a@acme.com' }, { user_email: 'Old@acme.com' }, { user_email: 'z@acme.com' }],
    });
  });

  it('maps the agreement default catalog and tolerates plans without `product` (upstream 500)', () => {
    const plan = {
      uuid: 'u',
      title: 'T',
      created: 'c',
      start_date: 's',
      expiration_date: 'e',
      is_active: true,
      is_current: false,
      plan_type: 'Trials',
      enterprise_catalog_uuid: 'cat',
    };
    expect(
      agreementResponse({
        uuid: 'a',
        enterprise_customer_uuid: 'c',
        default_enterprise_catalog_uuid: 'd',
        subscriptions: [plan],
      }),
    ).toEqual({
      uuid: 'a',
      enterprise_customer_uuid: 'c',
      default_catalog_uuid: 'd',
      subscriptions: [{ ...planResponse(plan), product: null, salesforce_opportunity_line_item: null }],
    });
  });
});
