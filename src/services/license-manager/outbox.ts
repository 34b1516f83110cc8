import { sql } from 'kysely';
import { iso } from './representation';
import type { EmailKind, EmailOutboxRow } from './schema';
import type { LmDb, PlanView } from './store';

/**
 * The emails upstream license-manager sends (Braze campaigns to learners, a notice to ECS), as
 * rows of `email_outbox` instead of calls to a mail provider. Each row is inserted in the
 * transaction of the change it announces: an assignment email exists if and only if the
 * assignment committed, and a retried request never sends a second one for the same change.
 * Operators read them with `GET /api/v1/email-outbox/` (routes/email-outbox.ts).
 */

/**
 * Upstream ENTERPRISE_LEARNER_PORTAL_BASE_URL (devstack port). A deployment would configure it;
 * config.ts has no variable for it yet, so links point at a local learner portal.
 */
export const LEARNER_PORTAL_BASE_URL = 'http://localhost:8734';

/** Upstream CUSTOMER_SUCCESS_EMAIL_ADDRESS: who is told that a plan ran out of revocations. */
export const CUSTOMER_SUCCESS_EMAIL = 'customersuccess@example.com';

/** Upstream `get_license_activation_link`; null for a license without a key. */
export function activationLink(enterpriseSlug: string | null, activationKey: string | null): string | null {
  if (!activationKey) return null;
  return `${LEARNER_PORTAL_BASE_URL}/${enterpriseSlug ?? ''}/licenses/${activationKey}/activate`;
}

const learnerPortalLink = (slug: string | null) => `${LEARNER_PORTAL_BASE_URL}/${slug ?? ''}`;

/** An outbox row before it is written. */
export type OutboxEmail = Omit<EmailOutboxRow, 'id' | 'created' | 'sent_at' | 'payload'> & {
  payload: Record<string, unknown>;
};

/** Admins' custom text around the assignment and reminder emails (upstream `get_custom_text`). */
export interface CustomText {
  greeting: string;
  closing: string;
}

interface LicenseFacts {
  uuid: string;
  user_email: string | null;
  activation_key: string | null;
}

/** What every learner email says about the customer and plan (upstream's Braze trigger properties). */
function planFacts(plan: PlanView) {
  return {
    enterprise_customer_uuid: plan.enterprise_customer_uuid,
    enterprise_customer_slug: plan.enterprise_customer_slug,
    enterprise_customer_name: plan.enterprise_customer_name,
    subscription_plan_uuid: plan.uuid,
    subscription_plan_title: plan.title,
    expiration_date: iso(plan.expiration_date),
  };
}

function learnerEmail(
  kind: EmailKind,
  subject: string,
  plan: PlanView,
  license: LicenseFacts,
  extra: Record<string, unknown>,
): OutboxEmail {
  return {
    kind,
    recipient: license.user_email ?? '',
    subject,
    enterprise_customer_uuid: plan.enterprise_customer_uuid,
    subscription_plan: plan.uuid,
    license: license.uuid,
    payload: { ...planFacts(plan), license_uuid: license.uuid, ...extra },
  };
}

const customerName = (plan: PlanView) =>
  plan.enterprise_customer_name ?? plan.enterprise_customer_slug ?? 'your organization';

/** `send_assignment_email_task`: the activation link, with the admin's greeting and closing. */
export const assignmentEmail = (plan: PlanView, license: LicenseFacts, text: CustomText) =>
  learnerEmail('license_assignment', `${customerName(plan)} has sent you a subscription license`, plan, license, {
    activation_link: activationLink(plan.enterprise_customer_slug, license.activation_key),
    ...text,
  });

/** `send_reminder_email_task`: the same link again, for a license still pending activation. */
export const reminderEmail = (plan: PlanView, license: LicenseFacts, text: CustomText) =>
  learnerEmail(
    'license_reminder',
    `Reminder: activate your ${customerName(plan)} subscription license`,
    plan,
    license,
    {
      activation_link: activationLink(plan.enterprise_customer_slug, license.activation_key),
      ...text,
    },
  );

/** `send_post_activation_email_task`: where to start learning. */
export const postActivationEmail = (plan: PlanView, license: LicenseFacts) =>
  learnerEmail('post_activation', `Your ${customerName(plan)} subscription license is active`, plan, license, {
    learner_portal_link: learnerPortalLink(plan.enterprise_customer_slug),
  });

/** `send_auto_applied_license_email_task`. */
export const autoAppliedEmail = (plan: PlanView, license: LicenseFacts) =>
  learnerEmail(
    'auto_applied_license',
    `You have been given a ${customerName(plan)} subscription license`,
    plan,
    license,
    {
      learner_portal_link: learnerPortalLink(plan.enterprise_customer_slug),
    },
  );

/** `send_revocation_cap_notification_email_task`: to ECS, once the plan has no revocations left. */
export const revocationCapEmail = (plan: PlanView, applied: number): OutboxEmail => ({
  kind: 'revocation_cap_reached',
  recipient: CUSTOMER_SUCCESS_EMAIL,
  subject: `Revocation cap reached for ${customerName(plan)}: ${plan.title}`,
  enterprise_customer_uuid: plan.enterprise_customer_uuid,
  subscription_plan: plan.uuid,
  license: null,
  payload: {
    ...planFacts(plan),
    num_revocations_applied: applied,
    revoke_max_percentage: plan.revoke_max_percentage,
  },
});

/** Rows per INSERT: far below Postgres's 65,535 parameters per statement (7 per row). */
const BATCH = 1000;

/** Records emails; pass the transaction of the change they announce. */
export async function enqueueEmails(db: LmDb, emails: readonly OutboxEmail[]): Promise<void> {
  for (let i = 0; i < emails.length; i += BATCH) {
    await db
      .insertInto('email_outbox')
      .values(emails.slice(i, i + BATCH).map((e) => ({ ...e, payload: sql`${JSON.stringify(e.payload)}::jsonb` })))
      .execute();
  }
}

export function outboxRepresentation(row: EmailOutboxRow) {
  return {
    id: Number(row.id),
    kind: row.kind,
    recipient: row.recipient,
    subject: row.subject,
    enterprise_customer_uuid: row.enterprise_customer_uuid,
    subscription_plan_uuid: row.subscription_plan,
    license_uuid: row.license,
    payload: row.payload,
    created: iso(row.created),
    sent_at: row.sent_at === null ? null : iso(row.sent_at),
  };
}
