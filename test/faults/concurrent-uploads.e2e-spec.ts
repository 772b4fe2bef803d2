import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { DATABASE } from '../../src/database/database.module.js';
import type { Database } from '../../src/database/database.js';
import { scans } from '../../src/database/schema.js';
import { ScanRepository } from '../../src/scans/scan.repository.js';
import { expectInvariants } from '../invariants.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';

const UPLOADS = 20;

interface UploadAnswer {
  id?: string;
  status?: string;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

/**
 * A station sending the same scan 20 times at once (a client retrying on a timeout while the first request is still
 * streaming, several agents of one lane): with one Idempotency-Key, and without a key (the same files). Every
 * request streams its own copy to storage before the database decides. To make the race certain rather than
 * likely, the 20 requests are held, each after storing its files and before looking for an earlier scan with that
 * content, until all 20 are there: they then go for the insert together. Exactly one scan is made; its answer is
 * 202, every other 200 `duplicate` with the same id (never 5xx, never 409: the requests are truly identical); the
 * copies of the 19 others are gone, and the one scan is converted.
 */
describe.each(['pglite', 'postgres'] as const)('%i concurrent identical uploads on %s'.replace('%i', String(UPLOADS)), (database) => {
  let service: TestService;
  let apiKey: string;
  let seed = 500;

  beforeAll(async () => {
    service = await startTestService({ database });
    const created = await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: `Concurrent ${database}`, country: 'LT' } });
    expect(created.status).toBe(201);
    apiKey = created.body.apiKey;
  });

  afterAll(async () => {
    await service?.close();
  });

  /** Holds every upload before its look-up by content until `count` have arrived; returns the insert outcomes seen. */
  function holdUntilAll(count: number): { inserts: boolean[]; restore: () => void } {
    const repository = service.app.get(ScanRepository);
    const findByContent = repository.findByContent.bind(repository);
    const insertWithFiles = repository.insertWithFiles.bind(repository);
    const inserts: boolean[] = [];
    let arrived = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const spies = [
      jest.spyOn(repository, 'findByContent').mockImplementation(async (...args) => {
        if (++arrived === count) release();
        await gate;
        return findByContent(...args);
      }),
      jest.spyOn(repository, 'insertWithFiles').mockImplementation(async (...args) => {
        const inserted = await insertWithFiles(...args);
        inserts.push(inserted);
        return inserted;
      }),
    ];
    return { inserts, restore: () => spies.forEach((spy) => spy.mockRestore()) };
  }

  async function sendTogether(idempotencyKey: string | undefined): Promise<{ status: number; body: UploadAnswer }[]> {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 640, height: 200 }));
    const metadata = { reference: `concurrent-${seed}` };
    return Promise.all(
      Array.from({ length: UPLOADS }, () =>
        service.request<UploadAnswer>('POST', '/api/v1/scans', {
          token: apiKey,
          body: scanForm(files, metadata),
          headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
        }),
      ),
    );
  }

  it.each([
    ['with one Idempotency-Key', `lane-4-${database}-0001`],
    ['without a key (the same files)', undefined],
  ])('%s: one scan, one 202, the rest 200 duplicate, nothing left over', async (_case, key) => {
    const race = holdUntilAll(UPLOADS);
    const answers = await sendTogether(key).finally(race.restore);
    // they went for the insert together: one won, the others met the unique index (a request whose look-up ran
    // after the winner's commit found the scan there and did not try)
    expect(race.inserts.filter(Boolean)).toHaveLength(1);
    expect(race.inserts.length).toBeGreaterThan(1);
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, ...Array<number>(UPLOADS - 2).fill(200), 202].sort());
    const first = answers.find((answer) => answer.status === 202)!;
    expect(first.body).toMatchObject({ duplicate: false, notApplied: [] });
    for (const answer of answers) expect(answer.body).toMatchObject({ id: first.body.id, duplicate: answer.status === 200 });

    expect((await service.waitForScan(first.body.id!, apiKey)).status).toBe('queued');
    const rows = await service.app.get<Database>(DATABASE).db.select({ id: scans.id, idempotencyKey: scans.idempotencyKey }).from(scans);
    expect(rows.filter((row) => row.id === first.body.id)).toEqual([{ id: first.body.id, idempotencyKey: key ?? null }]);
    // one folder of objects per scan: the copies of the 19 others are gone
    expect(await service.storedScanFolders()).toEqual(rows.map((row) => row.id).sort());
    await expectInvariants(service);
  });
});
