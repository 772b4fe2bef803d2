import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { deliveryWaits } from '../../src/delivery/delivery-schedule.js';
import { DeliveryService } from '../../src/delivery/delivery.service.js';
import { verifyWebhook } from '../../src/delivery/webhook-signature.js';
import { QueueRepository } from '../../src/queue/queue.repository.js';
import { QueueName } from '../../src/queue/jobs.js';
import type { ResultBody } from '../../src/results/result-body.js';
import { expectInvariants } from '../invariants.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';
import { until } from '../until.js';

/**
 * Simulated time. NIIX_DELIVERY_BACKOFF_MS=1 makes the schedule's first wait 1 ms instead of 1 s, and the hour
 * between two retries of a station's undelivered results 3.6 s instead of 1 hour. The default schedule (36
 * attempts over 24 hours, then the result is undelivered) is stood for by ATTEMPTS attempts over about 2 s.
 */
const BACKOFF_MS = 1;
const ATTEMPTS = 12;
const SCHEDULE_MS = deliveryWaits(BACKOFF_MS, ATTEMPTS).reduce((sum, wait) => sum + wait, 0);
/** Hours the endpoint stays down after the last result was given up: with the 24 h of the schedule, 30 hours. */
const HOURS_AFTER_GIVING_UP = 6;

interface Station {
  id: string;
  name: string;
  apiKey: string;
  webhookSecret: string;
}
interface Undelivered {
  results: { resultId: string; stationId: string; scanId: string; attempts: number; undeliveredAt: string }[];
}

/** A station's webhook endpoint that can go down (refusing connections) and come back on the same port. */
class Receiver {
  /** Every request answered 2xx: its X-Niix-Delivery id, verified body. */
  readonly received: { id: string; result: ResultBody; station: string }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;
  private port = 0;
  private up = false;

