import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { choiceField, integerField, parseBody, textField } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { refuse } from '../errors';
import { MAX_CENTS, metadataField } from '../fields';
import { isSubsidyExpired } from '../ledger-rules';
import { adjustmentRepresentation, depositRepresentation } from '../representation';
import { ADJUSTMENT_REASONS, SALES_CONTRACT_PROVIDERS, type SubsidyDB } from '../schema';
import { createAdjustment, createDeposit } from '../store';
import { loadSubsidy } from './shared';

const params = z.object({ uuid: z.string() });

const depositBody = z.object({
  desired_deposit_quantity: integerField(1, MAX_CENTS),
  sales_contract_reference_id: textField(255),
  sales_contract_reference_provider: choiceField(SALES_CONTRACT_PROVIDERS),
  idempotency_key: textField(255).optional(),
  metadata: metadataField().optional(),
});

const adjustmentBody = z.object({
  quantity: integerField(-MAX_CENTS, MAX_CENTS).refine((q) => q !== 0, { error: 'Ensure this value is not zero.' }),
  reason: choiceField(ADJUSTMENT_REASONS),
  notes: textField(10_000, { allowBlank: true }).nullable().optional(),
  idempotency_key: textField(255).optional(),
  metadata: metadataField().optional(),
});

/**
 * Value added to a subsidy after creation: deposits (top-ups, ADR 0022) and adjustments (support
 * corrections). Both are committed at once and count in `total_deposits`. Upstream deposits take
 * no idempotency key from enterprise-access (spec §15 item 10); here a caller that sends one can
 * retry safely, and one without gets a fresh key per call, as upstream.
 */
export function depositRoutes(app: ZodApp, { db }: ServiceContext<SubsidyDB>) {
  app.post(
    '/api/v2/subsidies/:uuid/admin/deposits',
    { onRequest: requireOperator, schema: { params } },
    async (req, reply) => {
      const subsidy = await loadSubsidy(db, req.params.uuid);
      const body = parseBody(depositBody, req.body);
      if (isSubsidyExpired(subsidy, new Date())) {
        throw refuse('deposit_on_expired_subsidy', 'Cannot create a deposit in an expired subsidy.');
      }
      const { deposit, created } = await createDeposit(db, {
        ledger: subsidy.ledger_uuid,
        quantity: body.desired_deposit_quantity,
        idempotency_key: body.idempotency_key ?? `${subsidy.ledger_key}-deposit-${randomUUID()}`,
        metadata: body.metadata ?? null,
        sales_contract_reference_id: body.sales_contract_reference_id,
        sales_contract_reference_provider: body.sales_contract_reference_provider,
      });
      return reply.code(created ? 201 : 200).send(depositRepresentation(deposit));
    },
  );

  app.post(
    '/api/v2/subsidies/:uuid/admin/adjustments',
    { onRequest: requireOperator, schema: { params } },
    async (req, reply) => {
      const subsidy = await loadSubsidy(db, req.params.uuid);
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
