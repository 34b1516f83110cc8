import type { Generated, Selectable } from 'kysely';

/** Tables of the lms schema (edx-platform accounts + edx-enterprise records). */
export interface LmsDB {
  users: {
    /** The lms_user_id other services refer to. */
    id: Generated<number>;
    username: string;
    email: string;
    date_joined: Generated<Date>;
  };
}
export type UserRow = Selectable<LmsDB['users']>;
