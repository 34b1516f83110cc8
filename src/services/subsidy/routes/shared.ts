import type { FastifyRequest } from 'fastify';
import { uuidParam } from '../../../lib/drf/fields';
import { notFound } from '../../../lib/http-errors';
import { findSubsidy, type SubsidyDb, type SubsidyView } from '../store';

/** The subsidy a path names; 404 when malformed, unknown or soft-deleted. */
export async function loadSubsidy(db: SubsidyDb, raw: string): Promise<SubsidyView> {
  const uuid = uuidParam(raw);
  const subsidy = uuid ? await findSubsidy(db, uuid) : undefined;
  if (!subsidy) throw notFound();
  return subsidy;
}

/** This request's own origin, for the absolute links upstream returns. */
export const originOf = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
