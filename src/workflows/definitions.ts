/**
 * Names shared by workflow code and client code (api, CLI docs, tests). Workflow code may import
 * this module: it holds no Node APIs.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

/**
 * Custom search attributes, registered on the dev server by `npm start` and the tests
 * (`--search-attribute Name=Type`); a production namespace needs them registered once:
 * `temporal operator search-attribute create --name CustomerSlug --type Keyword` (see README).
 */
export const searchAttributes = {
  CustomerSlug: defineSearchAttributeKey('CustomerSlug', SearchAttributeType.KEYWORD),
  CustomerUuid: defineSearchAttributeKey('CustomerUuid', SearchAttributeType.KEYWORD),
  PolicyUuid: defineSearchAttributeKey('PolicyUuid', SearchAttributeType.KEYWORD),
  LmsUserId: defineSearchAttributeKey('LmsUserId', SearchAttributeType.INT),
  BulkEnrollmentJobUuid: defineSearchAttributeKey('BulkEnrollmentJobUuid', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_FLAGS = Object.values(searchAttributes).map(
  (k) => `${k.name}=${k.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`,
);

/** Every long-running workflow answers `status` with a JSON view of its progress. */
export const statusQuery = defineQuery<unknown>('status');
