import type { ServiceContext } from '../common/service';
import type { SubsidyDB } from './schema';

/**
 * The learner's email from the lms (`GET /api/user/v1/accounts?lms_user_id=`), best effort as
 * upstream's `LmsUserApiClient.best_effort_user_data`: any failure is logged and gives null, and
 * never stops a redemption. Transactions record it as `lms_user_email` (searchable by admins).
 */
export async function emailForLearner(ctx: ServiceContext<SubsidyDB>, lmsUserId: number): Promise<string | null> {
  try {
    const res = await ctx.peer('lms').call<Array<{ email?: unknown }>>({
      operation: 'learner email',
      method: 'GET',
      path: '/api/user/v1/accounts',
      query: { lms_user_id: lmsUserId },
    });
    const email = Array.isArray(res.body) ? res.body[res.body.length - 1]?.email : undefined;
    return typeof email === 'string' && email !== '' ? email : null;
  } catch (err) {
    ctx.logger.warn({ err, lms_user_id: lmsUserId }, 'could not read the learner email from the lms');
    return null;
  }
}
