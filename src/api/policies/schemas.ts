/** Request and response shapes of `/api/v1/subsidy-access-policies/` (upstream's serializers). */
import { z } from 'zod';
import type { PolicyType } from '../../access/learner-credit/can-redeem';
import { ACCESS_METHODS, POLICY_TYPES } from '../../access/learner-credit/policy-rules';
import {
  booleanField,
  choiceField,
  dateTimeField,
  intField,
  maxLength,
  presence,
  pythonType,
  queryFlag,
  unlessMissing,
  uuidField,
} from '../../lib/drf/fields';
import { pageQuery } from '../../lib/drf/pagination';

/** Upstream's SubsidyAccessPolicyPagination.max_page_size; also the default here. */
export const POLICY_PAGE_SIZE = 10;
/** Upstream's GROUP_MEMBERS_WITH_AGGREGATES_DEFAULT_PAGE_SIZE. */
export const MEMBER_PAGE_SIZE = 10;
const MAX_GROUPS = 100;

// ---- request schemas --------------------------------------------------------------------------

/** A CharField as upstream's serializers declare them: trimmed, NUL-free, at most `max` characters. */
const trimmedText = (max: number) =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .trim()
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .refine((s) => s.length <= max, { error: maxLength(max) });

const policyType = choiceField(POLICY_TYPES as unknown as readonly [PolicyType, ...PolicyType[]]);
const accessMethod = choiceField(ACCESS_METHODS);
/** A limit in cents: at most $10 billion, as the subsidy service's amounts. */
const cents = () => intField('cents', { min: 0 }).nullable();
const groupAssociations = z
  .array(uuidField(), {
    error: (iss) => presence(iss) ?? `Expected a list of items but got type "${pythonType(iss.input)}".`,
  })
  .max(MAX_GROUPS, `Ensure this field has no more than ${MAX_GROUPS} elements.`)
  .describe(
    'Extension (not upstream): enterprise group uuids this policy is restricted to (ADR 0018); replaces the set. ' +
      'Empty: open to all learners of the customer.',
  );

/** Every field a write may set; an update takes any of them (PUT and PATCH are both partial, as upstream). */
const writableFields = {
  display_name: trimmedText(512)
    .nullable()
    .transform((s) => s ?? ''),
  description: trimmedText(200),
  active: booleanField(),
  retired: booleanField(),
  retired_at: dateTimeField().nullable(),
  catalog_uuid: uuidField(),
  subsidy_uuid: uuidField(),
  access_method: accessMethod,
  spend_limit: cents(),
  per_learner_enrollment_limit: intField('integer', { min: 0 }).nullable(),
  per_learner_spend_limit: cents(),
  late_redemption_allowed_until: dateTimeField().nullable(),
};

export const updateBody = z
  .object(writableFields)
  .partial()
  .extend({ group_associations: groupAssociations.optional() });

/** Create: the identity fields are required, the rest optional (defaults as upstream's model). */
export const createBody = updateBody.extend({
  policy_type: policyType,
  enterprise_customer_uuid: uuidField(),
  catalog_uuid: uuidField(),
  subsidy_uuid: uuidField(),
  access_method: accessMethod,
});

export const deleteBody = z
  .object({
    reason: z
      .string({ error: unlessMissing('Not a valid string.') })
      .nullable()
      .optional(),
  })
  .describe('Optional reason for the soft delete, stored with the policy.');

/** A query filter where an empty value means "no filter", as django-filter does. */
const optionalQuery = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const listQuery = z.object({
  enterprise_customer_uuid: uuidField(),
  active: optionalQuery(booleanField()),
  policy_type: optionalQuery(policyType),
  ...pageQuery,
});

export const MEMBER_SORTS = ['member_details', 'status', 'recent_action', 'enrollment_count'] as const;
export const groupMembersQuery = z.object({
  group_uuid: optionalQuery(uuidField()),
  user_query: optionalQuery(z.string()),
  sort_by: optionalQuery(choiceField(MEMBER_SORTS)),
  is_reversed: queryFlag(false),
  traverse_pagination: queryFlag(false),
  show_removed: queryFlag(false),
  ...pageQuery,
});

export const params = z.object({ uuid: z.string() });

// ---- response schemas -------------------------------------------------------------------------

const aggregatesSchema = z.object({
  amount_redeemed_usd_cents: z.number().int(),
  amount_redeemed_usd: z.number(),
  amount_allocated_usd_cents: z.number().int(),
  amount_allocated_usd: z.number(),
  spend_available_usd_cents: z.number().int(),
  spend_available_usd: z.number(),
});

export const policySchema = z.object({
  uuid: z.string(),
  policy_type: z.string(),
  display_name: z.string(),
  description: z.string(),
  active: z.boolean(),
  retired: z.boolean(),
  retired_at: z.string().nullable(),
  enterprise_customer_uuid: z.string(),
  catalog_uuid: z.string(),
  subsidy_uuid: z.string(),
  access_method: z.string(),
  per_learner_enrollment_limit: z.number().int().nullable(),
  per_learner_spend_limit: z.number().int().nullable(),
  spend_limit: z.number().int().nullable(),
  subsidy_active_datetime: z.string().nullable(),
  subsidy_expiration_datetime: z.string().nullable(),
  is_subsidy_active: z.boolean().nullable(),
  aggregates: aggregatesSchema.nullable().describe('From the subsidy service; null when it cannot be reached.'),
  assignment_configuration: z.string().nullable(),
  group_associations: z.array(z.string()),
  late_redemption_allowed_until: z.string().nullable(),
  is_late_redemption_allowed: z.boolean(),
  created: z.string(),
  bnr_enabled: z.boolean(),
  total_spend_limits_for_subsidy: z.number().int(),
  total_deposits_for_subsidy: z.number().int().nullable(),
});
export type PolicyJson = z.infer<typeof policySchema>;

export const policyPageSchema = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  count: z.number().int(),
  num_pages: z.number().int(),
  current_page: z.number().int(),
  start: z.number().int(),
  results: z.array(policySchema),
});

export const memberPageSchema = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(z.record(z.string(), z.unknown()).describe('LMS group membership + enrollment_count')),
});
