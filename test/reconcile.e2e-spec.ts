import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { AuditRepository } from '../src/audit/audit.repository.js';
import { PipelineService } from '../src/pipeline/pipeline.service.js';
import { QueueRepository } from '../src/queue/queue.repository.js';
import { TEST_REDIS_URL, type TestService, scanForm, startTestService } from './service.harness.js';
import { deleteRedisKeys } from './redis.js';

/**
 * The database is the system of record: scans received while no converter runs, whose jobs are then lost with
 * a flushed Redis, are put back once (and only once) when a converter starts, and reach `queued`.
 */
describe('reconciliation of the queues with the database (PostgreSQL)', () => {
  let api: TestService;
  let worker: TestService | undefined;

  beforeAll(async () => {
    api = await startTestService({ database: 'postgres', env: { NIIX_ROLES: 'api' } });
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
  });

  it('puts back every unfinished scan once after Redis lost its jobs', async () => {
    const station = (await api.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: api.adminToken, json: { name: 'Lost jobs lane', country: 'LT' } })).body;
    const ids: string[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed, kind: 'truck', width: 240, height: 80 }));
      const response = await api.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
      expect(response.status).toBe(202);
      ids.push(response.body.id);
    }
    // nothing converts them (api role only); now Redis loses every job
    expect(await deleteRedisKeys(TEST_REDIS_URL, `${api.config.redis.prefix}:*`)).toBeGreaterThan(0);

    // two reconciliation passes (the API process's own) put each scan back exactly once
    const pipeline = api.app.get(PipelineService);
    expect(await pipeline.reconcile()).toBe(ids.length);
    expect(await pipeline.reconcile()).toBe(ids.length);
    const counts = await api.app.get(QueueRepository).counts();
    expect(counts.convert.waiting + counts.convert.prioritized).toBe(ids.length);

    // a converter starts (and reconciles again on start): every scan is converted once and reaches queued
    worker = await startTestService({ shareWith: api, env: { NIIX_ROLES: 'convert' } });
    for (const id of ids) {
      expect((await api.waitForScan(id, station.apiKey)).status).toBe('queued');
      const events = await api.app.get(AuditRepository).forScan(id);
      expect(events.filter((event) => event.action === 'scan.queued')).toHaveLength(1);
    }
  });
});
