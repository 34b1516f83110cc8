import { sql } from 'kysely';
import { z } from 'zod';
import { intFilter, NO_MATCH, queryText } from '../../../lib/drf/fields';
import type { ZodApp } from '../../../lib/fastify/app';
import { badRequest } from '../../../lib/http-errors';
import { isUniqueViolation } from '../../../lib/pg-errors';
import { requireOperator } from '../../common/auth';
import type { ServiceContext } from '../../common/service';
import { activatePendingMemberships } from '../group-store';
import { fulfillPendingLearners } from '../pending-learner-store';
import type { LmsDB, UserRow } from '../schema';
import { lockEmails, promotePendingAdmins } from '../store';

const accountSchema = z.object({
  id: z.number().int(),
  username: z.string(),
  email: z.string(),
  date_joined: z.string(),
});

const toAccount = (u: UserRow) => ({
  id: u.id,
  username: u.username,
  email: u.email,
  date_joined: new Date(u.date_joined).toISOString(),
});

/**
 * User accounts (edx-platform `/api/user/v1/accounts`). Registration here is an operator call
 * (the real LMS registers people through its own pages); it is get-or-create by email so tests
 * and seed data can run it repeatedly. A new account takes up the pending admin invitations,
 * pending group memberships and pending enterprise learners (with their pending enrollments) for
 * its email (upstream does this in post_save handlers when the invited person registers).
 */
export function accountRoutes(app: ZodApp, { db }: ServiceContext<LmsDB>) {
  const byEmail = (email: string) =>
    db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()));

  app.get(
    '/api/user/v1/accounts',
    {
      onRequest: requireOperator,
      schema: {
        querystring: z.object({
          email: queryText().pipe(z.string().min(1)).optional(),
          username: queryText().pipe(z.string().min(1)).optional(),
          lms_user_id: intFilter('integer', { min: 1 }, { invalid: 'Enter a whole number.' }),
        }),
        response: { 200: z.array(accountSchema) },
      },
    },
    async (req) => {
      let q = db.selectFrom('users').selectAll().orderBy('id').limit(100);
      const { email, username, lms_user_id } = req.query;
      if (email) q = q.where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()));
      if (username) q = q.where('username', '=', username);
      // edx-platform's accounts API also takes `lms_user_id` (enterprise-subsidy reads learner emails so).
      if (lms_user_id === NO_MATCH) q = q.where(sql<boolean>`false`);
      else if (lms_user_id !== undefined) q = q.where('id', '=', lms_user_id);
      return (await q.execute()).map(toAccount);
    },
  );

  app.post(
    '/api/user/v1/accounts',
    {
      onRequest: requireOperator,
      schema: {
        body: z.object({
          email: z.email(),
          username: z
            .string()
            .regex(/^[A-Za-z0-9_.@+-]{2,150}$/, 'Usernames may contain letters, digits and _.@+- only.')
            .optional(),
        }),
        response: { 200: accountSchema, 201: accountSchema },
      },
    },
    async (req, reply) => {
      const email = req.body.email.trim();
      const existing = await byEmail(email).executeTakeFirst();
      if (existing) return reply.code(200).send(toAccount(existing));
      try {
        // One transaction: the account never exists without its promoted invitations, group
        // memberships and enrollments, nor the reverse. The email lock keeps a concurrent group
        // assignment or bulk enrollment from adding a pending row this registration would not see.
        const created = await db.transaction().execute(async (trx) => {
          await lockEmails(trx, [email]);
          const user = await trx
            .insertInto('users')
            .values({ email, username: req.body.username ?? email.toLowerCase() })
            .returningAll()
            .executeTakeFirstOrThrow();
          await promotePendingAdmins(trx, user);
          await activatePendingMemberships(trx, user);
          await fulfillPendingLearners(trx, user);
          return user;
        });
        return reply.code(201).send(toAccount(created));
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // A concurrent registration of the same email won: answer with its row.
        const winner = await byEmail(email).executeTakeFirst();
        if (winner) return reply.code(200).send(toAccount(winner));
        throw badRequest({ username: ['A user with that username already exists.'] });
      }
    },
  );
}
