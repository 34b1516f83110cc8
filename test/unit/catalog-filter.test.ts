import { describe, expect, it } from 'vitest';
import {
  compileContentFilter,
  type FilterableItem,
  inCatalog,
  matchesContentFilter,
} from '../../src/services/catalog/content-filter';
import { CATALOG_QUERIES } from '../../src/services/catalog/migrations';

const course: FilterableItem = {
  content_key: 'edX+DemoX',
  content_type: 'course',
  parent_content_key: null,
  title: 'edX Demonstration Course',
  org: 'edX',
  content_price_cents: 19900,
  enroll_by_date: null,
  start_date: new Date('2027-01-15T00:00:00Z'),
  end_date: new Date('2029-01-15T00:00:00Z'),
  is_active: true,
};
const run: FilterableItem = {
  ...course,
  content_key: 'course-v1:edX+DemoX+2026',
  content_type: 'courserun',
  parent_content_key: 'edX+DemoX',
  content_price_cents: null,
  enroll_by_date: new Date('2028-12-31T23:00:00Z'),
};
const inactiveRun: FilterableItem = { ...run, content_key: 'course-v1:edX+DemoX+2025', is_active: false };
const mitCourse: FilterableItem = { ...course, content_key: 'MITx+6.00x', org: 'MITx', content_price_cents: 4900 };

const [allContent, openCourses] = CATALOG_QUERIES.map((q) => q.content_filter);

describe('matchesContentFilter', () => {
  const cases: Array<[string, unknown, FilterableItem, boolean]> = [
    ['{} matches a course', {}, course, true],
    ['{} matches an inactive run', {}, inactiveRun, true],
    ['"All content" (query 1) matches everything', allContent, inactiveRun, true],
    ['"All open courses" (query 2) matches an active course', openCourses, course, true],
    ['"All open courses" (query 2) matches an active run', openCourses, run, true],
    ['"All open courses" (query 2) rejects an inactive run', openCourses, inactiveRun, false],
    ['a listed value matches', { org: ['MITx', 'edX'] }, course, true],
    ['an unlisted value does not', { org: ['MITx', 'HarvardX'] }, course, false],
    ['every key must match (one fails)', { org: ['edX'], content_type: ['courserun'] }, course, false],
    ['every key must match (all hold)', { org: ['edX'], content_type: ['course'] }, course, true],
    ['a scalar is a list of one', { org: 'edX' }, course, true],
    ['an empty list accepts nothing', { org: [] }, course, false],
    ['a key that names no field matches nothing', { partner: ['edx'] }, course, false],
    ['an inherited property name is no field', { toString: ['x'] }, course, false],
    ['booleans compare as booleans, not strings', { is_active: ['true'] }, course, false],
    ['false matches an inactive item', { is_active: [false] }, inactiveRun, true],
    ['integers compare as numbers', { content_price_cents: [19900] }, course, true],
    ['a string is not an integer', { content_price_cents: ['19900'] }, course, false],
    ['null accepts an empty field', { content_price_cents: [null] }, run, true],
    ['null does not accept a set field', { content_price_cents: [null] }, course, false],
    ['null and values together', { enroll_by_date: [null, '2020-01-01T00:00:00Z'] }, course, true],
    ['dates compare as instants, whatever the offset', { enroll_by_date: ['2029-01-01T00:00:00+01:00'] }, run, true],
    ['a different instant does not match', { enroll_by_date: ['2028-12-31T23:00:01Z'] }, run, false],
    ['an unparseable date accepts nothing', { enroll_by_date: ['soon'] }, run, false],
    ['a filter that is not an object matches nothing (null)', null, course, false],
    ['a filter that is not an object matches nothing (list)', [], course, false],
    ['a filter that is not an object matches nothing (string)', 'all', course, false],
  ];
  it.each(cases)('%s', (_name, filter, item, expected) => {
    expect(matchesContentFilter(filter, item)).toBe(expected);
  });

  it('compiles {} to no clauses and anything it cannot read to "nothing"', () => {
    expect(compileContentFilter({})).toEqual({ clauses: [] });
    expect(compileContentFilter({ nope: [1] })).toBe('nothing');
    expect(compileContentFilter({ org: ['edX', 'edX', 3] })).toEqual({
      clauses: [{ field: 'org', values: ['edX'], acceptsNull: false }],
    });
  });
});

describe('inCatalog', () => {
  const mitOnly = { org: ['MITx'] };
  it('a run is in the catalog when it matches itself', () => {
    expect(inCatalog(openCourses, run, course)).toBe(true);
  });
  it('a run that does not match is in the catalog through its course', () => {
    expect(inCatalog(openCourses, inactiveRun, course)).toBe(true);
  });
  it('a run whose course does not match either is not', () => {
    expect(inCatalog(openCourses, inactiveRun, { ...course, is_active: false })).toBe(false);
    expect(inCatalog(mitOnly, run, course)).toBe(false);
  });
  it('a run without a known course is judged on its own fields', () => {
    expect(inCatalog(openCourses, inactiveRun, null)).toBe(false);
    expect(inCatalog(openCourses, run, undefined)).toBe(true);
  });
  it('a course is not in the catalog through anything but itself', () => {
    expect(inCatalog(mitOnly, course)).toBe(false);
    expect(inCatalog(mitOnly, mitCourse)).toBe(true);
    // A "parent" given for a course is ignored: courses have none.
    expect(inCatalog(mitOnly, course, mitCourse)).toBe(false);
  });
});
