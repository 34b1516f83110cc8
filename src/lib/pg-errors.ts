/** SQLSTATE of an error from pg or PGlite (both expose `code`). */
export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** 23505: a unique constraint refused the row, e.g. a concurrent get-or-create lost the race. */
export const isUniqueViolation = (err: unknown) => sqlState(err) === '23505';

/** 23514: a CHECK constraint refused the row, e.g. a ledger balance that would go below zero. */
export const isCheckViolation = (err: unknown) => sqlState(err) === '23514';
