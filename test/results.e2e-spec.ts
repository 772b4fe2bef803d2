import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { freePort } from '../src/common/free-port.js';
import { verifyWebhook } from '../src/delivery/webhook-signature.js';
import type { ResultBody } from '../src/results/result-body.js';
import { ResultRepository } from '../src/results/result.repository.js';
import { ResultsService } from '../src/results/results.service.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';
import { until } from './until.js';

interface CreatedStation {
  id: string;
  apiKey: string;
  webhookSecret: string;
}
interface Page {
  results: ResultBody[];
  next: string;
}
interface Delivery {
  id: string;
  body: string;
  signature: string;
  status: number;
}

const ATTEMPTS = 4;


/** A station's live stream read event by event. */
class EventStream {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {
    this.reader = response.body!.getReader();
  }

  static async open(service: TestService, token: string, options: { lastEventId?: string; after?: string } = {}): Promise<EventStream> {
    const abort = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
    const query = options.after === undefined ? '' : `?after=${options.after}`;
    const response = await fetch(`${service.url}/api/v1/station/results/stream${query}`, { headers, signal: abort.signal });
    return new EventStream(response, abort);
  }

  /** The next `result` event (comments and the retry hint are skipped). */
  async next(): Promise<{ id: string; result: ResultBody }> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((line) => !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
        if (fields.event === 'result') return { id: fields.id, result: JSON.parse(fields.data) as ResultBody };
        continue;
      }
      const { value, done } = await this.reader.read();
      if (done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  async take(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { id, result } = await this.next();
      expect(result.resultId).toBe(id);
      ids.push(id);
    }
    return ids;
  }

  close(): void {
    this.abort.abort();
  }
}

/**
 * Results back to the stations over the whole service (PGlite, real Redis): pull with a cursor, the live stream,
 * acknowledgements, signed webhooks with retries, and the administrators' view of undelivered results.
 * Scans come through the real ingest; their results are recorded with ResultsService.record, as the verdict
 * code and the pipeline do.
 */
