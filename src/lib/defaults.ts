/**
 * The one default of every feature setting. `config.ts` builds its schema from these, and
 * workflow code falls back to them when a workflow is started without settings (from the
 * `temporal` CLI), so a default is written once. Pure constants: workflow code may import this.
 */
export const DEFAULTS = {
  provisioning: {
    /** How long POST /api/v1/provisioning waits for the workflow before answering 202. */
    waitSeconds: 20,
    /** How long one step retries transient downstream faults before the workflow fails. */
    retryWindowSeconds: 600,
    /** How long one attempt of a step may run before it counts as lost (a crashed worker). */
    attemptTimeoutSeconds: 30,
    /** `site.domain` of customers provisioning creates in the lms (upstream PROVISIONING_DEFAULTS). */
    siteDomain: 'example.com',
  },
  redemption: {
    /** How long POST .../redeem/ waits for the redemption workflow before answering 202. */
    waitSeconds: 30,
    retryWindowSeconds: 300,
    attemptTimeoutSeconds: 30,
    /** How long can-redeem reuses catalog answers and learner memberships; 0 disables. */
    cacheSeconds: 60,
  },
  bulkEnrollment: {
    emailsPerChunk: 25,
    coursesPerChunk: 25,
    concurrentChunks: 4,
    maxPairs: 100_000,
    retryWindowSeconds: 900,
    /** Chunks per workflow run before it continues as new (keeps each history small). */
    chunksPerRun: 500,
  },
} as const;

export interface ProvisioningSettings {
  waitSeconds: number;
  retryWindowSeconds: number;
  attemptTimeoutSeconds: number;
  siteDomain: string;
}

export interface RedemptionSettings {
  waitSeconds: number;
  retryWindowSeconds: number;
  attemptTimeoutSeconds: number;
  cacheSeconds: number;
}

export interface BulkEnrollmentSettings {
  emailsPerChunk: number;
  coursesPerChunk: number;
  concurrentChunks: number;
  maxPairs: number;
  retryWindowSeconds: number;
  chunksPerRun: number;
}

/** Every feature's settings, as `loadConfig` reads them from the environment. */
export interface FeatureSettings {
  provisioning: ProvisioningSettings;
  redemption: RedemptionSettings;
  bulkEnrollment: BulkEnrollmentSettings;
}
