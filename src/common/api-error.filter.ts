import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isDatabaseFault } from '../database/database-fault.js';
import { isRedisUnavailable } from '../redis/redis-fault.js';
import { StorageUnavailableError } from '../storage/object-storage.js';

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** Fastify's own errors (body limits, multipart) mapped to niix codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'upload_too_large', message: 'the upload is larger than the configured limit' },
  FST_PARTS_LIMIT: { status: 413, code: 'too_many_parts', message: 'the upload has more parts than allowed' },
  FST_FILES_LIMIT: { status: 413, code: 'too_many_files', message: 'the upload has more files than allowed' },
  FST_FIELDS_LIMIT: { status: 413, code: 'too_many_fields', message: 'the upload has more fields than allowed' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'the request body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'the content type of the request is not accepted here' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_body', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_body', message: 'the body is not valid JSON' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'not_multipart', message: 'send the scan as multipart/form-data' },
};

/** The multipart parser's (busboy's) own errors: a body that is not well-formed multipart, whatever the route. */
const MALFORMED_MULTIPART = /^Multipart: Boundary not found$|unexpected end of multipart data$/i;

/** How long a client is asked to wait before retrying after a 503. */
const RETRY_AFTER_SECONDS = 30;

/** Codes for errors raised by the framework itself (no route, a body it cannot parse). */
const GENERIC_CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'route_not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

/** Renders every error as `{ error: { code, message } }` with the right status; unknown errors are 500 and logged. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = this.render(exception);
    if (reply.sent) return;
    if (status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  render(exception: unknown): { status: number; body: { error: { code: string; message: string } } } {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'error' in response) {
        const error = (response as { error: unknown }).error;
        if (typeof error === 'object' && error !== null && 'code' in error) {
          return { status: exception.getStatus(), body: response as { error: { code: string; message: string } } };
        }
      }
      const status = exception.getStatus();
      const code = GENERIC_CODES[status] ?? `http_${status}`;
      return { status, body: { error: { code, message: exception.message } } };
    }
    if (exception instanceof StorageUnavailableError) {
      this.logger.warn(exception.message);
      return { status: 503, body: { error: { code: 'storage_unavailable', message: 'the object storage is not available; nothing was stored: try again later' } } };
    }
    if (isRedisUnavailable(exception)) {
      this.logger.warn(`redis unavailable: ${(exception as Error).message}`);
      return { status: 503, body: { error: { code: 'queue_unavailable', message: 'the queues are not available right now (their Redis does not answer): try again later' } } };
    }
    if (isDatabaseFault(exception)) {
      this.logger.warn(`database unavailable: ${faultLine(exception)}`);
      return { status: 503, body: { error: { code: 'database_unavailable', message: 'the database is not available right now: try again later (the same request, with the same Idempotency-Key, is safe to repeat)' } } };
    }
    const fastify = exception as FastifyLikeError;
    const known = fastify?.code ? FASTIFY_CODES[fastify.code] : undefined;
    if (known) return { status: known.status, body: { error: { code: known.code, message: known.message } } };
    if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
      return {
        status: fastify.statusCode,
        body: { error: { code: 'bad_request', message: fastify.message ?? 'the request is not valid' } },
      };
    }
    if (exception instanceof Error && MALFORMED_MULTIPART.test(exception.message)) {
      return {
        status: 400,
        body: { error: { code: 'malformed_multipart', message: `the multipart body is malformed (${exception.message}): send complete parts between boundaries, as multipart/form-data` } },
      };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: 500, body: { error: { code: 'internal_error', message: 'an internal error occurred; it has been logged' } } };
  }
}

/** The error and its causes on one line, for the log (a failed query names the lost connection only in its cause). */
function faultLine(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const { message, code, cause } = current as { message?: unknown; code?: unknown; cause?: unknown };
    const text = typeof message === 'string' ? message.split('\n')[0] : String(current);
    parts.push(typeof code === 'string' && !text.includes(code) ? `${code} ${text}` : text);
    current = cause;
  }
  return parts.join(': ');
}
