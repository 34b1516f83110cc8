/**
 * Pure rules of license assignment (spec 5.7). Emails are stored lower-cased, so "Ada@x.com" and
 * "ada@x.com" are one learner; the database compares `lower(user_email)` the same way.
 */

export interface AssignmentRequest {
  /** Lower-cased, duplicates removed, in the order first given. */
  emails: string[];
  /** Salesforce id per email, only for non-blank ids (upstream: a blank id makes no source row). */
  sfidByEmail: Map<string, string>;
}

/**
 * Lower-cases and de-duplicates the emails. With `user_sfids`, upstream zips emails to ids into a
 * dict: a repeated email keeps its first position and takes the last id given for it.
 */
export function normalizeAssignment(
  emails: readonly string[],
  sfids?: ReadonlyArray<string | null>,
): AssignmentRequest {
  const order: string[] = [];
  const seen = new Set<string>();
  const sfidByEmail = new Map<string, string>();
  emails.forEach((raw, i) => {
    const email = raw.trim().toLowerCase();
    if (!seen.has(email)) {
      seen.add(email);
      order.push(email);
    }
    if (sfids) {
      const id = sfids[i]?.trim();
      if (id) sfidByEmail.set(email, id);
      else sfidByEmail.delete(email);
    }
  });
  return { emails: order, sfidByEmail };
}

/** Lower-cased, de-duplicated emails in the order given (remind, revoke, lookups). */
export const uniqueEmails = (emails: readonly string[]) => normalizeAssignment(emails).emails;

/** Splits the request into emails to assign and emails that already hold a seat in the plan. */
export function splitAlreadyAssociated(emails: readonly string[], associated: ReadonlySet<string>) {
  return {
    toAssign: emails.filter((e) => !associated.has(e)),
    already: emails.filter((e) => associated.has(e)),
  };
}

/**
 * Upstream's refusal when the pool of unassigned licenses is short, word for word (the missing
 * space after the first sentence included: admin tooling matches on it).
 */
export const notEnoughLicensesMessage = (required: number, available: number) =>
  'There are not enough licenses that can be assigned to complete your request.' +
  `You attempted to assign ${required} licenses, but there are only ${available} potentially available.`;
