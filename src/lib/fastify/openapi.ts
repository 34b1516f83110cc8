import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DetailError, type ErrorBody, FieldErrorMap } from './error-schemas';

export interface OpenapiOptions {
  /** The document's title, e.g. "license-manager". */
  title: string;
  version: string;
  description?: string;
}

const AUTH_HELP =
  'Authenticate with `Authorization: JWT <token>` (or `Bearer <token>`); get a local token with ' +
  '`npm run token --silent -- --roles enterprise_openedx_operator:*`.';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const toList = (body: ErrorBody): z.ZodType[] => (Array.isArray(body) ? [...body] : [body as z.ZodType]);
const hasHooks = (hooks: unknown) => (Array.isArray(hooks) ? hooks.length > 0 : typeof hooks === 'function');

/**
 * Every error answer a route can give, by status: the ones every route gives through the shared
 * machinery (auth plugin, body parser, schema validation, role gates), then those the route names
 * in `schema.errors`. `detailAs` replaces `{"detail"}` where a scope rewrites it.
 */
export function errorAnswers(route: Pick<RouteOptions, 'method' | 'onRequest'>, schema: FastifySchema) {
  const answers = new Map<number, z.ZodType[]>();
  const add = (status: number, body: ErrorBody) => {
    const list = answers.get(status) ?? [];
    for (const b of toList(body)) if (!list.includes(b)) list.push(b);
    answers.set(status, list);
  };
  // The auth plugin refuses a malformed or unverifiable token on every route.
  add(401, DetailError);
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (methods.some((m) => METHODS_WITH_BODY.has(m))) {
    // The body parser: not JSON, an unsupported media type, too large.
    add(400, DetailError);
    add(413, DetailError);
    add(415, DetailError);
  }
  if (schema.body || schema.querystring || schema.params) add(400, FieldErrorMap);

  // DRF pagination: a page past the end (or not a number) is `{"detail": "Invalid page."}`.
  const query = schema.querystring ?? schema.documentedQuery;
  if (query instanceof z.ZodObject && 'page' in query.shape) add(404, DetailError);
  // Role gates run as `onRequest` hooks.
  if (hasHooks(route.onRequest)) add(403, DetailError);
  for (const [status, body] of Object.entries(schema.errors ?? {})) if (body) add(Number(status), body);
  if (schema.detailAs) {
    for (const [status, list] of answers) {
      answers.set(
        status,
        list.map((b) => (b === DetailError ? (schema.detailAs as z.ZodType) : b)),
      );
    }
  }
  // The router, before any route's hooks: a path parameter that is not valid %-encoding, or too long.
  if (schema.params) {
    add(400, DetailError);
    add(414, DetailError);
  }
  return answers;
}

const oneOf = (list: z.ZodType[]): z.ZodType =>
  list.length === 1 ? (list[0] as z.ZodType) : z.union(list as [z.ZodType, z.ZodType, ...z.ZodType[]]);

const baseTransform = jsonSchemaTransform;
const objectTransform = jsonSchemaTransformObject;

type TransformInput = Parameters<typeof baseTransform>[0] & { route: RouteOptions };

/** The route's schema as documented: hand-parsed bodies and queries, a success answer, every error answer. */
function documentRoute(document: TransformInput) {
  const { route } = document;
  const schema: FastifySchema = document.schema ?? {};
  if (schema.hide) return baseTransform(document);
  const {
    errors: _errors,
    documentedBody,
    documentedQuery,
    documentedResponses,
    detailAs: _detailAs,
    ...rest
  } = schema;
  const response: Record<string, unknown> = {
    ...((rest.response as Record<string, unknown> | undefined) ??
      (documentedResponses ? {} : { 200: z.unknown().describe('Success (the shape is not documented).') })),
    ...documentedResponses,
  };
  for (const [status, list] of errorAnswers(route, schema)) {
    if (!(String(status) in response)) response[status] = oneOf(list);
  }
  const documented = baseTransform({
    ...document,
    schema: {
      ...rest,
      ...(rest.body === undefined && documentedBody ? { body: documentedBody } : {}),
      ...(rest.querystring === undefined && documentedQuery ? { querystring: documentedQuery } : {}),
      response,
    },
  });
  // Each answer is described by its HTTP reason unless its schema says more.
  const responses = (documented.schema as { response?: Record<string, Record<string, unknown>> }).response ?? {};
  for (const [status, json] of Object.entries(responses)) {
    if (json && typeof json === 'object' && !json.description) json.description = STATUS_CODES[status] ?? status;
  }
  return documented;
}

/**
 * The OpenAPI document of an app (the api or a service), generated from the zod schemas its
 * routes validate with, so it cannot drift from the code: JSON at `/openapi.json`, an interactive
 * page at `/docs`. Register it before the routes.
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance, opts: OpenapiOptions) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: opts.title,
          version: opts.version,
          description: [opts.description, AUTH_HELP].filter(Boolean).join(' '),
        },
        components: {
          securitySchemes: {
            jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          },
        },
        security: [{ jwt: [] }],
      },
      transform: (document) => documentRoute(document as TransformInput),
      transformObject: objectTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
