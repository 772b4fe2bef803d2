import { Redis } from 'ioredis';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { ConfigError } from '../src/config/config.js';
import { InstallationRepository } from '../src/database/installation.repository.js';
import { startFailureMessage } from '../src/logging/start-failure.js';
import { QueueRepository } from '../src/queue/queue.repository.js';
import { TEST_REDIS_URL, type TestService, scanForm, startTestService } from './service.harness.js';

/**
 * Two installations (two databases) pointed at one Redis with one key prefix would take each other's jobs: the
 * second refuses to start, in one line naming NIIX_REDIS_PREFIX, before any of its workers takes a job. Processes
 * of one installation (one database) share the prefix as before.
 */
describe('one Redis prefix belongs to one installation', () => {
  let first: TestService;
  let converter: TestService | undefined;

  beforeAll(async () => {
    // the API alone: an uploaded scan's convert job waits in Redis for a converter
    first = await startTestService({ database: 'postgres', env: { NIIX_ROLES: 'api' } });
  });
  afterAll(async () => {
    await converter?.close();
    await first?.close();
  });

  it('refuses a second installation on the prefix, which takes none of the first one’s jobs; the first one’s own converter starts and converts', async () => {
    const prefix = first.config.redis.prefix;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.get(`${prefix}:installation`)).toBe(await first.app.get(InstallationRepository).id());
    } finally {
      redis.disconnect();
    }
    const station = (await first.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: first.adminToken, json: { name: 'Shared Redis lane', country: 'EE' } })).body;
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 7, kind: 'truck', width: 240, height: 80 }));
    const upload = await first.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
    expect(upload.status).toBe(202);
    const waitingJobs = async () => {
      const counts = await first.app.get(QueueRepository).counts();
      return counts.convert.waiting + counts.convert.prioritized;
    };
    expect(await waitingJobs()).toBe(1);

    // another installation (its own PGlite database), every role, the same Redis and prefix
    const refusal = await startTestService({ env: { NIIX_REDIS_PREFIX: prefix } }).then(
      async (service) => {
        await service.close();
        return new Error('the second installation started');
      },
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toMatch(
      new RegExp(`^Redis prefix "${prefix}" at redis://127\\.0\\.0\\.1:6379 belongs to another installation \\([0-9a-f-]{36}; this one is [0-9a-f-]{36}\\): give this installation its own NIIX_REDIS_PREFIX$`),
    );
    // main prints it as it is: one line, no stack
    expect(startFailureMessage(refusal, {})).toBe((refusal as Error).message);
    // it took nothing: the job still waits and the scan was not touched
    expect(await waitingJobs()).toBe(1);
    expect((await first.request<{ status: string }>('GET', `/api/v1/scans/${upload.body.id}`, { token: station.apiKey })).body.status).toBe('received');

    // a converter of the same installation (same database) on the same prefix starts and converts the scan
    converter = await startTestService({ shareWith: first, env: { NIIX_ROLES: 'convert' } });
    expect((await first.waitForScan(upload.body.id, station.apiKey)).status).toBe('queued');
  });
});
