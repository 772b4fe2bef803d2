import type { Database } from '../database/database.js';
import { JobName } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { refusal } from '../../test/builders.js';
import { DATABASE_KINDS, type Medium, RESULTS_PROVIDERS, auditActions, insertQueuedScan, insertStation, startMedium } from '../../test/medium.js';
import { until } from '../../test/until.js';
import type { ResultBody } from './result-body.js';
import { ResultRepository } from './result.repository.js';
import { ResultsService } from './results.service.js';

type Station = Awaited<ReturnType<typeof insertStation>>;

/**
 * Results back to stations below HTTP: ResultsService and ResultRepository on PGlite and PostgreSQL, announcements
 * over real Redis pub/sub, webhooks scheduled in the real deliver queue (no deliverer runs here).
 */
describe.each(DATABASE_KINDS)(`${ResultsService.name} on %s`, (kind) => {
  let medium: Medium;
  let database: Database;
  let service: ResultsService;
  let results: ResultRepository;
  let scans: ScanRepository;
  let queues: QueueRepository;

  beforeAll(async () => {
    medium = await startMedium(kind, [...RESULTS_PROVIDERS, ScanRepository]);
    database = medium.database;
    service = medium.get(ResultsService);
    results = medium.get(ResultRepository);
    scans = medium.get(ScanRepository);
    queues = medium.get(QueueRepository);
  });

  afterAll(async () => {
    await medium?.close();
  });

  const scanOf = (station: Station, metadata?: Record<string, unknown>) => insertQueuedScan(database, { stationId: station.id, metadata });
  const verdictOf = (scan: ScanRow, decision = 'clear') => service.record(scan, 'verdict', { decision, regions: [], note: '', decidedAt: '2025-06-02T08:00:00.000Z', reviews: 1 });
  const ids = (page: { results: ResultBody[] }) => page.results.map((result) => Number(result.resultId));

  it('records one result per scan with the conveyance of its upload, however often and however concurrently it is asked', async () => {
    const station = await insertStation(database);
    const scan = await scanOf(station, { reference: 'R-1', containers: ['MSCU1234566', 42], declarations: ['D-1'], licencePlates: ['ABC123'], declaredGoods: 'tyres' });
    const rows = await Promise.all(Array.from({ length: 6 }, (_, i) => verdictOf(scan, i === 0 ? 'inspect' : 'clear')));
    expect(new Set(rows.map((row) => row.id)).size).toBe(1);
    const stored = await results.listAfter(station.id, 0, 100);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: rows[0].id, scanId: scan.id, stationId: station.id, kind: 'verdict', deliveryAttempts: 0, ackedAt: null });
    expect(stored[0].body).toMatchObject({ reference: 'R-1', containers: ['MSCU1234566'], declarations: ['D-1'], licencePlates: ['ABC123'], reviews: 1 });
    expect(stored[0].body).not.toHaveProperty('declaredGoods');
    const again = await service.record(scan, 'failure', { failure: { code: 'x', message: 'y' } });
    expect(again).toMatchObject({ id: rows[0].id, kind: 'verdict' });
  });

  it('never records a result for a training scan (it carries the station id of the archived scan it was made from)', async () => {
    const station = await insertStation(database);
    const scan = await scanOf(station);
    await expect(service.record({ ...scan, purpose: 'training' }, 'verdict', { decision: 'clear' })).rejects.toThrow(`scan ${scan.id} is a training scan and has no result for a station`);
    expect(await results.listAfter(station.id, 0, 10)).toEqual([]);
  });

  it('gives a station its own results only, after the cursor, in id order, a page at a time', async () => {
    const [mine, theirs] = [await insertStation(database), await insertStation(database)];
    const recorded: { station: Station; id: number; scanId: string }[] = [];
    for (const station of [mine, theirs, mine, mine, theirs, mine, mine]) {
      const scan = await scanOf(station);
      recorded.push({ station, id: (await verdictOf(scan)).id, scanId: scan.id });
    }
    const minesIds = recorded.filter((entry) => entry.station === mine).map((entry) => entry.id);
    const theirsIds = recorded.filter((entry) => entry.station === theirs).map((entry) => entry.id);
    expect(minesIds).toEqual([...minesIds].sort((a, b) => a - b));

    const all = await service.list(mine, {});
    expect(ids(all)).toEqual(minesIds);
    expect(all.next).toBe(String(minesIds[4]));
    expect(all.results.map((result) => result.scanId)).toEqual(recorded.filter((entry) => entry.station === mine).map((entry) => entry.scanId));
    const page = await service.list(mine, { after: String(minesIds[1]), limit: '2' });
    expect(ids(page)).toEqual([minesIds[2], minesIds[3]]);
    expect(page.next).toBe(String(minesIds[3]));
    expect(ids(await service.list(mine, { after: page.next }))).toEqual([minesIds[4]]);
    expect(await service.list(mine, { after: String(minesIds[4]) })).toEqual({ results: [], next: String(minesIds[4]) });
    // another station's cursor between mine changes nothing
    expect(ids(await service.list(mine, { after: String(theirsIds[0]) }))).toEqual(minesIds.filter((id) => id > theirsIds[0]));
    expect(ids(await service.list(theirs, {}))).toEqual(theirsIds);
    expect(await results.lastId(mine.id)).toBe(minesIds[4]);
    expect(await results.lastId((await insertStation(database)).id)).toBe(0);

    for (const query of [{ after: 'abc' }, { limit: '0' }, { limit: '501' }, { after: '-1' }]) {
      expect(await refusal(service.list(mine, query))).toMatchObject({ status: 400, code: 'invalid_query' });
    }
  });

  it('makes result ids visible in increasing order: a reader following the cursor while results are recorded at once misses none', async () => {
    const station = await insertStation(database);
    const pending = await Promise.all(Array.from({ length: 40 }, () => scanOf(station)));
    const seen: number[] = [];
    let cursor = '0';
    let recording = true;
    const reader = (async () => {
      while (recording || seen.length < pending.length) {
        const page = await service.list(station, { after: cursor, limit: '500' });
        seen.push(...ids(page));
        cursor = page.next;
        if (!recording && page.results.length === 0) break;
        // PGlite answers in-process: give the event loop a turn so the writers' Redis calls go on
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const rows = await Promise.all(pending.map((scan) => verdictOf(scan)));
    recording = false;
    await reader;
    expect(seen).toEqual(rows.map((row) => row.id).sort((a, b) => a - b));
  });

  it('acknowledges a station\'s own result once: the result and its scan are delivered, the audit records it once', async () => {
    const [mine, theirs] = [await insertStation(database), await insertStation(database)];
    const scan = await scanOf(mine);
    const row = await verdictOf(scan);

    expect(await refusal(service.acknowledge(theirs, String(row.id)))).toMatchObject({ status: 404, code: 'result_not_found' });
    expect(await refusal(service.acknowledge(mine, 'one'))).toMatchObject({ status: 404, code: 'result_not_found' });
    expect(await refusal(service.acknowledge(mine, String(row.id + 1000)))).toMatchObject({ status: 404, code: 'result_not_found' });
    expect((await results.findById(row.id))!.ackedAt).toBeNull();

    await service.acknowledge(mine, String(row.id));
    const acked = (await results.findById(row.id))!;
    expect(acked.ackedAt).toBeInstanceOf(Date);
    expect((await scans.findById(scan.id))!.deliveredAt).toEqual(acked.ackedAt);
    await service.acknowledge(mine, String(row.id));
    expect((await results.findById(row.id))!.ackedAt).toEqual(acked.ackedAt);
    expect((await scans.findById(scan.id))!.deliveredAt).toEqual(acked.ackedAt);
    expect(await auditActions(database, scan.id)).toEqual(['result.acknowledged']);
    expect(await refusal(service.acknowledge(theirs, String(row.id)))).toMatchObject({ status: 404, code: 'result_not_found' });
  });

  it('schedules the webhook of a result when its station has a callback URL, and none otherwise', async () => {
    const withHook = await insertStation(database, { callbackUrl: 'http://127.0.0.1:9/hook' });
    const without = await insertStation(database);
    const hooked = await verdictOf(await scanOf(withHook));
    const pulled = await verdictOf(await scanOf(without));
    expect(await queues.state(JobName.DeliverResult, { resultId: String(hooked.id) })).toBe('waiting');
    expect(await queues.state(JobName.DeliverResult, { resultId: String(pulled.id) })).toBeNull();
    expect(await results.pendingDeliveries()).toContain(hooked.id);
    expect(await results.pendingDeliveries()).not.toContain(pulled.id);
  });

  it('keeps the delivery state of each result: attempts, the last error, delivered, given up and redelivered', async () => {
    const station = await insertStation(database, { callbackUrl: 'http://127.0.0.1:9/hook', name: 'Hooked lane' });
    const [failing, delivered] = [await scanOf(station), await scanOf(station)];
    const failingRow = await verdictOf(failing);
    const deliveredRow = await verdictOf(delivered);

    await results.recordAttempt(failingRow.id, { error: 'HTTP 500' });
    await results.recordAttempt(failingRow.id, { error: 'timeout' });
    expect(await results.findById(failingRow.id)).toMatchObject({ deliveryAttempts: 2, lastDeliveryError: 'timeout', deliveredAt: null });
    const at = new Date('2025-06-02T09:00:00Z');
    await results.recordAttempt(deliveredRow.id, { deliveredAt: at });
    await results.recordAttempt(deliveredRow.id, { deliveredAt: new Date('2025-06-02T10:00:00Z') });
    expect(await results.findById(deliveredRow.id)).toMatchObject({ deliveryAttempts: 2, deliveredAt: at });
    expect((await scans.findById(delivered.id))!.deliveredAt).toEqual(at);
    expect(await results.pendingDeliveries()).toContain(failingRow.id);
    expect(await results.pendingDeliveries()).not.toContain(deliveredRow.id);

    expect(await results.markUndelivered(deliveredRow.id, at)).toBe(false);
    expect(await results.markUndelivered(failingRow.id, at)).toBe(true);
    expect(await results.pendingDeliveries()).not.toContain(failingRow.id);
    expect((await results.listUndelivered(1000)).filter((row) => row.stationId === station.id)).toEqual([
      { id: failingRow.id, stationId: station.id, stationName: 'Hooked lane', scanId: failing.id, kind: 'verdict', createdAt: failingRow.createdAt, deliveryAttempts: 2, lastDeliveryError: 'timeout', undeliveredAt: at },
    ]);
    await results.clearUndelivered(failingRow.id);
    expect((await results.listUndelivered(1000)).filter((row) => row.stationId === station.id)).toEqual([]);
    expect(await results.pendingDeliveries()).toContain(failingRow.id);
  });

  it('streams the results after the cursor, then each new one of the station as it is recorded, never another station\'s', async () => {
    const [mine, theirs] = [await insertStation(database), await insertStation(database)];
    const before = await verdictOf(await scanOf(mine));
    const backlog = await verdictOf(await scanOf(mine));
    const sent: ResultBody[] = [];
    let ended = false;
    const stream = await service.openStream(mine, before.id, { send: (result) => void sent.push(result), ping: () => undefined, end: () => (ended = true) });
    stream.start();
    await until(async () => sent.length === 1, 'the backlog');
    expect(sent[0].resultId).toBe(String(backlog.id));

    await verdictOf(await scanOf(theirs));
    const live = await verdictOf(await scanOf(mine), 'inspect');
    await until(async () => sent.length === 2, 'the new result, announced over Redis');
    expect(sent[1]).toMatchObject({ resultId: String(live.id), decision: 'inspect', kind: 'verdict' });

    const after = await verdictOf(await scanOf(mine));
    await until(async () => sent.length === 3, 'the next result');
    expect(sent.map((result) => result.resultId)).toEqual([backlog.id, live.id, after.id].map(String));
    stream.close();
    expect(ended).toBe(true);
    await verdictOf(await scanOf(mine));
    expect(sent).toHaveLength(3);
  });

  it('starts a stream without a cursor at the station\'s latest result', async () => {
    const station = await insertStation(database);
    await verdictOf(await scanOf(station));
    const sent: ResultBody[] = [];
    const stream = await service.openStream(station, undefined, { send: (result) => void sent.push(result), ping: () => undefined, end: () => undefined });
    stream.start();
    const next = await verdictOf(await scanOf(station));
    await until(async () => sent.length > 0, 'the result recorded after the stream opened');
    expect(sent.map((result) => result.resultId)).toEqual([String(next.id)]);
    stream.close();
  });
});
