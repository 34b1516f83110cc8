import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { nonUpdatableFields } from '../../access/learner-credit/policy-rules';
import type { Policy } from '../../access/learner-credit/policy-store';
import { CUSTOMER_ROLES } from '../../lib/customer-access';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal, requireRoleSomewhere } from '../../lib/fastify/auth';
import { DetailError } from '../../lib/fastify/error-schemas';
import { InvalidInput } from '../../lib/http-errors';
import { OPERATOR_ROLES } from '../../lib/jwt';
import {
  createBody,
  deleteBody,
  groupMembersQuery,
  listQuery,
  memberPageSchema,
  params,
  policyPageSchema,
  policySchema,
  updateBody,
} from './schemas';
import type { PolicyNeed, PolicyService } from './service';

const BASE = '/api/v1/subsidy-access-policies';
const tags = ['learner-credit'];

/**
 * `/api/v1/subsidy-access-policies/` (spec learner-credit §2.1, §9, §13). Writes check the role in
 * `onRequest` and the policy in `preValidation`, so a forbidden caller gets 403 (and an unknown
 * policy 404) before its body is validated, as upstream.
 */
export function policyRoutes(app: ZodApp, service: PolicyService) {
  // First gates, before the body or query is read (as upstream): some role of some customer; then
  // the service checks the role against the policy's own customer.
  const requireCaller = requireRoleSomewhere(CUSTOMER_ROLES);
  const requireOperator = requireRoleSomewhere(OPERATOR_ROLES);
  const loaded = new WeakMap<FastifyRequest, Policy>();
  const policyOf = (req: FastifyRequest) => loaded.get(req) as Policy;
  /** `preValidation`: the path's policy, if the caller may act on it as `need` says (404, then 403). */
  const load = (need: PolicyNeed) => async (req: FastifyRequest) => {
    const raw = (req.params as { uuid: string }).uuid;
    loaded.set(req, await service.policyFor(requirePrincipal(req), raw, need));
  };
  /** A body left out counts as `{}`, so each required field is named. */
  const bodyOrEmpty = async (req: FastifyRequest) => {
    if (req.body === undefined || req.body === null) req.body = {};
  };

  app.get(
    BASE,
    {
      onRequest: requireCaller,
      schema: {
        summary: "List a customer's subsidy access policies (budgets)",
        description:
          'Filters `active` and `policy_type`; newest first; at most 10 per page. Readable by operators and by ' +
          "the customer's admins and learners.",
        tags,
        querystring: listQuery,
        response: { 200: policyPageSchema },
      },
    },
    async (req) => {
      const { enterprise_customer_uuid: customerUuid, active, policy_type: policyType } = req.query;
      return service.list(requirePrincipal(req), { customerUuid, active, policyType }, req);
    },
  );

  app.post(
    BASE,
    {
      onRequest: requireOperator,
      preValidation: bodyOrEmpty,
      schema: {
        summary: 'Create a subsidy access policy (idempotent)',
        description:
          '201 with the new policy; 200 with the existing one when an active policy of the type already exists ' +
          'for the same customer, subsidy, catalog and access method. 400 for per-type field constraints and when ' +
          "the customer's active spend limits on the subsidy would exceed its deposits (ADR 0023); 503 when the " +
          'subsidy service cannot be reached. Operators only.',
        tags,
        body: createBody,
        response: { 200: policySchema, 201: policySchema },
        errors: { 503: DetailError },
      },
    },
    async (req, reply) => {
      const { created, policy } = await service.create(requirePrincipal(req), req.body);
      return reply.code(created ? 201 : 200).send(policy);
    },
  );

  app.get(
    `${BASE}/:uuid`,
    {
      onRequest: requireCaller,
      preValidation: load('read'),
      schema: {
        summary: 'Retrieve a subsidy access policy',
        tags,
        params,
        response: { 200: policySchema },
        errors: { 404: DetailError },
      },
    },
    async (req) => service.get(policyOf(req)),
  );

  const update = {
    onRequest: requireOperator,
    // 404 for an unknown policy, then 400 for fields no update may touch, then the fields' own 400s.
    preValidation: async (req: FastifyRequest) => {
      await load('operate')(req);
      await bodyOrEmpty(req);
      const body = req.body;
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
        const { group_associations: _extension, ...fields } = body as Record<string, unknown>;
        const refused = nonUpdatableFields(fields);
        if (refused.length > 0) {
          throw new InvalidInput({ non_field_errors: [`Field(s) are not updatable: ${refused.join(', ')}`] });
        }
      }
    },
    schema: {
      summary: 'Update a subsidy access policy (PUT and PATCH are both partial)',
      description:
        'Updatable: display_name, description, active, retired, retired_at, catalog_uuid, subsidy_uuid, ' +
        'access_method, spend_limit, per_learner_spend_limit, per_learner_enrollment_limit, ' +
        'late_redemption_allowed_until, and the extension `group_associations`; anything else is a 400 ' +
        '"Field(s) are not updatable: ...". `retired: true` sets retired_at to now, `false` clears it. ' +
        'A policy with spend cannot be deactivated (retire it instead). Operators only.',
      tags,
      params,
      body: updateBody,
      response: { 200: policySchema },
      errors: { 404: DetailError, 503: DetailError },
    },
  };
  const updateHandler = async (req: FastifyRequest) =>
    service.update(policyOf(req), req.body as z.output<typeof updateBody>);
  app.put(`${BASE}/:uuid`, update, updateHandler);
  app.patch(`${BASE}/:uuid`, update, updateHandler);

  app.delete(
    `${BASE}/:uuid`,
    {
      onRequest: requireOperator,
      preValidation: async (req) => {
        await load('operate')(req);
        await bodyOrEmpty(req);
      },
      schema: {
        summary: 'Soft-delete a subsidy access policy (active=false, with an optional reason)',
        description: 'A policy with spend cannot be deleted (retire it instead). Operators only.',
        tags,
        params,
        body: deleteBody,
        response: { 200: policySchema },
        errors: { 404: DetailError, 503: DetailError },
      },
    },
    async (req) => service.remove(policyOf(req), req.body.reason ?? null),
  );

  app.delete(
    '/api/v1/:enterprise_uuid/delete-group-association/:group_uuid',
    {
      onRequest: requireOperator,
      schema: {
        summary: "Remove an enterprise group from all of the customer's policies",
        tags,
        params: z.object({ enterprise_uuid: z.string(), group_uuid: z.string() }),
        documentedResponses: { 204: z.null() },
        errors: { 404: DetailError, 503: DetailError },
      },
    },
    async (req, reply) => {
      await service.deleteGroupAssociation(requirePrincipal(req), req.params.enterprise_uuid, req.params.group_uuid);
      return reply.code(204).send();
    },
  );

  app.get(
    `${BASE}/:uuid/group-members`,
    {
      onRequest: requireCaller,
      preValidation: load('administer'),
      schema: {
        summary: "Members of a policy's group with their enrollment counts in the policy",
        description:
          'Group members from the LMS, each with `enrollment_count` (committed, un-reversed redemptions in this ' +
          "policy, from the subsidy service). `group_uuid` defaults to the policy's first group and must be one " +
          'of its groups. `sort_by` (member_details, status, recent_action, enrollment_count), `is_reversed`, ' +
          '`user_query` (email substring), `traverse_pagination` (every member on one page); 10 per page. ' +
          "Operators and the customer's admins (upstream also lets learners read it).",
        tags,
        params,
        querystring: groupMembersQuery,
        response: { 200: memberPageSchema },
        errors: { 404: DetailError, 503: DetailError },
      },
    },
    async (req) => service.groupMembers(policyOf(req), req.query, req),
  );
}
