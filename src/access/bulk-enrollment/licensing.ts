/**
 * Which license, if any, pays for one (email, course) pair of a bulk license enrollment: the
 * gate that upstream's `check_missing_licenses` (licenses-and-enrollment §6.4) kept, with its
 * gaps closed as §6.4 and §11 recommend:
 * - only `assigned` or `activated` licenses count (upstream also matched `revoked` ones);
 * - only licenses in plans that are active and current (upstream ignored plan dates);
 * - emails compare case-insensitively (upstream compared them exactly, against lower-cased rows);
 * - one license per pair: the one whose plan expires last, an activated one before an assigned
 *   one of the same expiry (upstream sent one entry per matching license, hence duplicates);
 * - the course must be in that license's plan catalog.
 * Pure: the facts come from license-manager's `licenses-for-emails` and the catalog.
 */
import type { PairOutcome } from './contract';

export interface LicenseFact {
  license_uuid: string;
  status: string;
  plan_is_active: boolean;
  plan_is_current: boolean;
  expiration_date: string;
  enterprise_catalog_uuid: string | null;
}

/** Notes of pairs no license pays for; each begins with upstream's "missing subscription". */
export const MISSING = {
  none: 'missing subscription',
  revoked: 'missing subscription: the license was revoked',
  planNotCurrent: 'missing subscription: the subscription plan is not active or has expired',
  notInCatalog: "missing subscription: the course is not in the subscription plan's catalog",
} as const;

export type LicenseDecision = { license_uuid: string } | { missing: string };

const usable = (l: LicenseFact) =>
  (l.status === 'activated' || l.status === 'assigned') && l.plan_is_active && l.plan_is_current;

/** Latest expiry first; at equal expiry an activated license first; else as given. */
function byPreference(a: LicenseFact, b: LicenseFact): number {
  const expiry = Date.parse(b.expiration_date) - Date.parse(a.expiration_date);
  if (expiry !== 0) return expiry;
  return (a.status === 'activated' ? 0 : 1) - (b.status === 'activated' ? 0 : 1);
}

/** Plan catalogs worth asking about: those of licenses that could pay for something. */
export function catalogsToCheck(licenses: Iterable<readonly LicenseFact[]>): string[] {
  const out = new Set<string>();
  for (const list of licenses) {
    for (const l of list) if (usable(l) && l.enterprise_catalog_uuid) out.add(l.enterprise_catalog_uuid);
  }
  return [...out];
}

/**
 * One learner's license check, made once for all the courses of a chunk: the usable licenses in
 * order of preference, and the reason to give when none of them pays for a course.
 * `inCatalog(catalog, course)` answers from the catalog service.
 */
function licenseChooser(
  licenses: readonly LicenseFact[],
  inCatalog: (catalogUuid: string, course: string) => boolean,
): (course: string) => LicenseDecision {
  const live = licenses.filter(usable).sort(byPreference);
  let missing: string = MISSING.none;
  if (live.length > 0) missing = MISSING.notInCatalog;
  else if (licenses.some((l) => l.status === 'activated' || l.status === 'assigned')) missing = MISSING.planNotCurrent;
  else if (licenses.some((l) => l.status === 'revoked')) missing = MISSING.revoked;
  return (course) => {
    const chosen = live.find((l) => l.enterprise_catalog_uuid !== null && inCatalog(l.enterprise_catalog_uuid, course));
    return chosen ? { license_uuid: chosen.license_uuid } : { missing };
  };
}

/** The license for `course` among one learner's `licenses`, or why there is none. */
export const licenseFor = (
  licenses: readonly LicenseFact[],
  course: string,
  inCatalog: (catalogUuid: string, course: string) => boolean,
): LicenseDecision => licenseChooser(licenses, inCatalog)(course);

export interface PairToCheck {
  email_index: number;
  course_index: number;
  email: string;
  course_run_key: string;
}

/**
 * Every pair of a chunk decided: those a license pays for (to send to the lms, with it), and the
 * failed outcomes of the rest. `licensesOf(email)` takes a lower-cased email.
 */
export function decideChunk<P extends PairToCheck>(
  pairs: readonly P[],
  licensesOf: (email: string) => readonly LicenseFact[],
  inCatalog: (catalogUuid: string, course: string) => boolean,
): { licensed: Array<P & { license_uuid: string }>; missing: PairOutcome[] } {
  const licensed: Array<P & { license_uuid: string }> = [];
  const missing: PairOutcome[] = [];
  const choosers = new Map<string, (course: string) => LicenseDecision>();
  for (const p of pairs) {
    let choose = choosers.get(p.email);
    if (!choose) {
      choose = licenseChooser(licensesOf(p.email.toLowerCase()), inCatalog);
      choosers.set(p.email, choose);
    }
    const d = choose(p.course_run_key);
    if ('license_uuid' in d) licensed.push({ ...p, license_uuid: d.license_uuid });
    else
      missing.push({
        email_index: p.email_index,
        course_index: p.course_index,
        status: 'failed',
        notes: d.missing,
        license_uuid: null,
      });
  }
  return { licensed, missing };
}
