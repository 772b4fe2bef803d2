import type { z } from 'zod';
import { ApiError } from './api-error.js';

/** Parses a request body with its schema; a mismatch is 400 `invalid_body` naming the first wrong field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : 'body';
  throw ApiError.badRequest('invalid_body', `${where}: ${issue.message}`);
}
