/**
 * How a job's (email × course) pairs are cut into chunks, one lms call each: upstream's loop
 * (licenses-and-enrollment §6.3) walks the course keys in chunks and, inside, the emails in
 * chunks, 25 × 25 by default. Pure and free of Node APIs and zod: the workflow imports it.
 *
 * A chunk's index ranges are a function of the job's counts and chunk sizes only, which the job
 * record fixes when it is made, so a chunk names the same pairs in every attempt and every run.
 */
import type { ChunkRange } from './contract';

/** The lms takes at most this many items per call (its MAX_ITEMS). */
export const MAX_PAIRS_PER_CHUNK = 1000;
const DEFAULT_EMAILS_PER_CHUNK = 25;
const DEFAULT_COURSES_PER_CHUNK = 25;

export interface ChunkShape {
  email_count: number;
  course_count: number;
  emails_per_chunk: number;
  courses_per_chunk: number;
}

/**
 * The chunk sizes to use: whole numbers ≥ 1, courses per chunk at most MAX_PAIRS_PER_CHUNK, and
 * emails per chunk lowered, if needed, so that one chunk holds at most MAX_PAIRS_PER_CHUNK pairs.
 */
export function chunkSizes(
  emailsPerChunk = DEFAULT_EMAILS_PER_CHUNK,
  coursesPerChunk = DEFAULT_COURSES_PER_CHUNK,
): { emails_per_chunk: number; courses_per_chunk: number } {
  const whole = (n: number, fallback: number) => (Number.isFinite(n) && n >= 1 ? Math.floor(n) : fallback);
  const courses = Math.min(whole(coursesPerChunk, DEFAULT_COURSES_PER_CHUNK), MAX_PAIRS_PER_CHUNK);
  const emails = Math.min(whole(emailsPerChunk, DEFAULT_EMAILS_PER_CHUNK), Math.floor(MAX_PAIRS_PER_CHUNK / courses));
  return { emails_per_chunk: emails, courses_per_chunk: courses };
}

const ceilDiv = (a: number, b: number) => (a <= 0 ? 0 : Math.ceil(a / b));

export function chunkCount(s: ChunkShape): number {
  return ceilDiv(s.email_count, s.emails_per_chunk) * ceilDiv(s.course_count, s.courses_per_chunk);
}

/** Chunk `index` (0-based): course chunks outside, email chunks inside, as upstream loops. */
export function chunkRange(s: ChunkShape, index: number): ChunkRange {
  const emailChunks = ceilDiv(s.email_count, s.emails_per_chunk);
  if (!Number.isInteger(index) || index < 0 || index >= chunkCount(s)) {
    throw new RangeError(`chunk ${index} is outside 0..${chunkCount(s) - 1}`);
  }
  const courseChunk = Math.floor(index / emailChunks);
  const emailChunk = index % emailChunks;
  return {
    index,
    email_from: emailChunk * s.emails_per_chunk,
    email_to: Math.min((emailChunk + 1) * s.emails_per_chunk, s.email_count),
    course_from: courseChunk * s.courses_per_chunk,
    course_to: Math.min((courseChunk + 1) * s.courses_per_chunk, s.course_count),
  };
}

export const pairsIn = (r: ChunkRange) => (r.email_to - r.email_from) * (r.course_to - r.course_from);
