import { z } from 'zod';

/**
 * The answers of the subsidy routes, for their OpenAPI documents (the shapes representation.ts
 * builds). Documentation only: the fuzzing suite checks every answer against them.
 */

const nullableString = z.string().nullable();

export const subsidySchema = z.object({
  uuid: z.string(),
  title: nullableString,
  enterprise_customer_uuid: z.string(),
  active_datetime: z.string(),
  expiration_datetime: z.string(),
  unit: z.string(),
  reference_id: nullableString,
  reference_type: z.string(),
  current_balance: z.number().int(),
  starting_balance: z.number().int(),
  internal_only: z.boolean(),
  revenue_category: z.string(),
  is_active: z.boolean(),
  total_deposits: z.number().int(),
  created: z.string(),
  modified: z.string(),
});

/** `GET /api/v1/subsidies/`: a DRF page with SubsidyListPaginator's `page_count`. */
export const subsidyPageSchema = z.object({
  count: z.number().int(),
  next: nullableString,
  previous: nullableString,
  results: z.array(subsidySchema),
  page_count: z.number().int(),
});

const reversalSchema = z.object({
  uuid: z.string(),
  state: nullableString,
  quantity: z.number().int(),
  idempotency_key: nullableString,
  metadata: z.null(),
  created: nullableString,
  modified: nullableString,
});

export const transactionSchema = z.object({
  uuid: z.string(),
  state: z.string(),
  idempotency_key: z.string(),
  lms_user_id: z.number().int().nullable(),
  lms_user_email: nullableString,
  content_key: nullableString,
  parent_content_key: nullableString,
  content_title: nullableString,
  course_run_start_date: z.null(),
  quantity: z.number().int(),
  unit: z.string(),
  fulfillment_identifier: nullableString,
  subsidy_access_policy_uuid: nullableString,
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created: z.string(),
  modified: z.string(),
  reversal: reversalSchema.nullable(),
  external_reference: z.array(z.unknown()),
  transaction_status_api_url: z.string(),
});

/** edx-drf-extensions' DefaultPagination page. */
export const edxPageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    next: nullableString,
    previous: nullableString,
    count: z.number().int(),
    num_pages: z.number().int(),
    current_page: z.number().int(),
    start: z.number().int(),
    results: z.array(item),
  });

/** The admin transaction list, with its aggregates when `include_aggregates` asks for them. */
export const transactionListSchema = edxPageSchema(transactionSchema).extend({
  aggregates: z
    .object({ unit: z.string(), remaining_subsidy_balance: z.number().int(), total_quantity: z.number().int() })
    .optional(),
});

export const depositSchema = z.object({
  uuid: z.string(),
  ledger: z.string(),
  desired_deposit_quantity: z.number().int(),
  transaction: nullableString,
  sales_contract_reference_id: nullableString,
  sales_contract_reference_provider: nullableString,
  created: z.string(),
});

export const adjustmentSchema = z.object({
  uuid: z.string(),
  ledger: z.string(),
  adjustment_quantity: z.number().int(),
  transaction: nullableString,
  reason: z.string(),
  notes: nullableString,
  created: z.string(),
});

export const aggregatesByLearnerSchema = z.array(z.object({ lms_user_id: z.number().int(), total: z.number().int() }));

export const reversalFeedSchema = z.object({
  results: z.array(
    z.object({
      reversal_uuid: z.string(),
      transaction_uuid: z.string(),
      subsidy_uuid: z.string(),
      subsidy_access_policy_uuid: nullableString,
      lms_user_id: z.number().int().nullable(),
      content_key: nullableString,
      quantity: z.number().int(),
      created: z.string(),
    }),
  ),
});

export const canRedeemSchema = z.object({
  can_redeem: z.boolean(),
  content_price: z.number().int().nullable(),
  unit: z.string(),
  all_transactions: z.array(transactionSchema),
  active: z.boolean(),
});
