import { parseDateTime } from '../../lib/drf/fields';

/**
 * A catalog query's `content_filter`, and which content items it selects. Pure: no I/O, so the
 * rule reads in one place; the store turns the same compiled form into SQL (store.ts).
 *
 * Meaning: the filter is a JSON object; every key must match (AND). A key names a content item
 * field and its value lists the accepted values (OR): the item matches the key when its field
 * equals one of them. `{}` matches everything. A value that is not a list is taken as a list of
 * one. Values are compared by JSON type: strings for text fields, integers for
 * `content_price_cents`, booleans for `is_active`, ISO-8601 instants for dates; `null` accepts
 * an empty field. A key that names no field, a value of the wrong type and an empty list accept
 * nothing, so a filter that cannot be understood selects no content rather than all of it.
 * (Upstream's filter is a course-discovery search query; this keeps its field-equality subset.)
 */

/** The fields a filter may name, and how their values compare. */
export const FILTER_FIELDS = {
  content_key: 'text',
  content_type: 'text',
  parent_content_key: 'text',
  title: 'text',
  org: 'text',
  content_price_cents: 'integer',
  enroll_by_date: 'datetime',
  start_date: 'datetime',
  end_date: 'datetime',
  is_active: 'boolean',
} as const;
export type FilterField = keyof typeof FILTER_FIELDS;

/** The fields of a content item a filter reads (a content_items row has them all). */
export interface FilterableItem {
  content_key: string;
  content_type: string;
  parent_content_key: string | null;
  title: string;
  org: string;
  content_price_cents: number | null;
  enroll_by_date: Date | null;
  start_date: Date | null;
  end_date: Date | null;
  is_active: boolean;
}

/** A normalized scalar: dates as epoch milliseconds, so equal instants compare equal. */
export type FilterValue = string | number | boolean;

export interface FilterClause {
  field: FilterField;
  /** Accepted non-null values, normalized. */
  values: FilterValue[];
  /** Whether an empty (null) field is accepted. */
  acceptsNull: boolean;
}

/** The filter as clauses (all must hold), or `'nothing'` when no item can match. */
export type CompiledFilter = { clauses: FilterClause[] } | 'nothing';

const isField = (key: string): key is FilterField => Object.hasOwn(FILTER_FIELDS, key);

function normalize(field: FilterField, value: unknown): FilterValue | undefined {
  switch (FILTER_FIELDS[field]) {
    case 'text':
      return typeof value === 'string' ? value : undefined;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'datetime': {
      const d = typeof value === 'string' ? parseDateTime(value) : null;
      return d ? d.getTime() : undefined;
    }
  }
}

export function compileContentFilter(filter: unknown): CompiledFilter {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return 'nothing';
  const clauses: FilterClause[] = [];
  for (const [key, raw] of Object.entries(filter)) {
    if (!isField(key)) return 'nothing';
    const accepted = Array.isArray(raw) ? raw : [raw];
    const values: FilterValue[] = [];
    let acceptsNull = false;
    for (const v of accepted) {
      if (v === null) {
        acceptsNull = true;
        continue;
      }
      const n = normalize(key, v);
      if (n !== undefined && !values.includes(n)) values.push(n);
    }
    if (values.length === 0 && !acceptsNull) return 'nothing';
    clauses.push({ field: key, values, acceptsNull });
  }
  return { clauses };
}

function itemValue(item: FilterableItem, field: FilterField): FilterValue | null {
  const v = item[field];
  if (v === null) return null;
  return v instanceof Date ? v.getTime() : v;
}

/** True when a compiled filter selects the item by its own fields. */
export function matchesCompiled(compiled: CompiledFilter, item: FilterableItem): boolean {
  if (compiled === 'nothing') return false;
  return compiled.clauses.every((c) => {
    const v = itemValue(item, c.field);
    return v === null ? c.acceptsNull : c.values.includes(v);
  });
}

/** True when `filter` selects the item by its own fields. */
export const matchesContentFilter = (filter: unknown, item: FilterableItem): boolean =>
  matchesCompiled(compileContentFilter(filter), item);

/**
 * Catalog membership: an item is in a catalog when the query selects it, or (for a run) when the
 * query selects its course. `parent` is the run's course, if it is known.
 */
export function inCatalog(filter: unknown, item: FilterableItem, parent?: FilterableItem | null): boolean {
  const compiled = compileContentFilter(filter);
  return (
    matchesCompiled(compiled, item) ||
    (item.content_type === 'courserun' && !!parent && matchesCompiled(compiled, parent))
  );
}