  constructor(private readonly secrets: Map<string, string>) {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const station = (request.url ?? '').split('/').pop()!;
        const signature = String(request.headers['x-niix-signature']);
        if (!verifyWebhook(this.secrets.get(station) ?? '', body, signature)) {
          response.writeHead(401).end();
          return;
        }
        this.received.push({ id: String(request.headers['x-niix-delivery']), result: JSON.parse(body) as ResultBody, station });
        response.writeHead(204).end();
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  urlOf(station: string): string {
    return `http://127.0.0.1:${this.port}/niix/${station}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.up = true;
  }

  /** Down: the port refuses connections, as a station whose server is off. */
  async stop(): Promise<void> {
    if (!this.up) return;
    this.up = false;
    await new Promise<void>((resolve) => {
      for (const socket of this.sockets) socket.destroy();
      this.server.close(() => resolve());
    });
  }
}

/**
 * A station's webhook endpoint down for 30 simulated hours, then back. While it is down, results of two stations
 * pile up: each is tried on its schedule (24 simulated hours) and given up (listed undelivered); after that, once an
 * hour, only the oldest undelivered result of each station is tried again. When the endpoint is back, the next of
 * those retries gets through and the station's other undelivered results follow, without an administrator: every
 * result arrives, each exactly once (the receiver records the delivery ids), and nothing stays undelivered.
 */
describe('a webhook endpoint down for 30 simulated hours', () => {
  let service: TestService;
  let receiver: Receiver;
  let analystToken: string;
  const secrets = new Map<string, string>();
  const stations: Station[] = [];
  let seed = 700;

  beforeAll(async () => {
    receiver = new Receiver(secrets);
    await receiver.start();
    service = await startTestService({
      env: { NIIX_DELIVERY_BACKOFF_MS: String(BACKOFF_MS), NIIX_DELIVERY_ATTEMPTS: String(ATTEMPTS), NIIX_RECONCILE_SECONDS: '1' },
    });
    for (const name of ['Narva road 1', 'Narva road 2']) {
      const key = name.replace(/\W+/g, '-').toLowerCase();
      const created = await service.request<Station>('POST', '/api/v1/stations', { token: service.adminToken, json: { name, country: 'EE', callbackUrl: receiver.urlOf(key) } });
      expect(created.status).toBe(201);
      secrets.set(key, created.body.webhookSecret);
      stations.push({ ...created.body, name: key });
    }
    expect((await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'analyst-outage', password: 'password-of-tests', roles: ['analyst'] } })).status).toBe(201);
    analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'analyst-outage', password: 'password-of-tests' } })).body.token;
  });

  afterAll(async () => {
    await service?.close();
    await receiver?.stop();
  });

  async function upload(station: Station, files?: { name: string; data: Buffer }[]): Promise<string> {
    const sent = files ?? (await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 320, height: 100 })));
    const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(sent, { reference: `outage-${seed}` }) });
    expect(accepted.status).toBe(202);
    return accepted.body.id;
  }

  /** Uploads `count` scans for each station, waits until they are queued, and gives every case a verdict. */
  async function decideScans(perStation: Map<Station, number>): Promise<string[]> {
    const uploaded: { id: string; station: Station }[] = [];
    for (const [station, count] of perStation) for (let i = 0; i < count; i++) uploaded.push({ id: await upload(station), station });
    for (const { id, station } of uploaded) expect((await service.waitForScan(id, station.apiKey)).status).toBe('queued');
    const ids = uploaded.map((scan) => scan.id);
    const open = new Set(ids);
    while (open.size) {
      const claim = await until(async () => {
        const response = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: analystToken });
        return response.status === 200 ? response.body : undefined;
      }, 'a case to claim');
      const verdict = await service.request('POST', `/api/v1/scans/${claim.scan.id}/verdict`, {
        token: analystToken,
        json: { claimId: claim.claimId, decision: open.size % 2 ? 'clear' : 'inspect', regions: [], comment: 'outage test' },
      });
      expect(verdict.status).toBe(201);
      open.delete(claim.scan.id);
    }
    return ids;
  }

  const undelivered = async () => (await service.request<Undelivered>('GET', '/api/v1/admin/undelivered', { token: service.adminToken })).body.results;
  const resultIdOf = async (scanId: string, station: Station) => {
    const page = await service.request<{ results: ResultBody[] }>('GET', '/api/v1/station/results?limit=500', { token: station.apiKey });
    return page.body.results.find((result) => result.scanId === scanId)?.resultId;
  };

  it('delivers every result exactly once when it is back, without an administrator', async () => {
    const [north, south] = stations;
    const retryMs = service.app.get(DeliveryService).retryUndeliveredMs;
    expect(retryMs).toBe(3600); // one simulated hour
    expect(SCHEDULE_MS).toBeLessThan(retryMs);

    // before the outage: delivered at once
    const [before] = await decideScans(new Map([[north, 1]]));
    await until(async () => receiver.received.find((item) => item.result.scanId === before), 'the webhook before the outage');

    await receiver.stop();
    const downAt = Date.now();
    // while down: results pile up for both stations, verdicts and a conversion failure
    const during = await decideScans(new Map([[north, 4], [south, 2]]));
    const corrupt = readFileSync(path.resolve('libs/scanner-adapters/src/dicos/fixtures/JPEG2000-embedded-sequence-delimiter.dcm'));
    const failed = await upload(north, [{ name: 'corrupt.dcm', data: corrupt }]);
    expect((await service.waitForScan(failed, north.apiKey)).status).toBe('failed');
    during.push(failed);

    // 24 simulated hours: every result's schedule runs out and it is listed undelivered, each after ATTEMPTS attempts
    const resultIds = new Map<string, string>();
    for (const scanId of during) {
      const station = (await service.request<{ stationId: string }>('GET', `/api/v1/scans/${scanId}`, { token: service.adminToken })).body.stationId === north.id ? north : south;
      resultIds.set(scanId, (await until(() => resultIdOf(scanId, station), `the result of scan ${scanId}`))!);
    }
    const givenUp = await until(async () => {
      const listed = await undelivered();
      return during.every((scanId) => listed.some((item) => item.scanId === scanId)) ? listed : undefined;
    }, 'every result of the outage undelivered', 60_000);
    for (const item of givenUp) expect(item.attempts).toBeGreaterThanOrEqual(ATTEMPTS);

    // 6 more simulated hours down: once an hour, the oldest undelivered result of each station is tried again, in vain
    const oldestOf = (listed: Undelivered['results'], station: Station) =>
      listed.filter((item) => item.stationId === station.id).sort((a, b) => Number(a.resultId) - Number(b.resultId))[0];
    const lastRound = await until(
      async () => {
        const listed = await undelivered();
        return [north, south].every((station) => oldestOf(listed, station).attempts >= ATTEMPTS + HOURS_AFTER_GIVING_UP) ? listed : undefined;
      },
      `${HOURS_AFTER_GIVING_UP} hourly retries of each station's oldest result`,
      (HOURS_AFTER_GIVING_UP + 4) * retryMs,
    );
    const hoursDown = (Date.now() - downAt) / retryMs;
    for (const station of [north, south]) {
      const [oldest, ...others] = lastRound.filter((item) => item.stationId === station.id).sort((a, b) => Number(a.resultId) - Number(b.resultId));
      // at a slow pace: at most one retry per simulated hour of the outage, and only the oldest result of the station
      expect(oldest.attempts - ATTEMPTS).toBeLessThanOrEqual(Math.ceil(hoursDown) + 1);
      for (const other of others) expect({ result: other.resultId, attempts: other.attempts }).toEqual({ result: other.resultId, attempts: ATTEMPTS });
    }
    expect(receiver.received.filter((item) => during.includes(item.result.scanId))).toEqual([]);

    // a last result just before the endpoint is back: it is still within its own schedule then
    const [late] = await decideScans(new Map([[south, 1]]));
    await receiver.start();
    const retries = Math.min(...[north, south].map((station) => oldestOf(lastRound, station).attempts - ATTEMPTS));
    console.log(`webhook outage: down ${((Date.now() - downAt) / 1000).toFixed(1)} s: every schedule (${SCHEDULE_MS} ms) ran out, then ${retries}+ hourly retries per station (${(retryMs / 1000).toFixed(1)} s each)`);

    // back: within about an hour every result has arrived, each once, and none is undelivered any more
    const expected = [before, ...during, late];
    await until(async () => expected.every((scanId) => receiver.received.some((item) => item.result.scanId === scanId)), 'every result delivered', 3 * retryMs + 30_000);
    const deliverQueue = service.app.get(QueueRepository).queue(QueueName.Deliver);
    await until(async () => {
      const counts = await deliverQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((count) => count === 0);
    }, 'the deliver queue to be idle');
    expect(await undelivered()).toEqual([]);

    const ids = receiver.received.map((item) => item.id);
    expect(ids.length).toBe(new Set(ids).size); // none twice
    expect(receiver.received.map((item) => item.result.scanId).sort()).toEqual([...expected].sort()); // none missing, nothing else
    for (const item of receiver.received) expect(item.id).toBe(item.result.resultId);
    for (const [scanId, resultId] of resultIds) expect(receiver.received.find((item) => item.result.scanId === scanId)?.id).toBe(resultId);
    for (const station of [north, south]) {
      const own = receiver.received.filter((item) => item.station === station.name).map((item) => item.result.scanId);
      const page = await service.request<{ results: ResultBody[] }>('GET', '/api/v1/station/results?limit=500', { token: station.apiKey });
      expect(own.sort()).toEqual(page.body.results.map((result) => result.scanId).sort()); // each station got its own results
    }
    await expectInvariants(service);
  });
});
