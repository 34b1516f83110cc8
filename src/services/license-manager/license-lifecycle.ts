import { isUniqueViolation } from '../../lib/pg-errors';
import { type AssignmentRequest, notEnoughLicensesMessage, splitAlreadyAssociated } from './assignment-rules';
import {
  addLicenseSources,
  allocatedEmails,
  assignLicenses,
  countLicenses,
  lockPlan,
  revocableLicensesOf,
  revokeMany,
} from './license-store';
import { assignmentEmail, type CustomText, enqueueEmails, revocationCapEmail } from './outbox';
import { capOf } from './representation';
import {
  enoughRevocationsFor,
  NOT_ENOUGH_REVOCATIONS,
  planRevocations,
  type RevocationFailure,
  type RevocationSuccess,
  revocationsRemaining,
} from './revocation-rules';
import type { LicenseStatus } from './schema';
import type { LmDb, PlanView } from './store';

/**
 * The two lifecycle operations that consume or refill a plan's pool, each one transaction under
 * the plan's row lock. Upstream serialized assignment with a 300 s cache lock and answered 423
 * to whoever came second (ADR 0014); here a second request waits for the first to commit and
 * then sees its result, and the partial unique index makes a double seat impossible regardless.
 */

export type AssignOutcome =
  | {
      kind: 'assigned';
      num_successful_assignments: number;
      num_already_associated: number;
      license_assignments: Array<{ user_email: string; license: string }>;
    }
  | { kind: 'pool_short'; message: string };

/** How often an assignment is retried after a unique violation (a writer outside the plan lock seated an email). */
const ASSIGN_ATTEMPTS = 3;

export async function assignToPlan(
  db: LmDb,
  plan: PlanView,
  request: AssignmentRequest,
  notify: { send: boolean; text: CustomText },
): Promise<AssignOutcome | 'conflict'> {
  for (let attempt = 1; attempt <= ASSIGN_ATTEMPTS; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        if (!(await lockPlan(trx, plan.uuid))) throw new Error(`plan ${plan.uuid} vanished`);
        const seated = await allocatedEmails(trx, plan.uuid, request.emails);
        const { toAssign, already } = splitAlreadyAssociated(request.emails, seated);
        const available = (await countLicenses(trx, plan.uuid)).unassigned;
        if (available < toAssign.length) {
          return { kind: 'pool_short', message: notEnoughLicensesMessage(toAssign.length, available) } as const;
        }
        const assigned = await assignLicenses(trx, plan.uuid, toAssign);
        if (assigned.length !== toAssign.length)
          throw new Error('fewer unassigned licenses than counted under the plan lock');
        await addLicenseSources(
          trx,
          assigned.flatMap((l) => {
            const sfid = request.sfidByEmail.get(l.user_email ?? '');
            return sfid ? [{ license: l.uuid, source_id: sfid }] : [];
          }),
        );
        if (notify.send)
          await enqueueEmails(
            trx,
            assigned.map((l) => assignmentEmail(plan, l, notify.text)),
          );
        return {
          kind: 'assigned',
          num_successful_assignments: assigned.length,
          num_already_associated: already.length,
          license_assignments: assigned.map((l) => ({ user_email: l.user_email ?? '', license: l.uuid })),
        } as const;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
  return 'conflict';
}

export type RevokeOutcome =
  | { kind: 'cap_exceeded'; failure: RevocationFailure }
  | { kind: 'done'; successes: RevocationSuccess[]; failures: RevocationFailure[] };

/**
 * Bulk revocation (spec 5.9): one transaction; an email that cannot be revoked is reported and
 * the others still are (upstream PR #698). Every revocation adds a fresh unassigned license;
 * revoking an activated one counts against the cap; ECS is told when the cap is used up.
 */
export async function revokeEmails(db: LmDb, plan: PlanView, emails: readonly string[]): Promise<RevokeOutcome> {
  return db.transaction().execute(async (trx) => {
    const locked = await lockPlan(trx, plan.uuid);
    if (!locked) throw new Error(`plan ${plan.uuid} vanished`);
    const cap = capOf(locked, await countLicenses(trx, plan.uuid));
    if (!enoughRevocationsFor(cap, emails.length))
      return { kind: 'cap_exceeded', failure: { error: NOT_ENOUGH_REVOCATIONS } };

    const byEmail = new Map<string, Array<{ uuid: string; status: LicenseStatus }>>();
    for (const l of await revocableLicensesOf(trx, plan.uuid, emails)) {
      byEmail.set(l.email, [...(byEmail.get(l.email) ?? []), l]);
    }
    const { successes, failures, cap: after } = planRevocations(cap, plan.uuid, emails, byEmail);
    // Decided one by one (the cap moves with each), written in three set-based statements.
    await revokeMany(
      trx,
      plan.uuid,
      successes.map((s) => s.license_uuid),
      after.applied - cap.applied,
    );
    if (successes.length > 0 && after.enabled && revocationsRemaining(after) <= 0) {
      await enqueueEmails(trx, [revocationCapEmail(plan, after.applied)]);
    }
    return { kind: 'done', successes, failures };
  });
}
