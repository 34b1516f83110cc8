import type { FastifyRequest } from 'fastify';
import { uuidParam } from '../../../lib/drf/fields';
import { type PERMISSIONS, requirePermission } from '../permissions';
import { findSubsidy, type SubsidyDb, type SubsidyView } from '../store';

/** The subsidy a path names; null when malformed, unknown or soft-deleted. */
export async function findSubsidyParam(db: SubsidyDb, raw: string): Promise<SubsidyView | null> {
  const uuid = uuidParam(raw);
  return (uuid ? await findSubsidy(db, uuid) : undefined) ?? null;
}

/**
 * The subsidy of the path once the caller holds `permission` on its customer: edx-rbac's
 * `permission_required(…, fn=get_subsidy_customer_uuid_from_view)` of the v2 views, which runs
 * before anything else and finds no customer for a subsidy that does not exist, so that is a
 * 403 `Missing: <permission>` too, even for an operator.
 */
export async function permittedSubsidy(
  db: SubsidyDb,
  req: FastifyRequest,
  permission: (typeof PERMISSIONS)[keyof typeof PERMISSIONS],
): Promise<SubsidyView> {
  const subsidy = await findSubsidyParam(db, (req.params as { uuid: string }).uuid);
  requirePermission(req, permission, subsidy?.enterprise_customer_uuid ?? null, 'decorator');
  return subsidy as SubsidyView;
}

/** This request's own origin, for the absolute links upstream returns. */
export const originOf = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
