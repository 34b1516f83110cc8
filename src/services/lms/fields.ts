import { z } from 'zod';
import { BLANK, maxLength, unlessMissing } from '../../lib/drf/fields';

/**
 * lms's own variants of DRF fields; the generic ones (and the messages) are in ../common/fields.
 * These differ from common's uuidField and textField on purpose: text is trimmed before its
 * length is checked (as DRF's CharField does), and uuids are taken in the hyphenated form only, as given.
 */

/** A non-blank string, trimmed as DRF's CharField does. */
export const text = (max = 255) => z.string().trim().min(1, BLANK).max(max, maxLength(max));

/** A uuid in a request body (DRF UUIDField / primary key). */
export const uuidField = () => z.guid({ error: unlessMissing('Must be a valid UUID.') });

/** A uuid query filter (django-filter's wording); absent means "no filter". */
export const uuidFilter = () => z.guid({ error: unlessMissing('Enter a valid UUID.') }).optional();

/** A uuid in a URL path: anything else matches no URL upstream, so routes answer 404 (not 400, nor a database error). */
export const isPathUuid = (value: string) =>
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);

const INVALID_COURSE_RUN_KEY = 'Invalid course run key.';
/** opaque-keys' CourseLocator: `course-v1:org+course+run`, each part of `[\w\-~.:]` (Unicode word characters). */
const COURSE_RUN_KEY = /^course-v1:[\p{L}\p{N}_\-~.:]+\+[\p{L}\p{N}_\-~.:]+\+[\p{L}\p{N}_\-~.:]+$/u;

/**
 * A course run key. The lms keeps no course data, so its syntax is all that can be checked here;
 * a malformed key is the caller's 400 (upstream fails later, in the LMS enrollment API).
 */
export const courseRunKeyField = () =>
  z
    .string({ error: unlessMissing(INVALID_COURSE_RUN_KEY) })
    .refine((k) => COURSE_RUN_KEY.test(k), { error: INVALID_COURSE_RUN_KEY });
