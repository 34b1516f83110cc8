import { z } from 'zod';

/**
 * The bodies of error answers, as the one error mapper (errors.ts) and the routes write them,
 * for the OpenAPI documents. They live in a registry of their own and are published as
 * `components.schemas` of every app, so a generated client knows each shape by name. Routes name
 * the errors they can give with `schema.errors` (see `ErrorDocs`); the openapi plugin adds the
 * ones every route can give (401, 400 for a body that is not JSON, …). They are registered, with
 * their ids, in zod's global registry, where the OpenAPI transform finds every schema's metadata.
 */
const errorRegistry = {
  add: (schema: z.ZodType, meta: { id: string; description: string }) => z.globalRegistry.add(schema, meta),
};

/** `{"detail": "..."}`: DRF's shape for most errors (401, 403, 404, 503, …). */
export const DetailError = z.object({ detail: z.string() });
errorRegistry.add(DetailError, {
  id: 'Detail',
  description: 'DRF error: `{"detail": "<message>"}`.',
});

/** `{"detail": "...", "code": "..."}`: enterprise-subsidy's refusals carry an error code. */
export const CodedDetailError = z.object({ detail: z.string(), code: z.string() });
errorRegistry.add(CodedDetailError, {
  id: 'CodedDetail',
  description: 'A refusal with its error code (enterprise-subsidy `ErrorCodes`).',
});

type FieldErrorsShape = { [field: string]: string[] | FieldErrorsShape | FieldErrorsShape[] };

/**
 * DRF's field errors: each field names its messages, a nested serializer its own map, a list
 * serializer one map per item (`{}` for a valid one); `non_field_errors` holds the rest.
 */
export const FieldErrorMap: z.ZodType<FieldErrorsShape> = z.lazy(() =>
  z.record(z.string(), z.union([z.array(z.string()), FieldErrorMap, z.array(FieldErrorMap)])),
);
errorRegistry.add(FieldErrorMap, {
  id: 'FieldErrors',
  description: 'DRF field errors: `{"<field>": ["<message>", ...], "<nested>": {...}, "non_field_errors": [...]}`.',
});

/** A list of DRF field-error maps, one per item of a list body (`{}` for a valid item). */
export const FieldErrorMapList = z.array(FieldErrorMap);
errorRegistry.add(FieldErrorMapList, {
  id: 'FieldErrorsList',
  description: 'DRF field errors of a list body: one map per item, `{}` for a valid one.',
});

/** A bare JSON string: upstream views that answer `Response("message", status)`. */
export const MessageError = z.string();
errorRegistry.add(MessageError, {
  id: 'Message',
  description: 'A bare JSON string, as upstream views that answer `Response("<message>", status)`.',
});

/** A JSON list of messages: a DRF `ValidationError` raised with a string outside a serializer. */
export const MessageListError = z.array(z.string());
errorRegistry.add(MessageListError, {
  id: 'MessageList',
  description: 'A JSON list of messages (a DRF ValidationError raised outside a serializer).',
});

/** `{"error": "..."}` or `{"error": {field errors}}`: views that wrap their errors (license-manager provisioning, edx-enterprise admin). */
export const WrappedError = z.object({ error: z.union([z.string(), FieldErrorMap]) });
errorRegistry.add(WrappedError, {
  id: 'WrappedError',
  description: '`{"error": "<message>"}` or `{"error": {<field errors>}}`.',
});

/**
 * enterprise-subsidy's SubsidyViewSet errors: what DRF answers as `{"detail"}` becomes
 * `{"error_code": "<HTTP reason>", "developer_message", "user_message"}` (other keys kept).
 */
export const ViewsetError = z.looseObject({
  error_code: z.string(),
  developer_message: z.string(),
  user_message: z.string(),
});
errorRegistry.add(ViewsetError, {
  id: 'ViewsetError',
  description:
    'enterprise-subsidy SubsidyViewSet error: `{"error_code": "<HTTP reason>", "developer_message", "user_message"}`.',
});

/**
 * An answer documented by media type (`{"text/csv": z.string()}`), for `documentedResponses`:
 * the OpenAPI transform reads this shape as the response's `content`.
 */
export const mediaTypes = (types: Record<string, z.ZodType>): z.ZodType =>
  ({
    content: Object.fromEntries(Object.entries(types).map(([type, schema]) => [type, { schema }])),
  }) as unknown as z.ZodType;

/** One error answer: a body shape (or several, any of which the route may write). */
export type ErrorBody = z.ZodType | readonly z.ZodType[];

/** The error answers a route documents, by status: `errors: { 403: DetailError, 404: [DetailError, MessageError] }`. */
export type ErrorDocs = Partial<Record<number, ErrorBody>>;

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The error answers this route gives beyond those every route gives (401; 400 for a body that
     * is not JSON; 400 field errors when it declares a body, query or params schema; 403 behind a
     * role gate). Documentation only: the error mapper writes the bodies.
     */
    errors?: ErrorDocs;
    /** A body the handler parses itself (after its permission checks, with `parseBody`): documented, not validated. */
    documentedBody?: z.ZodType;
    /** Answers documented but not checked by a response serializer (e.g. a 204, or a shape the handler builds). */
    documentedResponses?: Partial<Record<number, z.ZodType>>;
    /** A query the handler parses itself: documented, not validated. */
    documentedQuery?: z.ZodType;
    /** The shape a `{"detail"}` error takes on this route (set by a scope that rewrites it, e.g. subsidy's viewset). */
    detailAs?: z.ZodType;
  }
}
