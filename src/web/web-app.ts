import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The built analyst / supervisor / admin web app (`npm run build:web` writes it). */
export const WEB_DIST_DIR = path.resolve(process.cwd(), 'web/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths that belong to the service, never to the web app (an unknown one stays a JSON 404). */
function isServicePath(pathname: string): boolean {
  return ['/api', '/health', '/metrics'].some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

/**
 * Serves the web app from the same origin as the API. The rule: `/` is the app (index.html), and a GET of a file
 * that exists in web/dist is that file (hashed assets/ are immutable); nothing else is the web app's. The app
 * routes its screens in the fragment (`/#/analyst`, `/#/supervisor`, ...), which never reaches the server, so any
 * other path (`/foo.php`, `/analyst/x`, `/metricsx`) is the service's JSON 404, as is every unknown path under
 * /api, /health and /metrics, whatever the method. When the app was not built, `/` answers 503 with a JSON error
 * saying how to build it.
 *
 * Plain fs streams rather than @fastify/static: that plugin pulls in an ESM-only dependency (content-disposition)
 * that the CommonJS jest run of the end-to-end tests cannot load, and the app is a handful of files.
 */
export function registerWebApp(app: NestFastifyApplication, root = WEB_DIST_DIR): void {
  const fastify = app.getHttpAdapter().getInstance();
  const send = (reply: FastifyReply, relative: string, cache: string) => {
    const file = path.join(root, relative);
    const stats = statSync(file);
    return reply
      .header('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream')
      .header('content-length', stats.size)
      .header('cache-control', cache)
      .header('x-content-type-options', 'nosniff')
      .send(createReadStream(file));
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const pathname = request.url.split('?')[0];
    if (isServicePath(pathname)) return reply.callNotFound();
    if (pathname === '/') {
      if (!existsSync(path.join(root, 'index.html'))) {
        return reply.status(503).type('application/json').send({
          error: { code: 'web_app_not_built', message: 'the web app is not built: run `npm run build` (or `npm run build:web`), then reload' },
        });
      }
      return send(reply, 'index.html', 'no-cache');
    }
    let relative: string;
    try {
      relative = path.posix.normalize(decodeURIComponent(pathname)).replace(/^\/+/, '');
    } catch {
      return reply.callNotFound();
    }
    if (relative && !relative.split('/').includes('..')) {
      const file = path.join(root, relative);
      if (file.startsWith(root + path.sep) && existsSync(file) && statSync(file).isFile()) {
        return send(reply, relative, relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      }
    }
    return reply.callNotFound();
  };
  fastify.get('/', handler);
  fastify.get('/*', handler);
}
