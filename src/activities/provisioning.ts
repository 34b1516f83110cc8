import { ApplicationFailure } from '@temporalio/common';
import { type ProvisioningRequest, provisioningRequestSchema } from '../access/provisioning/request';
import { matchPlan } from '../access/provisioning/rules';
import type { ServiceClients } from '../clients';
import type { CreatePlanInput, LmAgreement, LmPlan, LmRenewal } from '../clients/license-manager';
import type { LmsCatalog } from '../clients/lms';
import { describeIssues, issuesToFieldErrors } from '../lib/validation';
import { FAILURE } from '../workflows/retry-policies';
import { callService } from './failures';

/**
 * One activity per record of a new customer (spec provisioning §4), each a get-or-create by its
 * business key, so a retried attempt, a replayed workflow or a repeated request finds what an
 * earlier one made instead of making it twice. Races with a concurrent creator end in a
 * uniqueness conflict downstream, which is answered by looking the record up again.
 */
export interface CustomerOutput {
  uuid: string;
  name: string;
  slug: string;
  country: string;
}

export interface AdminsSnapshot {
  /** Emails of the customer's current admins (real users). */
  admins: string[];
  /** Emails invited as pending admins. */
  pending: string[];
}

export type AdminOutcome = 'admin-created' | 'admin-existing' | 'pending-created' | 'pending-existing';

export interface CatalogOutput {
  uuid: string;
  enterprise_customer_uuid: string;
  title: string;
  catalog_query_id: number;
}

export interface ProvisioningActivityDeps {
  clients: ServiceClients;
  /** `site.domain` for new customers (upstream `PROVISIONING_DEFAULTS.customer.site_domain`). */
  siteDomain: string;
}

const conflict = (message: string) =>
  ApplicationFailure.create({ type: FAILURE.provisioningConflict, message, nonRetryable: true });

export function createProvisioningActivities({ clients, siteDomain }: ProvisioningActivityDeps) {
  const lms = clients.lmsApi;
  const lm = clients.licenseManagerApi;

  return {
    /**
     * The workflow's own input check, as a local activity: the same zod schema as the HTTP edge,
     * so a CLI start with bad input fails at once, non-retryable, naming each field.
     */
    async validateProvisioningRequest(input: unknown): Promise<ProvisioningRequest> {
      const parsed = provisioningRequestSchema.safeParse(input);
      if (parsed.success) return parsed.data;
      throw ApplicationFailure.create({
        type: FAILURE.invalidProvisioningRequest,
        message: `Invalid provisioning request: ${describeIssues(parsed.error.issues)}`,
        details: [issuesToFieldErrors(parsed.error.issues)],
        nonRetryable: true,
      });
    },

    async getOrCreateCustomer(input: { name: string; slug: string; country: string }): Promise<CustomerOutput> {
      return callService(async () => {
        const found = await lms.findCustomerBySlug(input.slug);
        const customer = found ?? (await lms.createCustomer({ ...input, siteDomain }));
        if ('conflict' in customer) {
          // Another request created it between our lookup and our create.
          const winner = await lms.findCustomerBySlug(input.slug);
          if (!winner) throw conflict(`the slug "${input.slug}" belongs to an inactive enterprise customer`);
          return pickCustomer(winner);
        }
        return pickCustomer(customer);
      });
    },

    async listCustomerAdmins(customerUuid: string): Promise<AdminsSnapshot> {
      return callService(async () => {
        const [admins, pending] = await Promise.all([
          lms.listAdmins(customerUuid),
          lms.listPendingAdmins(customerUuid),
        ]);
        return { admins: admins.map((a) => a.user.email), pending: pending.map((p) => p.user_email) };
      });
    },

    /**
     * Makes `email` an admin of the customer: a real admin when an LMS user has the email, else a
     * pending admin (who becomes real on registration). Upstream dropped the email silently when
     * either call failed in an unexpected way; here a failure fails the step, with the LMS's words.
     */
    async ensureAdmin(input: { customerUuid: string; email: string }): Promise<AdminOutcome> {
      return callService(async () => {
        const made = await lms.createAdminByEmail(input.customerUuid, input.email);
        if (made === 'created') return 'admin-created';
        if (made === 'existing') return 'admin-existing';
        const pending = await lms.createPendingAdmin(input.customerUuid, input.email);
        return pending === 'created' ? 'pending-created' : 'pending-existing';
      });
    },

    async getOrCreateCatalog(input: {
      customerUuid: string;
      title: string;
      catalogQueryId: number;
    }): Promise<CatalogOutput> {
      return callService(async () => {
        // Always the POST: the lms answers it as a get-or-create (200 existing / 201 new) and
        // pushes the catalog to enterprise-catalog each time, so a retry after a failed push
        // (lms 503) completes the sync instead of finding the lms row and stopping there.
        const catalog = await lms.createCatalog(input.customerUuid, input.title, input.catalogQueryId);
        return pickCatalog(catalog, input.catalogQueryId);
      });
    },

    async getOrCreateAgreement(input: {
      customerUuid: string;
      slug: string;
      defaultCatalogUuid: string | null;
    }): Promise<LmAgreement> {
      return callService(async () => {
        const found = await lm.findAgreement(input.customerUuid);
        if (found) return found;
        // The default catalog is sent on create only; an existing agreement keeps its own (upstream).
        const created = await lm.createAgreement({
          enterprise_customer_uuid: input.customerUuid,
          enterprise_customer_slug: input.slug,
          default_enterprise_catalog_uuid: input.defaultCatalogUuid,
        });
        if (!('conflict' in created)) return created;
        const winner = await lm.findAgreement(input.customerUuid);
        if (!winner) throw conflict(`license-manager refused the agreement for ${input.customerUuid} but lists none`);
        return winner;
      });
    },

    /** The plan of the agreement that `plan` names (see `matchPlan`), created when there is none. */
    async getOrCreatePlan(plan: CreatePlanInput): Promise<LmPlan> {
      return callService(async () => {
        const wanted = { ...plan, product: plan.product };
        const existing = matchPlan(await lm.listPlans(plan.customer_agreement), wanted);
        if (existing) return existing;
        const created = await lm.createPlan(plan);
        if (!('titleTaken' in created)) return created;
        const winner = matchPlan(await lm.listPlans(plan.customer_agreement), wanted);
        if (winner) return winner;
        throw conflict(
          `the agreement ${plan.customer_agreement} already has a plan titled "${plan.title}" with another ` +
            'Salesforce line item or product',
        );
      });
    },

    async getOrCreateRenewal(input: {
      prior_subscription_plan: string;
      renewed_subscription_plan: string;
      number_of_licenses: number;
      effective_date: string;
      renewed_expiration_date: string;
    }): Promise<LmRenewal> {
      return callService(() =>
        lm.createRenewal({ ...input, salesforce_opportunity_id: null, exempt_from_batch_processing: true }),
      );
    },
  };
}

const pickCustomer = (c: CustomerOutput): CustomerOutput => ({
  uuid: c.uuid,
  name: c.name,
  slug: c.slug,
  country: c.country,
});

const pickCatalog = (c: LmsCatalog, fallbackQuery: number): CatalogOutput => ({
  uuid: c.uuid,
  enterprise_customer_uuid: c.enterprise_customer,
  title: c.title,
  catalog_query_id: c.enterprise_catalog_query ?? fallbackQuery,
});
