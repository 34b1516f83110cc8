import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { type Json, request } from '../helpers/http';
import type { TestStack } from '../helpers/stack';

/**
 * Shared set-up of the conformance suites: cases replayed from the upstream projects' own tests,
 * each named `<upstream file>::<class>::<test>[row]`, run over HTTP against the real services.
 * Upstream's fixtures (factories writing rows directly) are made here through the services' own
 * endpoints, so a case also proves the path that makes its data.
 */

export const DAY = 86_400_000;
export const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();
export const hex = (n = 4) => randomBytes(n).toString('hex');
export const uuid = () => randomUUID();

/** upstream's `APITestMixin.set_up_*`: a token with one system-wide role for the given contexts. */
export function roleTokens(stack: TestStack) {
  const make = (role: string, contexts: string[], userId?: number, email?: string) =>
    stack.token({ roles: contexts.map((c) => `${role}:${c}`), userId, email });
  return {
    operator: (contexts = ['*'], userId?: number) => make('enterprise_openedx_operator', contexts, userId),
    admin: (contexts: string[], userId?: number) => make('enterprise_admin', contexts, userId),
    learner: (contexts: string[], userId?: number, email?: string) =>
      make('enterprise_learner', contexts, userId, email),
    roles: (roles: string[], userId?: number, email?: string) => stack.token({ roles, userId, email }),
  };
}

export interface CatalogItem {
  content_key: string;
  content_type: 'course' | 'courserun';
  parent_content_key: string | null;
  title: string;
  content_price_cents: number | null;
}

/** Imports content into the real catalog service (operator), each item active and enrollable for a year. */
export async function importContent(stack: TestStack, operator: string, items: CatalogItem[]) {
  const future = daysFromNow(365);
  const res = await request(
    'POST',
    `${stack.urls.catalog}/api/v1/content-items/import/`,
    {
      items: items.map((i) => ({
        org: 'edX',
        enroll_by_date: future,
        start_date: future,
        end_date: future,
        is_active: true,
        ...i,
      })),
    },
    operator,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** A course and one run of it at `price` cents. */
export const courseWithRun = (course: string, run: string, price: number, title = `Title of ${run}`): CatalogItem[] => [
  { content_key: course, content_type: 'course', parent_content_key: null, title, content_price_cents: price },
  { content_key: run, content_type: 'courserun', parent_content_key: course, title, content_price_cents: price },
];

/** Registers an lms account (operator route); returns its id and email. */
export async function lmsUser(stack: TestStack, operator: string, email = `learner-${hex()}@example.com`) {
  const res = await request<{ id: number; email: string }>(
    'POST',
    `${stack.urls.lms}/api/user/v1/accounts/`,
    { email },
    operator,
  );
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  return res.body;
}

export type { Json };
