import { type core, z } from 'zod';
import type { FieldErrors } from './http-errors';

/**
 * DRF wording for the two most common field errors, so clients written against the upstream
 * services see the messages they know. Installed once per process, before any schema parses.
 */
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type') {
      if (issue.input === undefined) return 'This field is required.';
      if (issue.input === null) return 'This field may not be null.';
    }
    return undefined;
  },
});

/**
 * Zod issues → DRF's nested field-error map: `{"plan": {"title": ["This field is required."]}}`.
 * Array positions become keys (`"admins": {"0": {...}}`); root-level issues go to `non_field_errors`.
 */
export function issuesToFieldErrors(issues: readonly Pick<core.$ZodIssue, 'path' | 'message'>[]): FieldErrors {
  const out: FieldErrors = {};
  const add = (node: FieldErrors, key: string, message: string) => {
    const existing = node[key];
    if (existing === undefined) node[key] = [message];
    else if (Array.isArray(existing)) {
      if (!existing.includes(message)) existing.push(message);
    } else add(existing, 'non_field_errors', message);
  };
  for (const issue of issues) {
    const keys = issue.path.length ? issue.path.map(String) : ['non_field_errors'];
    let node: FieldErrors = out;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      // A field with messages of its own and errors inside: its own go to its `non_field_errors`.
      if (next === undefined) node[key] = {};
      else if (Array.isArray(next)) node[key] = { non_field_errors: next };
      node = node[key] as FieldErrors;
    }
    add(node, keys[keys.length - 1] as string, issue.message);
  }
  return out;
}

/** One line naming every field and its problem, for workflow failures and logs. */
export function describeIssues(issues: readonly Pick<core.$ZodIssue, 'path' | 'message'>[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
