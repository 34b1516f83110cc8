import { TRANSITIONS } from './license-transitions';
import type { LicenseStatus } from './schema';

/**
 * Revocation rules of a plan (spec §2.3, §3, 5.9), as upstream counts them. A revocation always
 * adds a fresh unassigned license, so a plan's size (`total`, revoked excluded) does not change
 * while licenses are revoked; only revocations of *activated* licenses use up the cap.
 */
export interface RevocationCap {
  enabled: boolean;
  /** `revoke_max_percentage`, 0..100. */
  maxPercentage: number;
  /** `num_revocations_applied`. */
  applied: number;
  /** Licenses of the plan that are not revoked (upstream `num_licenses`). */
  total: number;
}

/**
 * ceil(total × percentage / 100) − applied, in integers (a float product could round across an
 * integer); Infinity when the cap is off. It may be negative when the percentage was lowered.
 */
export function revocationsRemaining(cap: RevocationCap): number {
  if (!cap.enabled) return Number.POSITIVE_INFINITY;
  return Math.floor((cap.total * cap.maxPercentage + 99) / 100) - cap.applied;
}

/** The plan representation's `revocations`: null when the cap is off. */
export function revocationsView(cap: RevocationCap): { applied: number; remaining: number } | null {
  return cap.enabled ? { applied: cap.applied, remaining: revocationsRemaining(cap) } : null;
}

/**
 * The bulk pre-check: upstream compares *every* requested email with the remaining revocations,
 * although assigned licenses are free; kept, as admins' tooling expects the 400 then.
 */
export const enoughRevocationsFor = (cap: RevocationCap, requested: number) => requested <= revocationsRemaining(cap);

export type RevocationCheck = { ok: true; usesCap: boolean } | { ok: false; reason: string };

/** Whether one license may be revoked now, and whether doing so uses up one revocation. */
export function checkRevocation(cap: RevocationCap, status: LicenseStatus): RevocationCheck {
  if (status === 'activated' && revocationsRemaining(cap) <= 0) {
    return { ok: false, reason: 'License revocation limit has been reached' };
  }
  if (!TRANSITIONS.revoke.from.includes(status)) {
    return { ok: false, reason: `License with status of ${status} cannot be revoked` };
  }
  return { ok: true, usesCap: cap.enabled && status === 'activated' };
}

/** The cap after one revocation (the plan's size is unchanged: see above). */
export const afterRevocation = (cap: RevocationCap, usesCap: boolean): RevocationCap =>
  usesCap ? { ...cap, applied: cap.applied + 1 } : cap;

/**
 * Which of an email's revocable licenses bulk-revoke takes (upstream PR #653): the assigned one
 * if any, else the first by uuid. (The database keeps at most one per plan and email, but the
 * rule is upstream's and costs nothing to keep.)
 */
export function pickLicenseToRevoke<T extends { uuid: string; status: LicenseStatus }>(
  licenses: readonly T[],
): T | undefined {
  const revocable = licenses.filter((l) => TRANSITIONS.revoke.from.includes(l.status));
  const byUuid = [...revocable].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  return byUuid.find((l) => l.status === 'assigned') ?? byUuid[0];
}

// ---- the upstream messages bulk-revoke answers with -------------------------------------------

export const NOT_ENOUGH_REVOCATIONS = 'Plan does not have enough revocations remaining.';

export const licenseNotFoundMessage = (email: string, planUuid: string) =>
  `No license for email ${email} exists in plan ${planUuid} with a status in ['activated', 'assigned']. ` +
  `user_email: ${email}`;

export const revocationFailedMessage = (licenseUuid: string, reason: string, email: string) =>
  `Action: license revocation failed for license: ${licenseUuid} because: ${reason}. user_email: ${email}`;

export interface RevocationSuccess {
  license_uuid: string;
  original_status: LicenseStatus;
  user_email: string;
}
export interface RevocationFailure {
  error: string;
  error_response_status?: number;
  user_email?: string;
}

/**
 * Bulk-revoke's decisions, email by email in request order (spec 5.9): the license each email
 * loses (or the 404/400 it is reported with instead), the cap moving with each revocation. The
 * caller writes the successes and `cap.applied - before.applied` cap uses.
 */
export function planRevocations(
  cap: RevocationCap,
  planUuid: string,
  emails: readonly string[],
  licensesByEmail: ReadonlyMap<string, ReadonlyArray<{ uuid: string; status: LicenseStatus }>>,
): { successes: RevocationSuccess[]; failures: RevocationFailure[]; cap: RevocationCap } {
  const successes: RevocationSuccess[] = [];
  const failures: RevocationFailure[] = [];
  let current = cap;
  for (const email of emails) {
    const chosen = pickLicenseToRevoke(licensesByEmail.get(email) ?? []);
    if (!chosen) {
      failures.push({ error: licenseNotFoundMessage(email, planUuid), error_response_status: 404, user_email: email });
      continue;
    }
    const check = checkRevocation(current, chosen.status);
    if (!check.ok) {
      const error = revocationFailedMessage(chosen.uuid, check.reason, email);
      failures.push({ error, error_response_status: 400, user_email: email });
      continue;
    }
    current = afterRevocation(current, check.usesCap);
    successes.push({ license_uuid: chosen.uuid, original_status: chosen.status, user_email: email });
  }
  return { successes, failures, cap: current };
}
