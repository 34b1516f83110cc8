import type { LicenseStatus } from './schema';

/**
 * The license state machine (spec §3) as data. The routes use it twice: to decide (is this
 * change allowed, and what does the caller get), and as the `status in (...)` guard of the SQL
 * that makes the change, so a row that moved meanwhile is never changed from the wrong state.
 *
 *   unassigned ──assign──▶ assigned ──activate──▶ activated
 *        │                    │                      │
 *        └────auto_apply──────┼──────────────────────▶
 *                             └──────revoke──────────┴──▶ revoked (final; a fresh unassigned
 *                                                          license replaces it, ADR 0012)
 * There is no `expired` status: expiry is derived from the plan's dates.
 */
export type LicenseAction = 'assign' | 'activate' | 'auto_apply' | 'revoke';

export const TRANSITIONS: Readonly<Record<LicenseAction, { from: readonly LicenseStatus[]; to: LicenseStatus }>> = {
  assign: { from: ['unassigned'], to: 'assigned' },
  activate: { from: ['assigned'], to: 'activated' },
  auto_apply: { from: ['unassigned'], to: 'activated' },
  // Upstream REVOCABLE_LICENSE_STATUSES, in its order (its error messages print the list).
  revoke: { from: ['activated', 'assigned'], to: 'revoked' },
};

/** Statuses that hold a seat: at most one per (plan, email), which the database enforces. */
export const ALLOCATED_STATUSES: readonly LicenseStatus[] = ['assigned', 'activated'];

export type Transition = { ok: true; to: LicenseStatus } | { ok: false; reason: string };

export function transition(from: LicenseStatus, action: LicenseAction): Transition {
  const t = TRANSITIONS[action];
  if (t.from.includes(from)) return { ok: true, to: t.to };
  return { ok: false, reason: `License with status of ${from} cannot be ${PAST[action]}.` };
}

const PAST: Record<LicenseAction, string> = {
  assign: 'assigned',
  activate: 'activated',
  auto_apply: 'auto-applied',
  revoke: 'revoked',
};

/**
 * What activating a license found by its key does (spec 5.11): an assigned license is
 * activated; an activated one is returned unchanged (activation links are clicked twice); a
 * revoked one is refused with 422. An unassigned license has no key, so it cannot be found.
 */
export type ActivationOutcome = 'activate' | 'already_activated' | 'refuse_revoked';

export function activationOutcome(status: LicenseStatus): ActivationOutcome {
  if (status === 'activated') return 'already_activated';
  if (status === 'revoked' || status === 'unassigned') return 'refuse_revoked';
  return 'activate';
}

/**
 * Upstream's learner-license order: status ascending as text (activated, assigned, revoked,
 * unassigned), then the plan that expires last first.
 */
export function compareLearnerLicenses(
  a: { status: LicenseStatus; expiration_date: Date | string },
  b: { status: LicenseStatus; expiration_date: Date | string },
): number {
  if (a.status !== b.status) return a.status < b.status ? -1 : 1;
  return new Date(b.expiration_date).getTime() - new Date(a.expiration_date).getTime();
}
