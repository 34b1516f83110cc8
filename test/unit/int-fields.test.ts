import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  COLUMNS,
  inColumn,
  intField,
  intFilter,
  intParam,
  intQuery,
  intRange,
  NO_MATCH,
  requiredIntQuery,
} from '../../src/lib/drf/fields';
import { issuesToFieldErrors } from '../../src/lib/validation';

/** The DRF field map of `value` parsed as field `v` of `schema`, or the parsed value. */
function parse(schema: z.ZodType, value: unknown) {
  const r = z.object({ v: schema }).safeParse(value === undefined ? {} : { v: value });
  return r.success ? { ok: (r.data as { v: unknown }).v } : issuesToFieldErrors(r.error.issues);
}

describe('integers within their columns', () => {
  it('names the Postgres ranges; bounds narrow a column, never widen it', () => {
    expect(COLUMNS.integer).toEqual({ min: -2_147_483_648, max: 2_147_483_647 });
    expect(COLUMNS.smallint).toEqual({ min: -32_768, max: 32_767 });
    expect(intRange('integer', { min: 1 })).toEqual({ min: 1, max: 2_147_483_647 });
    expect(intRange('smallint', { min: -1e12, max: 1e12 })).toEqual(COLUMNS.smallint);
    expect(inColumn('integer', 2_147_483_647)).toBe(true);
    expect(inColumn('integer', 2_147_483_648)).toBe(false);
    expect(inColumn('integer', 0, { min: 1 })).toBe(false);
    expect(inColumn('bigint', 2 ** 53)).toBe(false);
    expect(inColumn('integer', 1.5)).toBe(false);
    expect(inColumn('integer', '5')).toBe(false);
  });

  it('intField: JSON numbers or digit strings inside the column, with DRF messages', () => {
    const id = intField('integer', { min: 1 });
    expect(parse(id, 7)).toEqual({ ok: 7 });
    expect(parse(id, ' 42 ')).toEqual({ ok: 42 });
    expect(parse(id, 2_147_483_648)).toEqual({ v: ['Ensure this value is less than or equal to 2147483647.'] });
    expect(parse(id, '2147483648')).toEqual({ v: ['Ensure this value is less than or equal to 2147483647.'] });
    expect(parse(id, 0)).toEqual({ v: ['Ensure this value is greater than or equal to 1.'] });
    expect(parse(id, 1.5)).toEqual({ v: ['A valid integer is required.'] });
    expect(parse(id, 'x')).toEqual({ v: ['A valid integer is required.'] });
    expect(parse(id, Number.POSITIVE_INFINITY)).toEqual({ v: ['A valid integer is required.'] });
    expect(parse(id, undefined)).toEqual({ v: ['This field is required.'] });
    expect(parse(id, null)).toEqual({ v: ['This field may not be null.'] });
    expect(parse(intField('cents'), -1_000_000_000_001)).toEqual({
      v: ['Ensure this value is greater than or equal to -1000000000000.'],
    });
  });

  it('intQuery / requiredIntQuery: query text inside the column; empty is absent', () => {
    const q = intQuery('integer', { min: 1 });
    expect(parse(q, '12')).toEqual({ ok: 12 });
    expect(parse(q, '')).toEqual({ ok: undefined });
    expect(parse(q, undefined)).toEqual({ ok: undefined });
    expect(parse(q, '2147483648')).toEqual({ v: ['Ensure this value is less than or equal to 2147483647.'] });
    expect(parse(q, '1e3')).toEqual({ v: ['A valid integer is required.'] });
    const r = requiredIntQuery('integer', { min: 1 });
    expect(parse(r, '3')).toEqual({ ok: 3 });
    expect(parse(r, '')).toEqual({ v: ['This field is required.'] });
    expect(parse(r, undefined)).toEqual({ v: ['This field is required.'] });
    expect(parse(r, '99999999999')).toEqual({ v: ['Ensure this value is less than or equal to 2147483647.'] });
  });

  it('intFilter: a number outside the column matches nothing and never reaches a query', () => {
    const f = intFilter('integer', { min: 1 });
    expect(parse(f, '5')).toEqual({ ok: 5 });
    expect(parse(f, '2147483648')).toEqual({ ok: NO_MATCH });
    expect(parse(f, '0')).toEqual({ ok: NO_MATCH });
    expect(parse(f, 'x')).toEqual({ v: ['Enter a number.'] });
    expect(parse(intFilter('integer', {}, { invalid: 'Enter a whole number.' }), '-')).toEqual({
      v: ['Enter a whole number.'],
    });
  });

  it('intParam: a path id inside the column, else undefined (404)', () => {
    expect(intParam('12', 'integer', { min: 1 })).toBe(12);
    expect(intParam('2147483648', 'integer')).toBeUndefined();
    expect(intParam('0', 'integer', { min: 1 })).toBeUndefined();
    expect(intParam('1.0', 'integer')).toBeUndefined();
    expect(intParam('99999999999999999999999', 'integer')).toBeUndefined();
  });

  it('documents each integer with its range in the OpenAPI schemas', () => {
    const schema = z.object({ a: intField('integer', { min: 1 }), b: intQuery('cents', { min: 0 }) });
    expect(z.toJSONSchema(schema, { io: 'input' }).properties).toEqual({
      a: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
      b: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
    });
  });
});
