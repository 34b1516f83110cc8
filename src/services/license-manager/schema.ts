import type { Generated } from 'kysely';

/** Tables of the license_manager schema. */
export interface LicenseManagerDB {
  plan_types: {
    id: number;
    label: string;
    description: string;
    is_paid_subscription: boolean;
    ns_id_required: boolean;
    sf_id_required: boolean;
    internal_use_only: boolean;
  };
  products: {
    id: number;
    name: string;
    description: string;
    salesforce_product_id: string | null;
    netsuite_id: number | null;
    plan_type_id: number;
    created: Generated<Date>;
  };
}
