import { type Kysely, sql } from 'kysely';
import type { AccessDB } from './schema';

export interface StackInfo {
  createdAt: Date;
  startCount: number;
}

/** Records one start of the stack on this database and returns the totals. */
export async function recordStart(db: Kysely<AccessDB>): Promise<StackInfo> {
  const row = await db
    .insertInto('stack_info')
    .values({ id: 1, start_count: 1, last_started_at: new Date() })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({ start_count: sql`stack_info.start_count + 1`, last_started_at: new Date() }),
    )
    .returning(['created_at', 'start_count'])
    .executeTakeFirstOrThrow();
  return { createdAt: new Date(row.created_at), startCount: row.start_count };
}
