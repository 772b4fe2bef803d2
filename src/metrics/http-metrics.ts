import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MetricsService } from './metrics.service.js';

/** The route label of requests no route took (unknown paths): one series, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Times every HTTP request into niix_http_request_duration_seconds, labelled with the route pattern
 * (`/api/v1/scans/:id`, never the raw URL, so the series stay bounded), the method and the status code.
 */
export function registerHttpMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = reply.statusCode === 404 && request.routeOptions.url === '/*' ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
