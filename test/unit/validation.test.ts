import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, issuesToFieldErrors } from '../../src/lib/validation';

type Issue = { path: PropertyKey[]; message: string };

describe('issuesToFieldErrors', () => {
  it('returns an empty map for no issues', () => {
    expect(issuesToFieldErrors([])).toEqual({});
  });

  it('maps a top-level field to a list of messages', () => {
    expect(issuesToFieldErrors([{ path: ['title'], message: 'This field is required.' }])).toEqual({
      title: ['This field is required.'],
    });
  });

  it('turns nested paths into nested objects', () => {
    const issues: Issue[] = [
      { path: ['plan', 'title'], message: 'This field is required.' },
      { path: ['plan', 'quantity'], message: 'Too small.' },
      { path: ['plan', 'product', 'sku'], message: 'Bad sku.' },
      { path: ['customer'], message: 'Unknown customer.' },
    ];
    expect(issuesToFieldErrors(issues)).toEqual({
      plan: {
        title: ['This field is required.'],
        quantity: ['Too small.'],
        product: { sku: ['Bad sku.'] },
      },
      customer: ['Unknown customer.'],
    });
  });

  it('turns array indexes into string keys', () => {
    const result = issuesToFieldErrors([
      { path: ['admins', 0, 'email'], message: 'Enter a valid email address.' },
      { path: ['admins', 2, 'email'], message: 'This field is required.' },
      { path: ['tags', 1], message: 'Not a string.' },
    ]);
    expect(result).toEqual({
      admins: { '0': { email: ['Enter a valid email address.'] }, '2': { email: ['This field is required.'] } },
      tags: { '1': ['Not a string.'] },
    });
    expect(Array.isArray(result.admins)).toBe(false);
    expect(Object.keys(result.admins as object)).toEqual(['0', '2']);
  });

  it("keeps a field's own message when it also has errors inside, in either order", () => {
    const own = { path: ['plan'], message: 'Plan is incomplete.' };
    const inner = { path: ['plan', 'title'], message: 'This field is required.' };
    const expected = { plan: { non_field_errors: ['Plan is incomplete.'], title: ['This field is required.'] } };
    expect(issuesToFieldErrors([own, inner])).toEqual(expected);
    expect(issuesToFieldErrors([inner, own])).toEqual(expected);
  });

  it('puts root-level issues under non_field_errors', () => {
    expect(
      issuesToFieldErrors([
        { path: [], message: 'Start date must be before end date.' },
        { path: [], message: 'Pick a plan.' },
      ]),
    ).toEqual({ non_field_errors: ['Start date must be before end date.', 'Pick a plan.'] });
  });

  it('collects several messages for one field, without duplicates', () => {
    expect(
      issuesToFieldErrors([
        { path: ['email'], message: 'Too long.' },
        { path: ['email'], message: 'Enter a valid email address.' },
        { path: ['email'], message: 'Too long.' },
        { path: ['a', 'b'], message: 'Same.' },
        { path: ['a', 'b'], message: 'Same.' },
      ]),
    ).toEqual({ email: ['Too long.', 'Enter a valid email address.'], a: { b: ['Same.'] } });
  });
});

describe('describeIssues', () => {
  it('names every field and its problem on one line', () => {
    expect(
      describeIssues([
        { path: ['plan', 'title'], message: 'This field is required.' },
        { path: ['admins', 0, 'email'], message: 'Invalid email.' },
        { path: [], message: 'Bad request.' },
      ]),
    ).toBe('plan.title: This field is required.; admins.0.email: Invalid email.; (root): Bad request.');
  });

  it('returns an empty string for no issues', () => {
    expect(describeIssues([])).toBe('');
  });
});

describe('with a real zod schema (DRF error messages installed by the module)', () => {
  const schema = z.object({
    title: z.string(),
    quantity: z.number().int().min(1),
    note: z.string().optional(),
    plan: z.object({
      sku: z.string(),
      startsAt: z.string(),
    }),
    admins: z.array(z.object({ email: z.email() })),
  });

  function fieldErrors(input: unknown) {
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    return issuesToFieldErrors(result.error?.issues ?? []);
  }

  it("says 'This field is required.' for missing fields, at any depth", () => {
    expect(fieldErrors({ quantity: 1, plan: { startsAt: '2025-01-01' }, admins: [] })).toEqual({
      title: ['This field is required.'],
      plan: { sku: ['This field is required.'] },
    });
  });

  it("says 'This field may not be null.' for null fields, including optional ones", () => {
    expect(
      fieldErrors({ title: null, quantity: 1, note: null, plan: { sku: 'a', startsAt: null }, admins: [] }),
    ).toEqual({
      title: ['This field may not be null.'],
      note: ['This field may not be null.'],
      plan: { startsAt: ['This field may not be null.'] },
    });
  });

  it('keeps zod messages for wrong types and failed checks', () => {
    const errors = fieldErrors({
      title: 42,
      quantity: 0,
      plan: { sku: 'a', startsAt: 'b' },
      admins: [{ email: 'a@example.com' }, { email: 'not-an-email' }, {}],
    });
    expect(Object.keys(errors).sort()).toEqual(['admins', 'quantity', 'title']);
    const title = errors.title as string[];
    expect(title).toHaveLength(1);
    expect(title[0]).not.toBe('This field is required.');
    expect(title[0]).not.toBe('This field may not be null.');
    expect(title[0]).toMatch(/string/i);
    expect((errors.quantity as string[])[0]).toMatch(/>=\s*1/);
    const admins = errors.admins as Record<string, unknown>;
    expect(Object.keys(admins)).toEqual(['1', '2']);
    expect(admins['1']).toEqual({ email: [expect.stringMatching(/email/i)] });
    expect(admins['2']).toEqual({ email: ['This field is required.'] });
  });

  it('puts a missing body under non_field_errors', () => {
    expect(fieldErrors(undefined)).toEqual({ non_field_errors: ['This field is required.'] });
    expect(fieldErrors(null)).toEqual({ non_field_errors: ['This field may not be null.'] });
  });

  it('puts a failed object-level refinement under non_field_errors', () => {
    const range = z
      .object({ start: z.number(), end: z.number() })
      .refine((v) => v.start < v.end, 'start must be before end');
    const result = range.safeParse({ start: 2, end: 1 });
    expect(result.success).toBe(false);
    expect(issuesToFieldErrors(result.error?.issues ?? [])).toEqual({ non_field_errors: ['start must be before end'] });
  });

  it('leaves a message given in the schema alone', () => {
    const result = z.object({ name: z.string({ error: 'Name please.' }) }).safeParse({});
    expect(issuesToFieldErrors(result.error?.issues ?? [])).toEqual({ name: ['Name please.'] });
  });

  it('describes the same issues on one line', () => {
    const result = schema.safeParse({ quantity: 1, plan: { sku: null, startsAt: 'x' }, admins: [] });
    expect(describeIssues(result.error?.issues ?? [])).toBe(
      'title: This field is required.; plan.sku: This field may not be null.',
    );
  });
});
