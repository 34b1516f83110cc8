/**
 * A property-based fuzzer over an app's OpenAPI document, with fast-check: for every operation it
 * generates requests from the documented parameters and body (mostly well-formed, with known
 * record ids and emails mixed in so requests reach past 404, and hostile values: integers at and
 * past the column bounds, NUL bytes, wrong types, missing and extra fields), sends them with one
 * of several real tokens, and checks each answer: no 5xx, no hang (a per-request timeout), a
 * status the operation documents, and a body that matches the documented schema (ajv, JSON
 * Schema 2020-12, as OpenAPI 3.1 is).
 */
import { createHash } from 'node:crypto';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';

type Schema = Record<string, unknown>;
export interface OpenapiDoc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

/** Values that exist in the fuzzed stack, by the parameter or field names that carry them. */
export type KnownValues = Record<string, readonly unknown[]>;

export interface FuzzOptions {
  baseUrl: string;
  doc: OpenapiDoc;
  /** Tokens to call with, by name (`null`: no Authorization header). */
  tokens: Record<string, string | null>;
  /** Known values by field name (`customer_uuid`, `email`, …); `*uuid` holds every known uuid. */
  known: KnownValues;
  /** Which known-value names a path segment's `{uuid}` means, e.g. `/subsidies/` → `subsidy_uuid`. */
  uuidByPath?: Array<[RegExp, string]>;
  runsPerOperation: number;
  seed: number;
  timeoutMs: number;
}

export interface FuzzRequest {
  token: string;
  method: string;
  path: string;
  query: Array<[string, string]>;
  body?: unknown;
  /** Instead of `body` as JSON: these bytes, with this content type (malformed JSON, another media type). */
  raw?: { text: string; contentType: string };
}

/** Bodies no JSON encoder would send: the body parser's own refusals must be documented answers too. */
const RAW_BODIES = [
  { text: '{"email": ', contentType: 'application/json' },
  { text: 'not json', contentType: 'application/json' },
  { text: 'email=a@example.com', contentType: 'application/x-www-form-urlencoded' },
  { text: 'hello', contentType: 'text/plain' },
];

export interface Finding {
  operation: string;
  problem: string;
  request: FuzzRequest;
  status?: number;
  body?: string;
  seed: number;
}

export interface FuzzReport {
  operations: number;
  requests: number;
  byStatus: Record<string, number>;
  findings: Finding[];
  ms: number;
}

// ---- hostile values ---------------------------------------------------------------------------

const NASTY_STRINGS = [
  '',
  ' ',
  'a\u0000b',
  'x'.repeat(300),
  '😀',
  "'; select 1; --",
  '%',
  '2147483648',
  '-2147483649',
  '99999999999999999999',
  '1e400',
  '-1',
  '0',
  'null',
  'true',
  'NaN',
  '[]',
  '{}',
  'course-v1:edX+DemoX+2026',
  '00000000-0000-0000-0000-000000000000',
  '0123456789abcdef0123456789abcdef',
];
const NASTY_NUMBERS = [0, -1, 1, 1.5, -0.5, 2_147_483_647, 2_147_483_648, -2_147_483_649, 2 ** 53, -(2 ** 53), 1e308];

const anyJson = fc.jsonValue({ maxDepth: 2 });

// ---- schema → arbitrary -----------------------------------------------------------------------

class Generator {
  constructor(
    private readonly doc: OpenapiDoc,
    private readonly known: KnownValues,
  ) {}

  resolvePublic(schema: Schema): Schema {
    return this.resolve(schema);
  }

  private resolve(schema: Schema): Schema {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const name = ref.replace('#/components/schemas/', '');
    return this.doc.components?.schemas?.[name] ?? {};
  }

  /** Known values for a field of this name (and, for uuid-looking strings, every known uuid). */
  private knownFor(name: string | undefined): unknown[] {
    if (!name) return [];
    return [...(this.known[name] ?? [])];
  }

