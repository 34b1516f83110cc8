import type { Generated } from 'kysely';

/** Tables of the orchestrator's own schema (`access`): only the api and worker touch them. */
export interface AccessDB {
  stack_info: {
    id: number;
    created_at: Generated<Date>;
    start_count: number;
    last_started_at: Date;
  };
}

export const ACCESS_SCHEMA = 'access';
