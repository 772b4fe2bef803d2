import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { JobName, QueueName, jobId } from '../../src/queue/jobs.js';
import { QueueRepository } from '../../src/queue/queue.repository.js';
import { expectInvariants } from '../invariants.js';
import { createTestPostgres } from '../postgres.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';
import { TcpProxy } from '../tcp-proxy.js';
import { until } from '../until.js';

interface Answer {
  status: number;
  body: { id?: string; status?: string; error?: { code: string; message: string } };
  headers: Headers;
}

/**
 * PostgreSQL down and back, caused for real: the service reaches its database through a TCP proxy that the test
 * cuts (every connection destroyed, new ones refused) while stations upload and analysts read, and then restores.
 * Meanwhile every request that needs the database answers 503 `database_unavailable` with Retry-After, never 500,
 * and the process stays up; an upload whose files were being stored when the database went away keeps nothing.
 * A conversion that ends during the outage fails to record its package and waits to be retried. Once the proxy is
 * back the service recovers by itself (no restart): uploads are accepted, the scan whose conversion ran into the
 * outage and the ones sent after reach `queued`, and the installation is sound.
 */
describe('PostgreSQL down and back', () => {
  let database: { url: string; drop: () => Promise<void> };
  let proxy: TcpProxy;
  let service: TestService;
  let station: { apiKey: string };
  let analystToken: string;
  let seed = 900;

  beforeAll(async () => {
    database = await createTestPostgres();
    const proxied = await TcpProxy.to(database.url, 5432);
    proxy = proxied.proxy;
    service = await startTestService({ env: { DATABASE_URL: proxied.url } });
    const created = await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Medininkai 1', country: 'LT' } });
    expect(created.status).toBe(201);
    station = created.body;
    expect((await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'analyst-pg', password: 'password-of-tests', roles: ['analyst'] } })).status).toBe(201);
    analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'analyst-pg', password: 'password-of-tests' } })).body.token;
  });

  afterAll(async () => {
    await proxy?.start(); // the service closes its pool through it
    await service?.close();
    await proxy?.cut();
    await database?.drop();
  });

  const scanFiles = (width = 640, height = 200) => writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width, height }));

  async function upload(key?: string, files?: { name: string; data: Buffer }[]): Promise<Answer> {
    return service.request('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files ?? (await scanFiles())), headers: key ? { 'idempotency-key': key } : {} });
  }

  /**
   * An upload whose body stops halfway until `release()`: its first file is being stored when the test acts. Resolves
   * with the answer once released.
   */
  async function heldUpload(key: string, files: { name: string; data: Buffer }[]): Promise<{ release: () => void; answer: Promise<Answer> }> {
    const multipart = new Request('http://localhost/', { method: 'POST', body: scanForm(files) });
    const bytes = new Uint8Array(await multipart.arrayBuffer());
    const half = Math.floor(bytes.length / 2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytes.subarray(0, half));
        await gate;
        controller.enqueue(bytes.subarray(half));
        controller.close();
      },
    });
    const answer = fetch(`${service.url}/api/v1/scans`, {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { authorization: `Bearer ${station.apiKey}`, 'content-type': multipart.headers.get('content-type')!, 'idempotency-key': key },
    } as RequestInit).then(async (response) => ({ status: response.status, body: (await response.json()) as Answer['body'], headers: response.headers }));
    return { release, answer };
  }

  function expectDatabaseUnavailable(answer: Answer, what: string) {
    expect({ what, status: answer.status, code: answer.body.error?.code }).toEqual({ what, status: 503, code: 'database_unavailable' });
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  }

  it('answers 503 database_unavailable while it is down, keeps nothing of refused uploads, and recovers by itself', async () => {
    // before: a scan goes all the way
    const before = await upload('before-1');
    expect(before.status).toBe(202);
    const queued = await service.waitForScan(before.body.id!, station.apiKey);
    expect(queued.status).toBe('queued');

    // analysts keep reading all along: every answer is 200 or 503 database_unavailable, never anything else
    const reads: { status: number; code?: string }[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        for (const route of [`/api/v1/scans/${before.body.id}`, `/api/v1/scans/${before.body.id}/views/${queued.manifest!.views[0].id}/thumbnail`]) {
          const answer = await service.request<Answer['body']>('GET', route, { token: analystToken });
          reads.push({ status: answer.status, code: answer.body?.error?.code });
        }
      }
    })();

    // a scan whose conversion runs into the outage, and an upload whose files are being stored when it starts
    const converting = await upload('converting-1', await scanFiles(4000, 1250));
    expect(converting.status).toBe(202);
    await until(async () => (await service.request<Answer['body']>('GET', `/api/v1/scans/${converting.body.id}`, { token: station.apiKey })).body.status === 'converting', 'the scan converting');
    const known = new Set([before.body.id, converting.body.id]);
    const held = await heldUpload('held-1', await scanFiles());
    const heldFolder = await until(async () => (await service.storedScanFolders()).find((folder) => !known.has(folder)), 'the held upload storing its first file');

    await proxy.cut();
    const downAt = Date.now();
    held.release();
    expectDatabaseUnavailable(await held.answer, 'an upload cut off while storing its files');

    // while down: uploads, a repeat, status and results, claims: 503, never 500
    const during = await Promise.all([
      upload('during-1'),
      upload('during-2'),
      upload(undefined),
      upload('held-1'),
      service.request<Answer['body']>('GET', `/api/v1/scans/${converting.body.id}`, { token: station.apiKey }),
      service.request<Answer['body']>('GET', '/api/v1/station/results', { token: station.apiKey }),
      service.request<Answer['body']>('POST', '/api/v1/worklist/claim', { token: analystToken }),
      service.request<Answer['body']>('POST', '/api/v1/auth/login', { json: { username: 'analyst-pg', password: 'password-of-tests' } }),
    ]);
    during.forEach((answer, i) => expectDatabaseUnavailable(answer, `request ${i} while down`));
    const ready = await service.request<{ checks: { database: { ok: boolean } } }>('GET', '/health/ready');
    expect([ready.status, ready.body.checks.database.ok]).toEqual([503, false]);
    expect((await service.request('GET', '/health/live')).status).toBe(200);
    // nothing of the refused uploads is kept: only the two recorded scans have objects
    await until(async () => !(await service.storedScanFolders()).includes(heldFolder), 'the objects of the cut-off upload deleted');
    expect((await service.storedScanFolders()).filter((folder) => !known.has(folder))).toEqual([]);
    expect(proxy.connections).toBe(0);
    // the conversion under way ends while the database is down: recording its package fails, and its job waits to retry
    const conversion = service.app.get(QueueRepository).queue(QueueName.Convert);
    await until(async () => {
      const job = await conversion.getJob(jobId(JobName.ConvertScan, { scanId: converting.body.id! }));
      return job && job.attemptsMade >= 1 && (await job.getState()) === 'delayed';
    }, 'the conversion failing on the database and waiting to retry', 60_000);

    // back: no restart; the service answers again by itself
    await proxy.start();
    const downSeconds = (Date.now() - downAt) / 1000;
    await until(async () => (await service.request('GET', '/health/ready')).status === 200, 'the service ready again');
    reading = false;
    await reader;
    expect(reads.filter((read) => !(read.status === 200 || (read.status === 503 && read.code === 'database_unavailable')))).toEqual([]);
    expect(reads.some((read) => read.status === 503)).toBe(true);

    // the upload cut off is sent again with its key: new (nothing of it was recorded), and converted
    const again = await upload('held-1');
    expect(again.status).toBe(202);
    const after = await upload('after-1');
    expect(after.status).toBe(202);
    for (const id of [converting.body.id!, again.body.id!, after.body.id!]) expect((await service.waitForScan(id, station.apiKey)).status).toBe('queued');
    console.log(`postgres down ${downSeconds.toFixed(1)} s; ${reads.length} reads meanwhile, ${reads.filter((read) => read.status === 503).length} answered 503`);
    await expectInvariants(service);
  });
});
