/**
 * The code's boundaries, checked by `npm run lint` (dependency-cruiser). Paths are relative to the
 * folder the check runs in; test/unit/boundaries.test.ts runs it on fixtures with forbidden
 * imports to show that each rule can fail.
 *
 * - Each reference service (src/services/<name>) is a system of record of its own: the
 *   orchestrator reaches it over HTTP only, never through its code, and it never reaches into the
 *   orchestrator.
 * - src/lib is shared infrastructure: it knows no feature.
 * - Workflow code is replayed deterministically in Temporal's sandbox: it may import only other
 *   workflow-safe modules (pure rules and constants) and Temporal's workflow and common packages;
 *   activities, clients and services enter it as types only (erased at build time).
 */
const ORCHESTRATOR = '^src/(api|workflows|activities|access|clients)/|^src/(orchestrator|worker)\\.ts$';
const SERVICES = '^src/services/';

/** Modules workflow code may import for their values: no I/O, no clock, no Node APIs, no zod. */
const WORKFLOW_SAFE = [
  '^src/workflows/',
  '^src/lib/defaults\\.ts$',
  '^src/access/provisioning/(rules|response|constants|types)\\.ts$',
  '^src/access/bulk-enrollment/chunks\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'orchestrator-not-into-services',
      severity: 'error',
      comment:
        'The orchestrator reaches the reference services over HTTP only (src/clients), never through their code.',
      from: { path: ORCHESTRATOR },
      to: { path: SERVICES },
    },
    {
      name: 'services-not-into-orchestrator',
      severity: 'error',
      comment: 'A reference service stands alone: it never imports orchestrator code.',
      from: { path: SERVICES },
      to: { path: `${ORCHESTRATOR}|^src/main\\.ts$` },
    },
    {
      name: 'service-not-into-another-service',
      severity: 'error',
      comment: 'Each service is its own system of record; services reach each other over HTTP (ctx.peer).',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/', pathNot: ['^src/services/$1/', '^src/services/common/'] },
    },
    {
      name: 'lib-knows-no-feature',
      severity: 'error',
      comment: 'src/lib is shared infrastructure used by everything; it imports no feature code.',
      from: { path: '^src/lib/' },
      to: { path: '^src/(api|workflows|activities|access|clients|services)/|^src/(orchestrator|worker|main)\\.ts$' },
    },
    {
      name: 'workflow-code-is-workflow-safe',
      severity: 'error',
      comment:
        'Workflow code (and what it imports for values) may import only workflow-safe modules and ' +
        '@temporalio/workflow or @temporalio/common; anything else enters as `import type`.',
      from: { path: WORKFLOW_SAFE },
      to: {
        dependencyTypesNot: ['type-only'],
        pathNot: [...WORKFLOW_SAFE, '^node_modules/@temporalio/(workflow|common)/'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mts', '.js', '.mjs', '.json'] },
  },
};
