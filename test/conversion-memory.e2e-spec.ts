import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';

/**
 * A scan whose conversion needs more memory than NIIX_CONVERT_MEMORY fails with `resource_limit`, once, without
 * retry; its station is told; the service goes on and converts the next scan.
 */
describe('conversion memory limit', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ env: { NIIX_CONVERT_MEMORY: '240mb' } });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('fails a scan that needs more memory with resource_limit, tells its station, and converts the next one', async () => {
    const station = (await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Memory lane', country: 'EE' } })).body;
    const upload = async (width: number, height: number) => {
      const files = await writeScannerInput('dicos', generateScan({ seed: width, kind: 'truck', width, height }));
      const response = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
      expect(response.status).toBe(202);
      return response.body.id;
    };

    const big = await upload(6000, 2000);
    const failed = await service.waitForScan(big, station.apiKey);
    expect(failed.status).toBe('failed');
    expect(failed.failure).toEqual({ code: 'resource_limit', message: expect.stringContaining('NIIX_CONVERT_MEMORY') });

    const results = await service.request<{ results: { scanId: string; kind: string; failure?: { code: string } }[] }>('GET', '/api/v1/station/results', { token: station.apiKey });
    expect(results.body.results.filter((result) => result.scanId === big)).toEqual([expect.objectContaining({ kind: 'failure', failure: expect.objectContaining({ code: 'resource_limit' }) })]);

    const small = await upload(400, 160);
    expect((await service.waitForScan(small, station.apiKey)).status).toBe('queued');
  });
});
