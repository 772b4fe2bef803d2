import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { type LogContext, withLogContext } from './log-context.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** An incoming X-Request-Id is kept when it looks like an id (a proxy's, a station's), else a new one is made. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Fastify's `genReqId`: the request id of every request (ids unique across processes, unlike Fastify's counter). */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Gives every request its log context: the request id (answered as X-Request-Id) and, on /api/v1/scans/:id
 * routes, the scan. Everything logged while handling the request carries them, and jobs it enqueues take the
 * request id with them. Each finished request is one `debug` line (method, route, status, time).
 */
export function registerRequestContext(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const logger = new Logger('HttpRequest');
  const contexts = new WeakMap<FastifyRequest, LogContext>();
  const contextOf = (request: FastifyRequest): LogContext => {
    let context = contexts.get(request);
    if (!context) {
      context = { requestId: request.id };
      contexts.set(request, context);
    }
    return context;
  };

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    withLogContext(contextOf(request), done);
  });
  // Body parsing runs outside the request's async context: enter it again before the handler.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const context = contextOf(request);
    const scanId = (request.params as Record<string, unknown> | undefined)?.id;
    if (request.routeOptions.url?.startsWith('/api/v1/scans/:id') && typeof scanId === 'string' && UUID.test(scanId)) context.scanId = scanId;
    withLogContext(context, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    withLogContext(contextOf(request), () =>
      logger.debug(`${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} ${reply.statusCode} ${Math.round(reply.elapsedTime)} ms`),
    );
    done();
  });
}
