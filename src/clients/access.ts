import type {
  FinishInput,
  ReconcileInput,
  ReserveInput,
  ReserveResult,
  StartAttemptInput,
  StartAttemptResult,
} from '../access/learner-credit/redemption-contract';
import type { HttpClient } from '../lib/http-client';

export const INTERNAL_REDEMPTIONS = '/api/v1/internal/redemptions';

/**
 * The api's internal redemption routes: the worker's only way to the orchestrator's own records,
 * so that workers stay stateless and the records have one owner.
 */
export class AccessClient {
  constructor(readonly http: HttpClient) {}

  private async post<T>(operation: string, path: string, body: unknown): Promise<T> {
    const res = await this.http.call<T>({ operation, method: 'POST', path: `${INTERNAL_REDEMPTIONS}${path}`, body });
    return res.body;
  }

  startAttempt(input: StartAttemptInput) {
    return this.post<StartAttemptResult>('start redemption attempt', '/attempts', input);
  }

  reserve(input: ReserveInput) {
    return this.post<ReserveResult>('check and reserve', '/reservations', input);
  }

  finish(input: FinishInput) {
    return this.post<{ ok: true }>('finish redemption attempt', '/attempts/finish', input);
  }

  reconcileReversals(input: ReconcileInput) {
    return this.post<{ reversed: number }>('reconcile reversals', '/reversals', input);
  }
}
