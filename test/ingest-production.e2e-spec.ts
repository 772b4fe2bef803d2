import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';

/**
 * The production setting: PostgreSQL and S3 object storage (spoken to s3rver over HTTP), plus Redis. The
 * same flow as the embedded default: upload, convert, tiles, bundle, duplicate upload.
 */
describe('ingest end to end on PostgreSQL and S3', () => {
  let service: TestService;
  let apiKey: string;

  beforeAll(async () => {
    service = await startTestService({ database: 'postgres', storage: 's3' });
    apiKey = (await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Port of Tallinn gate 3', country: 'EE' } })).body.apiKey;
  });
  afterAll(async () => {
    await service?.close();
  });

  it('is ready when PostgreSQL, Redis and S3 answer', async () => {
    const { status, body } = await service.request<{ checks: Record<string, { ok: boolean }> }>('GET', '/health/ready');
    expect(status).toBe(200);
    expect(body.checks).toEqual({ database: { ok: true }, redis: { ok: true }, storage: { ok: true } });
  });

  it.each(['raw:aurora-ax6', 'dicos'] as const)('converts a %s upload and serves its tiles and bundle from S3', async (format) => {
    const files = await writeScannerInput(format, generateScan({ seed: 21, kind: 'container', width: 480, height: 160, views: ['side'] }));
    const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: apiKey, body: scanForm(files, { declarations: ['25EE0009999'] }) });
    expect(accepted.status).toBe(202);
    const done = await service.waitForScan(accepted.body.id, apiKey);
    expect(done.status).toBe('queued');
    const tile = await service.bytes(`/api/v1/scans/${done.id}/views/side/material/tiles_files/9/1_0.jpeg`, apiKey);
    expect(tile.status).toBe(200);
    expect(tile.type).toBe('image/jpeg');
    const bundle = await service.bytes(`/api/v1/scans/${done.id}/bundle`, apiKey);
    expect(bundle.status).toBe(200);
    expect(bundle.data.subarray(257, 262).toString()).toBe('ustar');
    const again = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: apiKey, body: scanForm(files) });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(done.id);
  });
});
