// The benchmark worker's workflows: the product's, plus the baselines (never registered by the
// product's worker).
export * from '../src/workflows';
export { baselineLocalSteps, baselineSteps } from './baseline-workflow';
