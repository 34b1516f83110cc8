/**
 * The results file of a job with upstream's columns (licenses-and-enrollment §6.2/6.3):
 * `email address,course key,enrollment status,notes`, one row per pair. RFC 4180 quoting; a
 * field that a spreadsheet would run as a formula is prefixed with `'`. Pure.
 */
export const CSV_HEADER = ['email address', 'course key', 'enrollment status', 'notes'] as const;

const quote = (v: string) => {
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export interface CsvResult {
  email: string;
  course_run_key: string;
  status: string;
  notes: string;
}

export function resultsCsv(rows: Iterable<CsvResult>): string {
  const lines = [CSV_HEADER.join(',')];
  for (const r of rows) lines.push([r.email, r.course_run_key, r.status, r.notes].map(quote).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** `Bulk-Enrollment-Results-<job>.csv`, as the download's file name. */
export const csvFileName = (jobUuid: string) => `Bulk-Enrollment-Results-${jobUuid}.csv`;
