import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type TestService, startTestService } from './service.harness.js';

const COMMITTED = path.resolve('docs/openapi.json');

/** The OpenAPI document is generated from the routes; the committed copy (docs/openapi.json) must match it. */
describe('OpenAPI document', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it('is served at /api/docs and equals docs/openapi.json (UPDATE_OPENAPI=1 rewrites it)', async () => {
    const { status, body } = await service.request<Record<string, unknown>>('GET', '/api/docs');
    expect(status).toBe(200);
    const text = `${JSON.stringify(body, null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI) writeFileSync(COMMITTED, text);
    expect(readFileSync(COMMITTED, 'utf8')).toBe(text);
  });

  it('documents every route of the station API with its security', async () => {
    const { body } = await service.request<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>('GET', '/api/docs');
    expect(body.paths['/api/v1/scans'].post.security).toEqual([{ station: [] }]);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/stations', '/api/v1/scans/{id}', '/api/v1/scans/{id}/views/{view}/tiles_files/{level}/{tile}', '/health/ready']),
    );
  });
});
