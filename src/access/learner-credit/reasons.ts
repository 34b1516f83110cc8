/**
 * Reason codes of can-redeem / redeem, their values and user messages exactly as upstream
 * (spec learner-credit §3): learner portals branch on the codes.
 */
export const REASON = {
  POLICY_EXPIRED: 'policy_expired',
  SUBSIDY_EXPIRED: 'subsidy_expired',
  CONTENT_NOT_IN_CATALOG: 'content_not_in_catalog',
  BEYOND_ENROLLMENT_DEADLINE: 'beyond_enrollment_deadline',
  LEARNER_NOT_IN_ENTERPRISE: 'learner_not_in_enterprise',
  LEARNER_NOT_IN_ENTERPRISE_GROUP: 'learner_not_in_enterprise_group',
  NOT_ENOUGH_VALUE_IN_SUBSIDY: 'not_enough_value_in_subsidy',
  POLICY_SPEND_LIMIT_REACHED: 'policy_spend_limit_reached',
  LEARNER_MAX_SPEND_REACHED: 'learner_max_spend_reached',
  LEARNER_MAX_ENROLLMENTS_REACHED: 'learner_max_enrollments_reached',
  LEARNER_NOT_ASSIGNED_CONTENT: 'reason_learner_not_assigned_content',
  LEARNER_ASSIGNMENT_CANCELLED: 'reason_learner_assignment_cancelled',
  LEARNER_ASSIGNMENT_FAILED: 'reason_learner_assignment_failed',
  LEARNER_ASSIGNMENT_EXPIRED: 'reason_learner_assignment_expired',
  LEARNER_ASSIGNMENT_REVERSED: 'reason_learner_assignment_reversed',
} as const;

export type ReasonCode = (typeof REASON)[keyof typeof REASON];

const CANT = "You can't enroll right now because";
const NO_FUNDS = `${CANT} your organization doesn't have enough funds.`;
const EXPIRED_FUNDS = `${CANT} your funds expired.`;
const LIMITS = `${CANT} of limits set by your organization.`;
const NOT_ASSIGNED = `${CANT} this course is not assigned to you.`;

/**
 * The message a learner sees. `hasAdmins` false selects the `_NO_ADMINS` variants, which tell the
 * learner to contact their administrator instead of naming one.
 */
export function userMessage(reason: ReasonCode, hasAdmins: boolean): string | null {
  switch (reason) {
    case REASON.POLICY_EXPIRED:
    case REASON.NOT_ENOUGH_VALUE_IN_SUBSIDY:
    case REASON.POLICY_SPEND_LIMIT_REACHED:
      return hasAdmins ? NO_FUNDS : `${NO_FUNDS} Contact your administrator to request more.`;
    case REASON.SUBSIDY_EXPIRED:
      return hasAdmins ? EXPIRED_FUNDS : `${EXPIRED_FUNDS} Contact your administrator for help.`;
    case REASON.CONTENT_NOT_IN_CATALOG:
      return `${CANT} this course is no longer available in your organization's catalog.`;
    case REASON.BEYOND_ENROLLMENT_DEADLINE:
      return `${CANT} the enrollment deadline for this course has passed.`;
    case REASON.LEARNER_NOT_IN_ENTERPRISE:
      return `${CANT} your account is no longer associated with the organization.`;
    case REASON.LEARNER_MAX_SPEND_REACHED:
    case REASON.LEARNER_MAX_ENROLLMENTS_REACHED:
      return LIMITS;
    case REASON.LEARNER_NOT_ASSIGNED_CONTENT:
    case REASON.LEARNER_ASSIGNMENT_FAILED:
      return NOT_ASSIGNED;
    case REASON.LEARNER_ASSIGNMENT_CANCELLED:
      // (sic) upstream's text, kept byte for byte.
      return `${CANT} right now because your administrator canceled your course assignment.`;
    default:
      return null;
  }
}

export interface EnterpriseAdministrator {
  email: string;
  lms_user_id: number | null;
}

export interface ReasonObject {
  reason: ReasonCode;
  user_message: string | null;
  metadata: { enterprise_administrators: EnterpriseAdministrator[] };
  policy_uuids: string[];
}

/**
 * Upstream's `reasons` list: one entry per distinct reason, in the order policies were tried,
 * naming every policy that gave it. The first entry is the `display_reason`.
 */
export function reasonObjects(
  verdicts: ReadonlyArray<{ policyUuid: string; reason: ReasonCode }>,
  admins: EnterpriseAdministrator[],
): ReasonObject[] {
  const buckets = new Map<ReasonCode, ReasonObject>();
  for (const v of verdicts) {
    let bucket = buckets.get(v.reason);
    if (!bucket) {
      bucket = {
        reason: v.reason,
        user_message: userMessage(v.reason, admins.length > 0),
        metadata: { enterprise_administrators: admins },
        policy_uuids: [],
      };
      buckets.set(v.reason, bucket);
    }
    bucket.policy_uuids.push(v.policyUuid);
  }
  return [...buckets.values()];
}
