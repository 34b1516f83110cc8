import { z } from 'zod';
import type { EnrollmentItem, Subsidy } from './bulk-enrollment-request';
import type { NotifiedLearner } from './schema';

/**
 * The rules of `enroll_learners_in_courses` (licenses-and-enrollment §7.3–7.5) as plain functions:
 * which items are dropped as invalid, what an existing enrollment becomes, which items of a
 * (learner, course) pair succeed and which one counts as `created`, and the status code. The store
 * (bulk-enrollment-store.ts) runs the SQL around them.
 */

const emailSchema = z.email();

/** Syntactic check of an address (Django's validate_email rejects what does not fit in 254 characters). */
export const isValidEmail = (email: string) => email.length <= 254 && emailSchema.safeParse(email).success;

export const emailKey = (email: string) => email.toLowerCase();

export const sameSubsidy = (a: Subsidy, b: Subsidy) =>
  a.license_uuid === b.license_uuid && a.transaction_id === b.transaction_id;

/** An item that survived the checks, with the learner it names. */
export interface Target {
  item: EnrollmentItem;
  /** The email to answer with and to look the learner up by: the user's own when `user_id` named one. */
  email: string;
  /** The user `user_id` named, or null (look the learner up by email). */
  userId: number | null;
  /** `user_id` and `email` both given and naming different people: a failure, never an enrollment. */
  mismatch: boolean;
}

export interface Resolution {
  /** Unknown `user_id`s, each once, in request order; their items are dropped. */
  invalidUserIds: number[];
  /** Malformed addresses, each once (case-insensitively), first spelling; their items are dropped. */
  invalidEmails: string[];
  /** Every valid address to link to the customer (user or pending user), each once. */
  linkEmails: string[];
  targets: Target[];
}

/**
 * Steps 2–4 of §7.3 before any write: `user_id`s are resolved to their users' emails (unknown ones
 * are invalid), every distinct address is checked, and items naming an invalid id or address are
 * dropped. Upstream links the user's own address when `user_id` is given, so that is the one
 * linked here too; the address given alongside is only compared with it.
 */
export function resolveTargets(
  items: EnrollmentItem[],
  usersById: ReadonlyMap<number, { id: number; email: string }>,
): Resolution {
  const invalidUserIds: number[] = [];
  const emails = new Map<string, string>();
  const pre: Array<Target | null> = items.map((item) => {
    if (item.user_id !== undefined) {
      const user = usersById.get(item.user_id);
      if (!user) {
        if (!invalidUserIds.includes(item.user_id)) invalidUserIds.push(item.user_id);
        return null;
      }
      if (!emails.has(emailKey(user.email))) emails.set(emailKey(user.email), user.email);
      const mismatch = item.email !== undefined && emailKey(item.email) !== emailKey(user.email);
      return { item, email: user.email, userId: user.id, mismatch };
    }
    const email = item.email as string;
    if (!emails.has(emailKey(email))) emails.set(emailKey(email), email);
    return { item, email, userId: null, mismatch: false };
  });
  const invalidEmails = [...emails.values()].filter((e) => !isValidEmail(e));
  const invalid = new Set(invalidEmails.map(emailKey));
  return {
    invalidUserIds,
    invalidEmails,
    linkEmails: [...emails.values()].filter((e) => !invalid.has(emailKey(e))),
    targets: pre.filter((t): t is Target => t !== null && !invalid.has(emailKey(t.email))),
  };
}

/**
 * What a bulk enrollment does to an existing enrollment of the same learner and course run:
 * - inactive: re-activate it under the new subsidy (a learner who unenrolled is enrolled again; `created`);
 * - active under the same subsidy: nothing (a repeat; `created: false`);
 * - active under no subsidy (e.g. a manual enrollment): the subsidy is attached;
 * - active under another subsidy: a failure. Upstream's licensed record is one-to-one with the
 *   enrollment, so a second license cannot be attached; a paid enrollment is not silently moved
 *   to another payment either.
 */
export type ExistingDecision = 'reactivate' | 'unchanged' | 'attach' | 'conflict';

export function decideExisting(row: Subsidy & { is_active: boolean }, wanted: Subsidy): ExistingDecision {
  if (!row.is_active) return 'reactivate';
  if (sameSubsidy(row, wanted)) return 'unchanged';
  if (row.license_uuid === null && row.transaction_id === null) return 'attach';
  return 'conflict';
}

