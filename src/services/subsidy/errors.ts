import { HttpError } from '../../lib/http-errors';

/**
 * enterprise-subsidy's error codes (`apps/api/exceptions.py` ErrorCodes), sent as
 * `{"detail": "...", "code": "..."}` so callers can tell refusals apart without parsing prose.
 */
export type SubsidyErrorCode =
  | 'content_not_found'
  | 'transaction_creation_error'
  | 'inactive_subsidy_creation_error'
  | 'invalid_requested_price'
  | 'invalid_state'
  | 'reversal_error'
  | 'deposit_on_expired_subsidy'
  | 'deposit_creation_error'
  | 'adjustment_creation_error';

/** 422: the request is well-formed but the ledger refuses it. */
export const refuse = (code: SubsidyErrorCode, detail: string) => new HttpError(422, { detail, code });