describe.each(['pglite', 'postgres'] as const)('results end to end on %s', (database) => {
  let service: TestService;
  let receiver: http.Server;
  let receiverUrl: string;
  const deliveries: Delivery[] = [];
  const deliveryWaiters: (() => void)[] = [];
  let lane: CreatedStation;
  let other: CreatedStation;
  let hooked: CreatedStation;
  let unreachable: CreatedStation;
  let seed = 100;

  async function createStation(name: string, callbackUrl?: string): Promise<CreatedStation> {
    const created = await service.request<CreatedStation>('POST', '/api/v1/stations', { token: service.adminToken, json: { name, country: 'EE', ...(callbackUrl ? { callbackUrl } : {}) } });
    expect(created.status).toBe(201);
    return created.body;
  }

  /** Uploads a small generated scan through ingest, waits for it to be queued and records a verdict for it. */
  async function verdictFor(station: CreatedStation, decision = 'clear'): Promise<string> {
    const [scan] = await scans(station, 1);
    const row = await service.app.get(ResultsService).record(scan, 'verdict', { decision, regions: [], note: null, decidedAt: new Date().toISOString() });
    return String(row.id);
  }

  async function scans(station: CreatedStation, count: number): Promise<{ id: string; stationId: string; metadata: unknown; purpose: 'live' }[]> {
    const uploaded = [];
    for (let i = 0; i < count; i++) {
      const metadata = { reference: `ref-${seed}`, containers: ['CSQU3054383'], licencePlates: ['ABC123'], declarations: [`25EE${seed}`] };
      const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 320, height: 100 }));
      const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files, metadata) });
      expect(accepted.status).toBe(202);
      uploaded.push({ id: accepted.body.id, stationId: station.id, metadata, purpose: 'live' as const });
    }
    for (const scan of uploaded) expect((await service.waitForScan(scan.id, station.apiKey)).status).toBe('queued');
    return uploaded;
  }

  async function pull(station: CreatedStation, after?: string, limit?: number) {
    const query = new URLSearchParams({ ...(after ? { after } : {}), ...(limit ? { limit: String(limit) } : {}) });
    const response = await service.request<Page>('GET', `/api/v1/station/results?${query.toString()}`, { token: station.apiKey });
    expect(response.status).toBe(200);
    return response.body;
  }

  /** Resolves when the receiver has answered `count` successful deliveries. */
  function delivered(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (deliveries.filter((delivery) => delivery.status === 200).length >= count) resolve();
        else deliveryWaiters.push(check);
      };
      check();
    });
  }

  beforeAll(async () => {
    // answers 500 to the first two tries of each result, then 200
    receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const id = String(request.headers['x-niix-delivery']);
        const status = deliveries.filter((delivery) => delivery.id === id).length < 2 ? 500 : 200;
        deliveries.push({ id, body: Buffer.concat(chunks).toString(), signature: String(request.headers['x-niix-signature']), status });
        response.writeHead(status).end();
        for (const waiter of deliveryWaiters.splice(0)) waiter();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/niix/results`;

    service = await startTestService({ database, env: { NIIX_DELIVERY_BACKOFF_MS: '50', NIIX_DELIVERY_ATTEMPTS: String(ATTEMPTS) } });
    lane = await createStation('Narva road 2');
    other = await createStation('Terehova 1');
    hooked = await createStation('Medininkai 3', receiverUrl);
    unreachable = await createStation('Luhamaa 1', `http://127.0.0.1:${await freePort()}/gone`);
  });

  afterAll(async () => {
    await service?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('pulls in id order from a cursor, without gaps or duplicates while results are created', async () => {
    const first = await Promise.all((await scans(lane, 3)).map((scan) => service.app.get(ResultsService).record(scan, 'verdict', { decision: 'clear', regions: [], note: null, decidedAt: new Date().toISOString() })));
    const page1 = await pull(lane, undefined, 2);
    expect(page1.results).toHaveLength(2);
    expect(page1.next).toBe(page1.results[1].resultId);
    expect(page1.results[0]).toMatchObject({ kind: 'verdict', decision: 'clear', containers: ['CSQU3054383'], licencePlates: ['ABC123'], reference: expect.stringMatching(/^ref-/) });

    // results created between pages, one of them for another station
    const later = [await verdictFor(lane, 'inspect'), await verdictFor(lane)];
    const foreign = await verdictFor(other);

    const seen = [...page1.results];
    let cursor = page1.next;
    for (;;) {
      const page = await pull(lane, cursor, 2);
      if (page.results.length === 0) {
        expect(page.next).toBe(cursor);
        break;
      }
      seen.push(...page.results);
      cursor = page.next;
    }
    const ids = seen.map((result) => result.resultId);
    // the first three were recorded concurrently: their ids are in commit order, not in array order
    const firstIds = first.map((row) => row.id).sort((a, b) => a - b).map(String);
    expect(ids).toEqual([...firstIds, ...later]);
    expect(ids).not.toContain(foreign);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
  });

  it('records one result per scan: recording again returns the first', async () => {
    const [scan] = await scans(lane, 1);
    const results = service.app.get(ResultsService);
    const once = await results.record(scan, 'verdict', { decision: 'clear', regions: [], note: null, decidedAt: new Date().toISOString() });
    const again = await results.record(scan, 'failure', { failure: { code: 'internal_error', message: 'x' } });
    expect(again.id).toBe(once.id);
    expect(again.kind).toBe('verdict');
  });

  it('streams the results after Last-Event-ID, then live ones in order', async () => {
    const all = (await pull(lane, undefined, 500)).results.map((result) => result.resultId);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const resumeAfter = all[all.length - 3];
    const stream = await EventStream.open(service, lane.apiKey, { lastEventId: resumeAfter });
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await stream.take(2)).toEqual(all.slice(-2));
      const live = [await verdictFor(lane), await verdictFor(lane, 'inspect')];
      expect(await stream.take(2)).toEqual(live);
    } finally {
      stream.close();
    }
    // ?after= does the same for clients that cannot set headers
    const resumed = await EventStream.open(service, lane.apiKey, { after: all[all.length - 1] });
    try {
      expect((await resumed.next()).result.resultId).not.toBe(all[all.length - 1]);
    } finally {
      resumed.close();
    }
  });

  it("never shows a station another station's results (pull, stream, ack)", async () => {
    const mine = await verdictFor(other);
    const theirs = (await pull(lane, undefined, 500)).results.map((result) => result.resultId);
    const page = await pull(other, undefined, 500);
    expect(page.results.map((result) => result.resultId)).toContain(mine);
    expect(page.results.map((result) => result.resultId).some((id) => theirs.includes(id))).toBe(false);

    const stream = await EventStream.open(service, other.apiKey, { after: '0' });
    try {
      const ids = await stream.take(page.results.length);
      expect(ids).toEqual(page.results.map((result) => result.resultId));
      const next = verdictFor(lane).then(() => verdictFor(other));
      expect((await stream.next()).id).toBe(await next);
    } finally {
      stream.close();
    }

    const foreign = await service.request<{ error: { code: string } }>('POST', `/api/v1/station/results/${theirs[0]}/ack`, { token: other.apiKey });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('result_not_found');
    expect((await service.request('POST', `/api/v1/station/results/${mine}/ack`, { token: other.apiKey })).status).toBe(204);
    expect((await service.request('POST', `/api/v1/station/results/${mine}/ack`, { token: other.apiKey })).status).toBe(204);
    const row = await service.app.get(ResultRepository).findById(Number(mine));
    expect(row?.ackedAt).toBeInstanceOf(Date);
    expect((await service.app.get(ScanRepository).findById(row!.scanId))?.deliveredAt).toBeInstanceOf(Date);
  });

  it('refuses bad cursors and non-station callers', async () => {
    expect((await service.request<{ error: { code: string } }>('GET', '/api/v1/station/results?limit=501', { token: lane.apiKey })).body.error.code).toBe('invalid_query');
    expect((await service.request<{ error: { code: string } }>('GET', '/api/v1/station/results/stream?after=x', { token: lane.apiKey })).body.error.code).toBe('invalid_cursor');
    expect((await service.request('GET', '/api/v1/station/results', { token: service.adminToken })).status).toBe(403);
    expect((await service.request('GET', '/api/v1/admin/undelivered', { token: lane.apiKey })).status).toBe(403);
  });

  it('delivers each result once by signed webhook, retrying after 500s', async () => {
    const ids = [await verdictFor(hooked), await verdictFor(hooked, 'inspect')];
    await delivered(2);
    for (const id of ids) {
      const tries = deliveries.filter((delivery) => delivery.id === id);
      expect(tries.map((delivery) => delivery.status)).toEqual([500, 500, 200]);
      const success = tries[2];
      expect(verifyWebhook(hooked.webhookSecret, success.body, success.signature)).toBe(true);
      expect(JSON.parse(success.body)).toMatchObject({ resultId: id, kind: 'verdict', containers: ['CSQU3054383'] });
      const row = await until(async () => {
        const found = await service.app.get(ResultRepository).findById(Number(id));
        return found?.deliveredAt ? found : undefined;
      }, `result ${id} marked delivered`);
      expect(row.deliveryAttempts).toBe(3);
      expect(row.lastDeliveryError).toBe('the callback URL answered HTTP 500');
      expect((await service.app.get(ScanRepository).findById(row.scanId))?.deliveredAt).toEqual(row.deliveredAt);
    }
    expect(deliveries.filter((delivery) => delivery.status === 200).map((delivery) => delivery.id).sort()).toEqual([...ids].sort());
  });

  it('marks a result undelivered after the last attempt to an unreachable URL; an administrator redelivers it', async () => {
    const id = await verdictFor(unreachable);
    type Undelivered = { results: { resultId: string; stationName: string; attempts: number; lastError: string }[] };
    const listed = async () => (await service.request<Undelivered>('GET', '/api/v1/admin/undelivered', { token: service.adminToken })).body.results.find((result) => result.resultId === id);
    const entry = await until(listed, `result ${id} undelivered`);
    expect(entry).toMatchObject({ stationName: 'Luhamaa 1', attempts: ATTEMPTS, lastError: expect.stringContaining('ECONNREFUSED') });

    const redeliver = await service.request<{ status: string }>('POST', `/api/v1/admin/results/${id}/redeliver`, { token: service.adminToken });
    expect(redeliver.status).toBe(202);
    expect(await listed()).toBeUndefined();
    const again = await until(async () => {
      const found = await listed();
      return found && found.attempts === 2 * ATTEMPTS ? found : undefined;
    }, `result ${id} undelivered again`);
    expect(again.attempts).toBe(2 * ATTEMPTS);
  });
});
