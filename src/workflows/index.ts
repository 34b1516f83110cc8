// Every workflow the worker runs. Workflow code is deterministic coordination only: no I/O,
// no clock, no randomness but Temporal's; activities are imported as types.

export { bulkLicenseEnrollment } from './bulk-license-enrollment';
export { checkStack } from './check-stack';
export { followLedgerReversals } from './follow-ledger-reversals';
export { provisionNewCustomer } from './provision-new-customer';
export { redeem } from './redeem';
