import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { ApiError } from './api-error.js';
import { isUuid } from './ids.js';

/** Path parameters that name a record: `id` and every `<thing>Id`. */
const ID_PARAMETER = /^(id|[a-z][A-Za-z]*Id)$/;

/** Records numbered in sequence (results are pulled in id order); every other record has a uuid. */
const SEQUENCE_IDS = new Set(['resultId']);
const SEQUENCE_NUMBER = /^[1-9]\d{0,15}$/;

function wellFormed(name: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  return SEQUENCE_IDS.has(name) ? SEQUENCE_NUMBER.test(value) : isUuid(value);
}

/** The first path parameter that names a record by something that cannot be its id, or undefined. */
export function malformedIdParam(params: Record<string, unknown>): { name: string; value: string } | undefined {
  for (const [name, value] of Object.entries(params)) {
    if (ID_PARAMETER.test(name) && !wellFormed(name, value)) return { name, value: String(value) };
  }
  return undefined;
}

/**
 * One rule for every route: a path parameter that names a record by id must be a uuid (a result's id: a sequence
 * number), or the record simply does
 * not exist (404 `not_found`). Runs after authentication (a stranger still gets 401) and before the body is parsed
 * or anything is looked up, so a malformed id never reaches the database, which would refuse it with an error.
 */
@Injectable()
export class IdParamsInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const params = (context.switchToHttp().getRequest<FastifyRequest>().params ?? {}) as Record<string, unknown>;
    const malformed = malformedIdParam(params);
    if (malformed) {
      throw ApiError.notFound('not_found', `nothing has the ${malformed.name} ${JSON.stringify(malformed.value.slice(0, 80))}: ids are UUIDs (result ids: whole numbers)`);
    }
    return next.handle();
  }
}