  /** An arbitrary for `schema`, a field named `name`; `depth` bounds nesting. */
  value(schema: Schema | undefined, name?: string, depth = 0): fc.Arbitrary<unknown> {
    const known = this.knownFor(name);
    const valid = this.valid(this.resolve(schema ?? {}), name, depth);
    const hostile = this.hostile(this.resolve(schema ?? {}));
    const arbs: Array<{ weight: number; arbitrary: fc.Arbitrary<unknown> }> = [
      { weight: 4, arbitrary: valid },
      { weight: 2, arbitrary: hostile },
    ];
    if (known.length > 0) arbs.push({ weight: 5, arbitrary: fc.constantFrom(...known) });
    return fc.oneof(...arbs);
  }

  private hostile(schema: Schema): fc.Arbitrary<unknown> {
    const types = typeOf(schema);
    const ints: unknown[] = [];
    if (types.includes('integer') || types.includes('number')) {
      const min = schema.minimum as number | undefined;
      const max = schema.maximum as number | undefined;
      if (min !== undefined) ints.push(min, min - 1);
      if (max !== undefined) ints.push(max, max + 1);
    }
    return fc.oneof(
      // A number's own bounds, and one past them, most of all.
      { weight: ints.length > 0 ? 4 : 0, arbitrary: ints.length > 0 ? fc.constantFrom(...ints) : fc.constant(0) },
      { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
      { weight: 2, arbitrary: fc.constantFrom(...NASTY_NUMBERS) },
      { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
      { weight: 1, arbitrary: anyJson },
    );
  }

  private valid(schema: Schema, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
    if ('const' in schema) return fc.constant(schema.const);
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = schema[key];
      if (Array.isArray(options) && options.length > 0) {
        return fc.oneof(...options.map((o) => this.value(o as Schema, name, depth + 1)));
      }
    }
    if (Array.isArray(schema.allOf) && schema.allOf.length > 0)
      return this.value(schema.allOf[0] as Schema, name, depth);
    const types = typeOf(schema);
    if (types.length === 0) return depth > 2 ? fc.constant(null) : anyJson;
    return fc.oneof(...types.map((t) => this.ofType(t, schema, name, depth)));
  }

  private ofType(type: string, schema: Schema, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer': {
        const min = (schema.minimum as number | undefined) ?? -1_000;
        const max = (schema.maximum as number | undefined) ?? 1_000_000;
        return fc.oneof(
          fc.integer({ min: Math.max(min, -1_000), max: Math.min(max, 1_000_000) }),
          fc.constantFrom(min, max),
        );
      }
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
      case 'string':
        return this.string(schema);
      case 'array': {
        if (depth > 3) return fc.constant([]);
        const items = this.value(schema.items as Schema | undefined, singular(name), depth + 1);
        const minLength = (schema.minItems as number | undefined) ?? 0;
        const maxLength = Math.min((schema.maxItems as number | undefined) ?? 3, minLength + 3);
        return fc.array(items, { minLength, maxLength });
      }
      case 'object': {
        if (depth > 3) return fc.constant({});
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const required = new Set((schema.required as string[] | undefined) ?? []);
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, prop] of Object.entries(properties)) record[key] = this.value(prop, key, depth + 1);
        const keys = Object.keys(properties);
        const extra =
          typeof schema.additionalProperties === 'object'
            ? fc.dictionary(
                fc.string({ maxLength: 8 }),
                this.value(schema.additionalProperties as Schema, undefined, depth + 1),
                {
                  maxKeys: 2,
                },
              )
            : fc.constant({});
        return fc
          .tuple(
            fc.record(record, { requiredKeys: keys.filter((k) => required.has(k)) }),
            fc.subarray([...required]),
            extra,
          )
          .map(([fields, dropped, more]) => {
            // Mostly every required field; sometimes one left out, to reach the "required" paths.
            const out: Record<string, unknown> = { ...more, ...fields };
            if (dropped.length === 1) delete out[dropped[0] as string];
            return out;
          });
      }
      default:
        return anyJson;
    }
  }

  private string(schema: Schema): fc.Arbitrary<string> {
    const minLength = (schema.minLength as number | undefined) ?? 0;
    const maxLength = Math.max(minLength, Math.min((schema.maxLength as number | undefined) ?? 40, 300));
    switch (schema.format) {
      case 'uuid':
        return fc.uuid();
      case 'email':
        return fc.emailAddress();
      case 'date-time':
        return fc
          .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
          .map((d) => d.toISOString());
      default:
        break;
    }
    if (typeof schema.pattern === 'string') {
      try {
        return fc.stringMatching(new RegExp(schema.pattern, 'u')).filter((s) => s.length <= 300);
      } catch {
        // Not a pattern JS reads: any string.
      }
    }
    return fc.oneof(
      fc.string({ minLength, maxLength }),
      fc.uuid(),
      fc
        .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
        .map((d) => d.toISOString()),
    );
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

type Path = Array<string | number>;

/**
 * Every integer field of a schema, nested ones included (`items.0.content_price_cents`), each with
 * the values one past its bounds.
 */
function integerFields(
  schema: Schema,
  resolve: (s: Schema) => Schema,
  prefix: Path = [],
  depth = 0,
): Array<[Path, number[]]> {
  if (depth > 4) return [];
  const out: Array<[Path, number[]]> = [];
  const options = (s: Schema) => {
    const r = resolve(s);
    return [r, ...((r.anyOf ?? r.oneOf ?? []) as Schema[]).map(resolve)];
  };
  for (const [name, prop] of Object.entries((resolve(schema).properties ?? {}) as Record<string, Schema>)) {
    const here = [...prefix, name];
    for (const o of options(prop)) {
      const types = typeOf(o);
      if (types.includes('integer')) {
        const values = [
          ...(typeof o.maximum === 'number' ? [o.maximum + 1] : []),
          ...(typeof o.minimum === 'number' ? [o.minimum - 1] : []),
        ];
        if (values.length > 0) out.push([here, values]);
      } else if (types.includes('object')) {
        out.push(...integerFields(o, resolve, here, depth + 1));
      } else if (types.includes('array') && o.items) {
        out.push(...integerFields(o.items as Schema, resolve, [...here, 0], depth + 1));
      }
    }
  }
  return out;
}

/** A copy of `base` with `value` at `path`, making the objects and lists on the way. */
function setAt(base: unknown, path: Path, value: unknown): unknown {
  const [key, ...rest] = path;
  if (key === undefined) return value;
  if (typeof key === 'number') {
    const list = Array.isArray(base) ? [...base] : [];
    list[key] = setAt(list[key], rest, value);
    return list;
  }
  const obj = isObject(base) ? { ...base } : {};
  obj[key] = setAt(obj[key], rest, value);
  return obj;
}

const typeOf = (schema: Schema): string[] =>
  Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === 'string' ? [schema.type] : [];

/** `emails` → `email`, `course_run_keys` → `course_run_key`: items of a list field are known by the singular. */
const singular = (name: string | undefined) => (name?.endsWith('s') ? name.slice(0, -1) : name);

/** A query value as text: lists repeat the parameter. */
function queryPairs(name: string, value: unknown): Array<[string, string]> {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((v) => queryPairs(name, v));
  if (value === null) return [[name, '']];
  return [[name, typeof value === 'object' ? JSON.stringify(value) : String(value)]];
}

/** A path segment that cannot change which route a URL matches (no empty, `.` or `..` segments). */
function pathSegment(value: unknown): string {
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text === '' || text === '.' || text === '..' || text.trim() === '') return 'x';
  return encodeURIComponent(text);
}

