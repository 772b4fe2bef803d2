import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerWebApp } from './web-app.js';

describe('registerWebApp', () => {
  let dir: string;
  let fastify: FastifyInstance;

  function serve(root: string): FastifyInstance {
    const instance = Fastify();
    instance.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: { code: 'route_not_found' } }));
    instance.get('/api/v1/known', async () => ({ ok: true }));
    registerWebApp({ getHttpAdapter: () => ({ getInstance: () => instance }) } as unknown as NestFastifyApplication, root);
    return instance;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'niix-web-'));
  });
  afterEach(async () => {
    await fastify?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with a JSON error saying how to build when web/dist is missing', async () => {
    fastify = serve(path.join(dir, 'missing'));
    const response = await fastify.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: { code: 'web_app_not_built', message: expect.stringContaining('npm run build') } });
    expect((await fastify.inject({ method: 'GET', url: '/api/v1/known' })).json()).toEqual({ ok: true });
    expect((await fastify.inject({ method: 'GET', url: '/admin' })).statusCode).toBe(404);
  });

  it('serves / and its files, never shadows /api, /health or /metrics, refuses traversal', async () => {
    const dist = path.join(dir, 'dist');
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<div id="app"></div>');
    writeFileSync(path.join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'secret.txt'), 'no');
    fastify = serve(dist);
    const root = await fastify.inject({ method: 'GET', url: '/' });
    expect([root.statusCode, root.headers['content-type'], root.body]).toEqual([200, 'text/html; charset=utf-8', '<div id="app"></div>']);
    const asset = await fastify.inject({ method: 'GET', url: '/assets/index-abc.js' });
    expect([asset.statusCode, asset.headers['content-type'], asset.headers['cache-control']]).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable']);
    expect((await fastify.inject({ method: 'GET', url: '/assets/gone.js' })).statusCode).toBe(404);
    expect((await fastify.inject({ method: 'GET', url: '/?x=1' })).body).toBe('<div id="app"></div>');
    expect((await fastify.inject({ method: 'GET', url: '/index.html' })).body).toBe('<div id="app"></div>');
    expect((await fastify.inject({ method: 'HEAD', url: '/' })).statusCode).toBe(200);
    expect((await fastify.inject({ method: 'GET', url: '/api/v1/unknown' })).json()).toEqual({ error: { code: 'route_not_found' } });
    expect((await fastify.inject({ method: 'GET', url: '/health/nothing' })).statusCode).toBe(404);
    expect((await fastify.inject({ method: 'GET', url: '/metrics/x' })).statusCode).toBe(404);
    expect((await fastify.inject({ method: 'GET', url: '/api/v1/known' })).json()).toEqual({ ok: true });
    const traversal = await fastify.inject({ method: 'GET', url: '/%2e%2e/secret.txt' });
    expect(traversal.body).not.toBe('no');
  });

  it('answers a JSON 404 for every path that is not / or a file of the app: the screens live in the fragment (/#/analyst)', async () => {
    const dist = path.join(dir, 'dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<div id="app"></div>');
    fastify = serve(dist);
    for (const url of ['/foo.php', '/metricsx', '/supervisor', '/analyst/anything', '/assets/', '/.env', '/index.html/x']) {
      const response = await fastify.inject({ method: 'GET', url });
      expect([url, response.statusCode, response.json()]).toEqual([url, 404, { error: { code: 'route_not_found' } }]);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      for (const url of ['/', '/foo.php', '/api/v1/unknown', '/health/x', '/metrics/x']) {
        expect([method, url, (await fastify.inject({ method, url })).statusCode]).toEqual([method, url, 404]);
      }
    }
  });
});
