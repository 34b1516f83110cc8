/** The member list of a policy's group: lms memberships with their enrollment counts in the policy. */
import type { z } from 'zod';
import type { LmsGroupMember } from '../../clients/lms';
import type { groupMembersQuery, MEMBER_SORTS } from './schemas';

export type GroupMemberQuery = z.output<typeof groupMembersQuery>;
type MemberRow = LmsGroupMember & { enrollment_count: number };

const MEMBER_ORDER: Record<(typeof MEMBER_SORTS)[number], (a: MemberRow, b: MemberRow) => number> = {
  member_details: (a, b) => a.member_details.user_email.localeCompare(b.member_details.user_email),
  status: (a, b) => a.status.localeCompare(b.status),
  recent_action: (a, b) => a.created.localeCompare(b.created),
  // Most enrollments first, as upstream.
  enrollment_count: (a, b) => b.enrollment_count - a.enrollment_count,
};

/** Members with `enrollment_count`, filtered by `user_query` (email substring), sorted as asked. Pure. */
export function memberRows(members: LmsGroupMember[], counts: Map<number, number>, q: GroupMemberQuery): MemberRow[] {
  const needle = q.user_query?.toLowerCase();
  const rows = members
    .map((m) => ({ ...m, enrollment_count: (m.lms_user_id !== null && counts.get(m.lms_user_id)) || 0 }))
    .filter((m) => !needle || m.member_details.user_email.toLowerCase().includes(needle));
  if (q.sort_by) rows.sort(MEMBER_ORDER[q.sort_by]);
  if (q.is_reversed) rows.reverse();
  return rows;
}
