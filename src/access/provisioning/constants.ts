/**
 * Provisioning settings that both the request schema and the workflow read. Kept free of zod so
 * that workflow code, which Temporal evaluates afresh for every workflow run, stays light.
 */

/** License-manager products (seeded): 1 Standard Paid, 2 Trial, 3 Self-service Paid, 4 Self-service Trial. */
export const PRODUCT_IDS = [1, 2, 3, 4] as const;
/** Catalog queries the LMS knows (`PROVISIONING_DEFAULTS.catalog.all_catalog_query_choices`). */
export const CATALOG_QUERY_IDS = [1, 2] as const;
/** Upstream `PRODUCT_ID_TO_CATALOG_QUERY_ID_MAPPING` default: the catalog query when the request names none. */
export const PRODUCT_ID_TO_CATALOG_QUERY_ID: Readonly<Record<number, number>> = { 1: 1, 2: 2 };
/** Upstream `PROVISIONING_PAID_SUBSCRIPTION_PRODUCT_ID`, used by the legacy one-plan shim. */
export const PAID_SUBSCRIPTION_PRODUCT_ID = 1;