/** A (learner, course) pair after the call: its subsidy now, and whether this call created or re-activated it. */
export interface PairState {
  subsidy: Subsidy;
  createdHere: boolean;
}

/** The state an existing enrollment is left in by `decideExisting`'s decision for the pair's first item. */
export function stateAfter(row: Subsidy & { is_active: boolean }, wanted: Subsidy): PairState {
  const decision = decideExisting(row, wanted);
  if (decision === 'reactivate') return { subsidy: wanted, createdHere: true };
  if (decision === 'attach') return { subsidy: wanted, createdHere: false };
  return { subsidy: { license_uuid: row.license_uuid, transaction_id: row.transaction_id }, createdHere: false };
}

/**
 * The items naming one pair, in request order, against the pair's state after the call (as if
 * processed one by one, as upstream does): an item under the pair's subsidy succeeds, `created`
 * only for the first one and only if the call created the record; an item under another subsidy
 * fails.
 */
export function settlePair(items: readonly { subsidy: Subsidy }[], state: PairState) {
  return items.map((item, i) => {
    const ok = sameSubsidy(item.subsidy, state.subsidy);
    return { ok, created: ok && i === 0 && state.createdHere };
  });
}

export interface SuccessItem {
  user_id: number;
  email: string;
  course_run_key: string;
  created: boolean;
  /** Upstream forwards the caller's link here but its serializer drops it first: always null. */
  activation_link: null;
  /** The enterprise course enrollment's uuid: the fulfillment identifier a subsidy records. */
  enterprise_fulfillment_source_uuid: string;
}
export interface PendingItem {
  email: string;
  course_run_key: string;
  created: boolean;
  activation_link: null;
}
export interface FailureItem {
  user_id: number | null;
  email: string | null;
  course_run_key: string;
}

export type Outcome =
  | ({ kind: 'success' } & SuccessItem)
  | ({ kind: 'pending' } & PendingItem)
  | ({ kind: 'failure' } & FailureItem);

export interface BulkEnrollmentResponse {
  successes: SuccessItem[];
  pending: PendingItem[];
  failures: FailureItem[];
  invalid_email_addresses?: string[];
  invalid_user_ids?: number[];
}

/** §7.4: outcomes (in request order) into the three lists; the invalid lists only when not empty. */
export function bucketOutcomes(
  outcomes: readonly Outcome[],
  invalidEmails: readonly string[],
  invalidUserIds: readonly number[],
): BulkEnrollmentResponse {
  const res: BulkEnrollmentResponse = { successes: [], pending: [], failures: [] };
  for (const { kind, ...item } of outcomes) {
    if (kind === 'success') res.successes.push(item as SuccessItem);
    else if (kind === 'pending') res.pending.push(item as PendingItem);
    else res.failures.push(item as FailureItem);
  }
  if (invalidEmails.length > 0) res.invalid_email_addresses = [...invalidEmails];
  if (invalidUserIds.length > 0) res.invalid_user_ids = [...invalidUserIds];
  return res;
}

/**
 * §7.4: 409 if anything failed or was invalid (what succeeded in the same call stays committed),
 * else 202 if anything is pending, else 201.
 */
export function bulkEnrollmentStatus(res: BulkEnrollmentResponse): 201 | 202 | 409 {
  if (res.failures.length > 0 || res.invalid_email_addresses?.length || res.invalid_user_ids?.length) return 409;
  if (res.pending.length > 0) return 202;
  return 201;
}

/**
 * §7.3 step 5: per course, the learners this call newly enrolled (or newly made pending), each
 * once; existing enrollments are not notified again. Courses in request order.
 */
export function newlyEnrolledByCourse(res: BulkEnrollmentResponse): Map<string, NotifiedLearner[]> {
  const byCourse = new Map<string, NotifiedLearner[]>();
  const add = (course: string, learner: NotifiedLearner) => {
    const list = byCourse.get(course) ?? [];
    if (!list.some((l) => emailKey(l.email) === emailKey(learner.email))) list.push(learner);
    byCourse.set(course, list);
  };
  for (const s of res.successes) if (s.created) add(s.course_run_key, { email: s.email, lms_user_id: s.user_id });
  for (const p of res.pending) if (p.created) add(p.course_run_key, { email: p.email, lms_user_id: null });
  return byCourse;
}
