/**
 * The lms's answer to one `enroll_learners_in_courses` call, turned into one outcome per pair
 * sent (licenses-and-enrollment §6.3): `successes` → success; `pending` → pending, "pending
 * license activation"; `failures` → failed; an email in `invalid_email_addresses` → failed,
 * "invalid email address", for each of its pairs. The status code is not needed (201, 202 and
 * 409 bodies have the same shape). Unlike upstream, a pair the answer does not mention is not
 * lost: it is failed with a note saying so. Pure.
 */
import type { ChunkRange, OutcomeGroup, PairOutcome } from './contract';

export interface LmsEnrollAnswer {
  successes: Array<{ email: string | null; course_run_key: string }>;
  pending: Array<{ email: string | null; course_run_key: string }>;
  failures: Array<{ email: string | null; course_run_key: string }>;
  invalid_email_addresses?: string[];
}

export const LMS_NOTES = {
  pending: 'pending license activation',
  failed: 'enrollment failed',
  invalidEmail: 'invalid email address',
  unanswered: 'the lms did not report on this enrollment',
} as const;

export interface SentPair {
  email_index: number;
  course_index: number;
  email: string;
  course_run_key: string;
  license_uuid: string;
}

type Reported = { status: PairOutcome['status']; notes: string };

export function outcomesOf(sent: readonly SentPair[], answer: LmsEnrollAnswer): PairOutcome[] {
  // email (lower-cased) → course → what the lms said; the first report of a pair wins.
  const found = new Map<string, Map<string, Reported>>();
  const note = (items: LmsEnrollAnswer['successes'], reported: Reported) => {
    for (const i of items) {
      const email = (i.email ?? '').toLowerCase();
      let courses = found.get(email);
      if (!courses) {
        courses = new Map();
        found.set(email, courses);
      }
      if (!courses.has(i.course_run_key)) courses.set(i.course_run_key, reported);
    }
  };
  note(answer.successes, { status: 'success', notes: '' });
  note(answer.pending, { status: 'pending', notes: LMS_NOTES.pending });
  note(answer.failures, { status: 'failed', notes: LMS_NOTES.failed });
  const invalid = new Set((answer.invalid_email_addresses ?? []).map((e) => e.toLowerCase()));
  const unanswered: Reported = { status: 'failed', notes: LMS_NOTES.unanswered };
  const invalidEmail: Reported = { status: 'failed', notes: LMS_NOTES.invalidEmail };
  const lower = new Map<string, string>();
  return sent.map((p) => {
    let email = lower.get(p.email);
    if (email === undefined) {
      email = p.email.toLowerCase();
      lower.set(p.email, email);
    }
    const got = invalid.has(email) ? invalidEmail : (found.get(email)?.get(p.course_run_key) ?? unanswered);
    return {
      email_index: p.email_index,
      course_index: p.course_index,
      status: got.status,
      notes: got.notes,
      license_uuid: p.license_uuid,
    };
  });
}

/** Outcomes counted by status. */
export function countOutcomes(outcomes: readonly PairOutcome[]) {
  const counts = { success: 0, pending: 0, failed: 0 };
  for (const o of outcomes) counts[o.status] += 1;
  return counts;
}

/** A pair's position in its chunk: emails outside, courses inside. */
const positionIn = (chunk: ChunkRange, emailIndex: number, courseIndex: number) =>
  (emailIndex - chunk.email_from) * (chunk.course_to - chunk.course_from) + (courseIndex - chunk.course_from);

/** Outcomes grouped by (status, notes, license), for the trip to the api. */
export function groupOutcomes(chunk: ChunkRange, outcomes: readonly PairOutcome[]): OutcomeGroup[] {
  const groups = new Map<string, OutcomeGroup>();
  for (const o of outcomes) {
    const key = `${o.status}\u0000${o.notes}\u0000${o.license_uuid ?? ''}`;
    let g = groups.get(key);
    if (!g) {
      g = { status: o.status, notes: o.notes, license_uuid: o.license_uuid, pairs: [] };
      groups.set(key, g);
    }
    g.pairs.push(positionIn(chunk, o.email_index, o.course_index));
  }
  return [...groups.values()];
}