// ---- the run ----------------------------------------------------------------------------------

const JSON_TYPES = /^application\/(.+\+)?json/;

/** Runs every operation of the document `runsPerOperation` times; the findings say what failed. */
export async function fuzzApp(opts: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const gen = new Generator(opts.doc, opts.known);
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  const components = opts.doc.components?.schemas ?? {};
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (key: string, schema: Schema) => {
    let v = validators.get(key);
    if (!v) {
      // The document's components travel with each response schema, so `#/components/schemas/X` resolves.
      v = ajv.compile({ ...schema, components: { schemas: components } });
      validators.set(key, v);
    }
    return v;
  };
  const tokenNames = Object.keys(opts.tokens);
  const report: FuzzReport = { operations: 0, requests: 0, byStatus: {}, findings: [], ms: 0 };

  for (const [path, methods] of Object.entries(opts.doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const operation = `${method.toUpperCase()} ${path}`;
      report.operations++;
      const params = op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      const uuidName = (opts.uuidByPath ?? []).find(([re]) => re.test(path))?.[1];

      const pathArb = fc.record(
        Object.fromEntries(
          pathParams.map((p) => [p.name, gen.value(p.schema, p.name === 'uuid' && uuidName ? uuidName : p.name)]),
        ),
      );
      const queryArb = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, gen.value(p.schema, p.name)])), {
        requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name),
      });
      const bodyArb = bodySchema ? gen.value(bodySchema, undefined) : fc.constant(undefined);
      const rawArb = bodySchema
        ? fc.option(fc.constantFrom(...RAW_BODIES), { freq: 12, nil: undefined })
        : fc.constant(undefined);
      // The operator's token most often: most routes refuse the others before they read the input.
      const tokenArb = fc.oneof(
        ...tokenNames.map((t) => ({ weight: t === 'operator' ? tokenNames.length : 1, arbitrary: fc.constant(t) })),
      );
      const recordArb = fc.record({ token: tokenArb, path: pathArb, query: queryArb, body: bodyArb, raw: rawArb });
      type RequestRecord = typeof recordArb extends fc.Arbitrary<infer R> ? R : never;
      const toRequest = (r: RequestRecord): FuzzRequest => ({
        token: r.token,
        method: method.toUpperCase(),
        path: path.replace(/\{(\w+)\}/g, (_, name: string) => pathSegment(r.path[name])),
        query: Object.entries(r.query).flatMap(([k, v]) => queryPairs(k, v)),
        ...(r.raw ? { raw: r.raw } : { body: r.body }),
      });
      const requestArb = recordArb.map(toRequest);

      const seed = operationSeed(opts.seed, operation);
      let last: Finding | undefined;
      const result = await fc.check(
        fc.asyncProperty(requestArb, async (req) => {
          const finding = await exercise(req);
          if (finding) {
            last = finding;
            return false;
          }
          return true;
        }),
        { seed, numRuns: opts.runsPerOperation, endOnFailure: true },
      );
      // Then every integer of the operation at one past each of its bounds, with the operator's token and
      // the known records in the path: the answer must be the field's 400 (or no match), never a 5xx.
      if (!result.failed) {
        const [base] = fc.sample(recordArb, { seed, numRuns: 1 });
        const resolve = (x: Schema) => gen.resolvePublic(x);
        const bodyFields = bodySchema ? integerFields(bodySchema, resolve) : [];
        const queryFields = queryParams.flatMap((p) =>
          integerFields({ properties: { [p.name]: p.schema ?? {} } }, resolve),
        );
        const knownPath = Object.fromEntries(
          pathParams.map((p) => [
            p.name,
            opts.known[p.name === 'uuid' && uuidName ? uuidName : p.name]?.[0] ?? base?.path[p.name],
          ]),
        );
        for (const [where, fields] of [
          ['query', queryFields],
          ['body', bodyFields],
        ] as const) {
          for (const [field, values] of fields) {
            for (const v of values) {
              if (!base || last) break;
              const rec = {
                ...base,
                token: 'operator' in opts.tokens ? 'operator' : base.token,
                path: knownPath,
                raw: undefined,
              };
              if (where === 'query') rec.query = { ...base.query, [String(field[0])]: v };
              else rec.body = setAt(isObject(base.body) ? base.body : {}, field, v);
              last = await exercise(toRequest(rec));
            }
          }
        }
        if (last) report.findings.push(last);
      }
      if (result.failed && last) report.findings.push(last);
      else if (result.failed) {
        report.findings.push({
          operation,
          problem: `property failed: ${String(result.errorInstance ?? 'unknown')}`,
          request: result.counterexample?.[0] as FuzzRequest,
          seed,
        });
      }

      async function exercise(req: FuzzRequest): Promise<Finding | undefined> {
        const url = new URL(req.path, opts.baseUrl);
        for (const [k, v] of req.query) url.searchParams.append(k, v);
        const headers: Record<string, string> = {};
        const token = opts.tokens[req.token];
        if (token) headers.authorization = `JWT ${token}`;
        if (req.raw) headers['content-type'] = req.raw.contentType;
        else if (req.body !== undefined) headers['content-type'] = 'application/json';
        report.requests++;
        const found = (problem: string, status?: number, body?: string): Finding => ({
          operation,
          problem,
          request: req,
          status,
          body: body?.slice(0, 2000),
          seed,
        });
        let res: Response;
        let text: string;
        try {
          res = await fetch(url, {
            method: req.method,
            headers,
            body: req.raw ? req.raw.text : req.body === undefined ? undefined : JSON.stringify(req.body),
            signal: AbortSignal.timeout(opts.timeoutMs),
          });
          text = await res.text();
        } catch (err) {
          const name = (err as Error).name;
          return found(
            name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : `request failed: ${String(err)}`,
          );
        }
        const status = res.status;
        report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
        if (status >= 500) return found(`server error ${status}`, status, text);
        const documented = op.responses[String(status)] ?? op.responses.default;
        if (!documented) return found(`status ${status} is not documented`, status, text);
        const content = documented.content;
        if (!content) {
          return text === '' ? undefined : found(`status ${status} documents no body, got one`, status, text);
        }
        const type = res.headers.get('content-type') ?? '';
        const mediaType = Object.keys(content).find((m) => type.startsWith(m));
        if (!mediaType) return found(`content type "${type}" is not documented for ${status}`, status, text);
        const schema = content[mediaType]?.schema;
        if (!schema || !JSON_TYPES.test(mediaType)) return undefined;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          return found(`status ${status}: body is not JSON`, status, text);
        }
        const validate = validatorFor(`${operation} ${status} ${mediaType}`, schema);
        if (!validate(json)) {
          const errors = (validate.errors ?? [])
            .slice(0, 5)
            .map((e) => `${e.instancePath || '/'} ${e.message}`)
            .join('; ');
          return found(`status ${status}: body does not match the documented schema: ${errors}`, status, text);
        }
        return undefined;
      }
    }
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** The seed of one operation's run: the run's seed and the operation, so each reproduces alone. */
export function operationSeed(seed: number, operation: string): number {
  return createHash('sha256').update(`${seed}:${operation}`).digest().readInt32LE(0);
}

/** A finding as text, with what it takes to reproduce it. */
export function describeFinding(f: Finding): string {
  const q = f.request.query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return [
    `${f.operation}: ${f.problem}`,
    `  request (token ${f.request.token}): ${f.request.method} ${f.request.path}${q ? `?${q}` : ''}`,
    f.request.raw ? `  raw body (${f.request.raw.contentType}): ${f.request.raw.text}` : undefined,
    f.request.body === undefined ? undefined : `  body: ${JSON.stringify(f.request.body)?.slice(0, 1000)}`,
    f.status === undefined ? undefined : `  answer ${f.status}: ${f.body ?? ''}`,
    `  operation seed ${f.seed}`,
  ]
    .filter(Boolean)
    .join('\n');
}
