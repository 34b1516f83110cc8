import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { choiceField, intField, parseBody, presence, textField } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { CodedDetailError, FieldErrorMap } from '../../../lib/fastify/error-schemas';
import { requireOperatorSomewhere } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { refuse } from '../errors';
import { metadataField } from '../fields';
import { isSubsidyExpired } from '../ledger-rules';
import { PERMISSIONS } from '../permissions';
import { adjustmentRepresentation, depositRepresentation } from '../representation';
import { adjustmentSchema, depositSchema } from '../response-schemas';
import { ADJUSTMENT_REASONS, SALES_CONTRACT_PROVIDERS, type SubsidyDB } from '../schema';
import { createAdjustment, createDeposit } from '../store';
import { permittedSubsidy } from './shared';

const params = z.object({ uuid: z.string() });

const depositBody = z.object({
  desired_deposit_quantity: intField('cents', { min: 1 }),
  sales_contract_reference_id: textField(255),
  // A SlugRelatedField upstream: an unknown slug names no provider row.
  sales_contract_reference_provider: z.enum(SALES_CONTRACT_PROVIDERS, {
    error: (iss) => presence(iss) ?? `Object with slug=${String(iss.input)} does not exist.`,
  }),
  idempotency_key: textField(255).optional(),
  metadata: metadataField().optional(),
});

const adjustmentBody = z.object({
  quantity: intField('cents').refine((q) => q !== 0, { error: 'Ensure this value is not zero.' }),
  reason: choiceField(ADJUSTMENT_REASONS),
  notes: textField(10_000, { allowBlank: true }).nullable().optional(),
  idempotency_key: textField(255).optional(),
  metadata: metadataField().optional(),
});

/**
 * Value added to a subsidy after creation: deposits (top-ups, ADR 0022) and adjustments (support
 * corrections, our extension). Both are committed at once and count in `total_deposits`. A deposit
 * without an idempotency key gets upstream's (`<ledger>-deposit-<quantity>-sales-contract-<ref>`),
 * so the same deposit sent twice is recorded once; a repeat answers 200 with the first deposit
 * (upstream: 422), so a retry after a lost response is safe. Operators of the subsidy's customer
 * only, checked before the body (403 also for a subsidy that does not exist, as upstream).
 */
export function depositRoutes(app: ZodApp, { db }: ServiceContext<SubsidyDB>) {
  app.post(
    '/api/v2/subsidies/:uuid/admin/deposits',
    {
      onRequest: requireOperatorSomewhere,
      schema: {
        params,
        documentedBody: depositBody,
        documentedResponses: { 200: depositSchema, 201: depositSchema },
        errors: { 400: FieldErrorMap, 422: CodedDetailError },
      },
    },
    async (req, reply) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.createDeposits);
      if (isSubsidyExpired(subsidy, new Date())) {
        throw refuse('deposit_on_expired_subsidy', 'Cannot create a deposit in an expired subsidy');
      }
      const body = parseBody(depositBody, req.body);
      const { deposit, created } = await createDeposit(db, {
        ledger: subsidy.ledger_uuid,
        quantity: body.desired_deposit_quantity,
        idempotency_key:
          body.idempotency_key ??
          `${subsidy.ledger_uuid}-deposit-${body.desired_deposit_quantity}-sales-contract-${body.sales_contract_reference_id}`,
        metadata: body.metadata ?? null,
        sales_contract_reference_id: body.sales_contract_reference_id,
        sales_contract_reference_provider: body.sales_contract_reference_provider,
      });
      return reply.code(created ? 201 : 200).send(depositRepresentation(deposit));
    },
  );

  app.post(
    '/api/v2/subsidies/:uuid/admin/adjustments',
    {
      onRequest: requireOperatorSomewhere,
      schema: {
        params,
        documentedBody: adjustmentBody,
        documentedResponses: { 200: adjustmentSchema, 201: adjustmentSchema },
        errors: { 400: FieldErrorMap, 422: CodedDetailError },
      },
    },
    async (req, reply) => {
      const subsidy = await permittedSubsidy(db, req, PERMISSIONS.createDeposits);
      const body = parseBody(adjustmentBody, req.body);
      const { adjustment, created } = await createAdjustment(db, {
        ledger: subsidy.ledger_uuid,
        quantity: body.quantity,
        idempotency_key: body.idempotency_key ?? `${subsidy.ledger_key}-adjustment-${randomUUID()}`,
        metadata: body.metadata ?? null,
        reason: body.reason,
        notes: body.notes ?? null,
      });
      return reply.code(created ? 201 : 200).send(adjustmentRepresentation(adjustment));
    },
  );
}
