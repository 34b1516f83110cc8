import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { applyLedgerReversals } from '../access/learner-credit/redemption-store';
import type { AccessDB } from '../access/schema';
import type { ServiceClients } from '../clients';
import { callService } from './failures';

/** Reversals are read again for this long after their creation time: one committed late is not missed. */
const OVERLAP_MS = 60_000;
const PAGE = 1000;

export interface FollowInput {
  /** Read reversals created from this time on (ISO-8601). */
  since: string;
  /** How long this activity follows the feed before returning its cursor. */
  seconds: number;
  /** Pause between reads of a feed that had nothing more. */
  poll_ms?: number;
}

/**
 * Follows the subsidy service's reversal feed (the pull form of upstream's LEDGER_TRANSACTION_
 * REVERSED event) and gives each reversed redemption's amount back to its policy's local
 * aggregates, so limits, can-redeem and credits_available see a refund within a second or two.
 * Applying a reversal twice changes nothing, so a page read again (the overlap, a retried
 * attempt) is harmless. The cursor is heartbeated: a retried attempt resumes where it was.
 */
export function createLedgerReversalActivities({ db, clients }: { db: Kysely<AccessDB>; clients: ServiceClients }) {
  return {
    async followLedgerReversals(input: FollowInput): Promise<{ since: string; applied: number }> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as { since?: string } | undefined;
      let cursor = new Date(resumed?.since ?? input.since);
      let applied = 0;
      const until = Date.now() + input.seconds * 1000;
      while (Date.now() < until && !ctx.cancellationSignal.aborted) {
        let from = new Date(cursor.getTime() - OVERLAP_MS);
        for (;;) {
          const page = await callService(() => clients.subsidyApi.reversalsSince(from, PAGE));
          applied += await applyLedgerReversals(db, page);
          const last = page.at(-1);
          if (last && new Date(last.created) > cursor) cursor = new Date(last.created);
          // A full page: read on from its last row (the same time again only if time moved on).
          if (page.length < PAGE || !last || new Date(last.created).getTime() === from.getTime()) break;
          from = new Date(last.created);
        }
        ctx.heartbeat({ since: cursor.toISOString(), applied });
        await ctx.sleep(input.poll_ms ?? 1000).catch(() => undefined);
      }
      return { since: cursor.toISOString(), applied };
    },
  };
}
