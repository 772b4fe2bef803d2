import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';

/**
 * GET /metrics needs `Authorization: Bearer <NIIX_METRICS_TOKEN>`. Without NIIX_METRICS_TOKEN the route is off and
 * answers exactly as an unknown path does (404 route_not_found); a missing or wrong token is 401.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const expected = this.config.metricsToken;
    if (!expected) throw ApiError.notFound('route_not_found', `Cannot ${request.method} ${request.url}`);
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!given || !sameSecret(given, expected)) throw ApiError.unauthorized('send the metrics token (NIIX_METRICS_TOKEN) as Authorization: Bearer <token>');
    return true;
  }
}

/** Compared as digests in constant time: neither the length nor a prefix of the token leaks. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
