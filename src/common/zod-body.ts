import type { z } from 'zod';
import { findUnstorableText, unstorableTextReason } from '../../libs/exchange-format/src/text.js';
import { ApiError } from './api-error.js';

/**
 * Parses a request body (or query) with its schema. First, one rule for all text of the API: a string (value or
 * key, at any depth) niix cannot store, a NUL character or a lone surrogate, is 422 `invalid_text` naming where
 * it is. Then the schema: a mismatch is 400 `invalid_body` naming the first wrong field. No body at all is `{}`.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const value = body === undefined ? {} : body;
  const unstorable = findUnstorableText(value);
  if (unstorable) {
    const where = unstorable.path.join('.');
    const subject = unstorable.inKey ? `a key of ${where || 'the body'}` : where || 'the body';
    throw new ApiError(422, 'invalid_text', `${subject} ${unstorableTextReason(unstorable)}`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : 'body';
  throw ApiError.badRequest('invalid_body', `${where}: ${issue.message}`);
}
