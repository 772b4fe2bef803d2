import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { freePort } from '../../src/common/free-port.js';
import { ReconcileService } from '../../src/reconcile/reconcile.service.js';
import { redisAnswers } from '../../src/redis/redis-endpoint.js';
import { ScanRepository } from '../../src/scans/scan.repository.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';
import { expectInvariants } from '../invariants.js';
import { until } from '../until.js';

/**
 * Redis loses everything while scans are in every state, and niix, not restarted, puts every kind of work back from
 * the database (ReconcileService, every NIIX_RECONCILE_SECONDS): (a) FLUSHALL, (b) redis-server killed and started
 * again empty on the same port. A private redis-server (no persistence) per test; one `api` process and one
 * `convert,deliver` process over one PostgreSQL database, as in production.
 */

const RECONCILE_SECONDS = 2;
const CLAIM_LOCK_SECONDS = 4;
/** Generous bounds for conditions: a few reconcile periods and claim locks on a machine busy with other suites. */
const BACK_WITHIN_MS = 60_000;

interface Claim {
  claimId: string;
  scan: { id: string };
}

/** redis-server on a fixed port, without persistence: stopping it loses everything, as a Redis without AOF does. */
class PrivateRedis {
  private child?: ChildProcess;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    this.child = child;
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`);
        return redisAnswers(this.url);
      },
      `redis-server to answer on port ${this.port}`,
      10_000,
    );
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async command<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 });
    try {
      return await run(client);
    } finally {
      client.disconnect();
    }
  }

}

/** A station's webhook endpoint: answers 500 until `up`; records every attempt with its X-Niix-Delivery id. */
class WebhookReceiver {
  up = false;
  readonly attempts: { resultId: string; at: number; status: number }[] = [];
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<WebhookReceiver> {
    const receiver: WebhookReceiver = new WebhookReceiver(
      http.createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          const status = receiver.up ? 200 : 500;
          receiver.attempts.push({ resultId: String(request.headers['x-niix-delivery']), at: Date.now(), status });
          response.writeHead(status).end();
        });
      }),
    );
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/niix/results`;
  }

  delivered(resultId: string): number {
    return this.attempts.filter((attempt) => attempt.resultId === resultId && attempt.status === 200).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Everything a test needs: Redis, the two processes, a station with a webhook, two analysts, and a scan in every state. */
interface World {
  redis: PrivateRedis;
  api: TestService;
  worker: TestService;
  receiver: WebhookReceiver;
  station: { id: string; apiKey: string };
  analysts: string[];
  /** decided with its webhook undelivered, held by analysts[1], queued in the pool, received, converting. */
  scans: { decided: string; held: string; queued: string; received: string; converting: string };
  decidedResultId: string;
  heldClaim: Claim;
  close(): Promise<void>;
}

let seed = 100;

async function startWorld(): Promise<World> {
  const redis = await PrivateRedis.start();
  const receiver = await WebhookReceiver.start();
  const common = { REDIS_URL: redis.url, NIIX_RECONCILE_SECONDS: String(RECONCILE_SECONDS) };
  const api = await startTestService({ database: 'postgres', env: { ...common, NIIX_ROLES: 'api', NIIX_CLAIM_LOCK_SECONDS: String(CLAIM_LOCK_SECONDS) } });
  const worker = await startTestService({ shareWith: api, env: { ...common, NIIX_ROLES: 'convert,deliver', NIIX_DELIVERY_BACKOFF_MS: '250' } });
  const convertQueue = new Queue('convert', { connection: { url: redis.url }, prefix: api.config.redis.prefix });
  convertQueue.on('error', () => undefined); // Redis goes away in these tests
  const world: Partial<World> = { redis, api, worker, receiver };
  const close = async () => {
    if (!redis.running) await redis.start(); // a failed test may leave it stopped: the services close through it
    await convertQueue.close().catch(() => undefined);
    await worker.close();
    await api.close();
    await receiver.close();
    await redis.stop('SIGKILL');
  };
  try {
    const station = (await api.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: api.adminToken, json: { name: 'Fault lane', country: 'LV', callbackUrl: receiver.url } })).body;
    const analysts: string[] = [];
    for (const username of ['ilze', 'janis']) {
      await api.request('POST', '/api/v1/users', { token: api.adminToken, json: { username, password: 'password-of-tests', roles: ['analyst'] } });
      analysts.push((await api.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: 'password-of-tests' } })).body.token);
    }
    const upload = async () => {
      const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 240, height: 80 }));
      const response = await api.request<{ id: string; status: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
      expect(response.status).toBe(202);
      return response.body.id;
    };

    // decided, its webhook failing (the station's receiver answers 500)
    const decided = await upload();
    expect((await api.waitForScan(decided, station.apiKey)).status).toBe('queued');
    // (the scan is queued a moment before its case is in the pool)
    const first = await until(() => claim(api, analysts[0]), 'the first case in the pool');
    expect(first.scan.id).toBe(decided);
    expect((await verdict(api, analysts[0], first)).status).toBe(201);
    const decidedResultId = await until(async () => (await resultOf(api, decided))?.id, 'the result of the decided scan');
    await until(async () => receiver.attempts.some((attempt) => attempt.resultId === decidedResultId), 'a failed webhook attempt');

    // two cases in the pool (the first of them is claimed last)
    const held = await upload();
    const queued = await upload();
    for (const id of [held, queued]) expect((await api.waitForScan(id, station.apiKey)).status).toBe('queued');

    // no converter free: the convert queue is paused, so new scans stay received with their job waiting
    await convertQueue.pause();
    const received = await upload();
    // a converter took this one (converting), and its job is lost with Redis below
    const converting = await upload();
    expect(await api.app.get(ScanRepository).transition(converting, ['received'], { status: 'converting', convertingAt: new Date() })).toBeTruthy();

    // an analyst holds a case
    const heldClaim = await until(() => claim(api, analysts[1]), 'a case in the pool');
    expect(heldClaim.scan.id).toBe(held);
    Object.assign(world, { station, analysts, scans: { decided, held, queued, received, converting }, decidedResultId, heldClaim, close });
    return world as World;
  } catch (error) {
    await close();
    throw error;
  }
}

/** The next case, or null when none waits or (`untilBack`) the pool answers 503 queue_unavailable, as a client retries. */
async function claim(service: TestService, token: string, options: { untilBack?: boolean } = {}): Promise<Claim | null> {
  const response = await service.request<Claim & { error?: { code: string } }>('POST', '/api/v1/worklist/claim', { token });
  if (response.status === 204) return null;
  if (options.untilBack && response.status === 503 && response.body.error?.code === 'queue_unavailable') return null;
  if (response.status !== 200) throw new Error(`claim: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

function verdict(service: TestService, token: string, claimed: Claim) {
  return service.request<{ final: boolean }>('POST', `/api/v1/scans/${claimed.scan.id}/verdict`, { token, json: { claimId: claimed.claimId, decision: 'clear', comment: 'checked' } });
}

async function sql<T extends pg.QueryResultRow>(service: TestService, text: string, values: unknown[] = []): Promise<T[]> {
  if (service.config.database.kind !== 'postgres') throw new Error('these checks read PostgreSQL');
  const client = new pg.Client({ connectionString: service.config.database.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function resultOf(service: TestService, scanId: string): Promise<{ id: string; delivered: boolean } | undefined> {
  const [row] = await sql<{ id: string; delivered_at: Date | null }>(service, 'select id::text, delivered_at from results where scan_id = $1', [scanId]);
  return row && { id: row.id, delivered: row.delivered_at !== null };
}

async function statusOf(service: TestService, scanId: string): Promise<string> {
  return (await sql<{ status: string }>(service, 'select status from scans where id = $1', [scanId]))[0].status;
}

/**
 * After the fault, without restarting niix: every scan reaches its end (`extra`: scans uploaded meanwhile, to be decided
 * too) and every webhook goes out once. Returns how long after `faultAt` each kind of work was back.
 */
async function expectEverythingBack(world: World, faultAt: number, extra: string[] = []): Promise<Record<string, string>> {
  const { api, receiver, scans, analysts } = world;
  const figures: Record<string, string> = {};
  const mark = (what: string) => (figures[what] = `${((Date.now() - faultAt) / 1000).toFixed(1)} s`);

  const conversions = Promise.all(
    (['received', 'converting'] as const).map(async (state) => {
      await until(async () => (await statusOf(api, scans[state])) === 'queued', `the ${state} scan to be queued`, BACK_WITHIN_MS);
      mark(`${state} → queued`);
    }),
  );
  const webhook = (async () => {
    // the lost webhook is tried again (still failing), then the station's receiver comes back
    await until(async () => receiver.attempts.some((attempt) => attempt.resultId === world.decidedResultId && attempt.at > faultAt), 'the lost webhook to be tried again', BACK_WITHIN_MS);
    mark('webhook retried');
    receiver.up = true;
    await until(async () => (await resultOf(api, scans.decided))?.delivered, 'the webhook to be delivered', BACK_WITHIN_MS);
    mark('webhook delivered');
  })();
  const undecided = [scans.queued, scans.held, scans.received, scans.converting, ...extra];
  const pool = (async () => {
    // an analyst takes every case as it comes back and decides it; the held case comes back once its claim lapsed
    const decided = new Set<string>();
    await until(
      async () => {
        const next = await claim(api, analysts[0], { untilBack: true });
        if (next) {
          expect(undecided).toContain(next.scan.id);
          expect(decided.has(next.scan.id)).toBe(false);
          if (next.scan.id === scans.queued) mark('queued case claimable');
          if (next.scan.id === scans.held) mark('held case back in the pool');
          expect((await verdict(api, analysts[0], next)).status).toBe(201);
          decided.add(next.scan.id);
        }
        return decided.size === undecided.length;
      },
      'every case to come back to the pool and be decided',
      BACK_WITHIN_MS * 2,
    );
    // the analyst who held the case lost it: its claim lapsed
    const late = await api.request<{ error: { code: string } }>('POST', `/api/v1/worklist/claims/${world.heldClaim.claimId}/heartbeat`, { token: analysts[1] });
    expect([late.status, late.body.error.code]).toEqual([409, 'lock_lost']);
  })();
  await Promise.all([conversions, webhook, pool]);

  // the results of the cases decided after the fault go out too
  for (const id of undecided) await until(async () => (await resultOf(api, id))?.delivered, `the webhook of scan ${id}`, BACK_WITHIN_MS);
  // two more passes of every kind in both processes find nothing left to put back and send nothing twice
  for (const service of [world.api, world.worker, world.api, world.worker]) await service.app.get(ReconcileService).run();
  for (const id of [...Object.values(scans), ...extra]) expect(receiver.delivered((await resultOf(api, id))!.id)).toBe(1);
  expect(await sql(api, `select id, status from scans where status <> 'decided'`)).toEqual([]);
  expect(await sql(api, 'select id, scan_id from claims where ended_at is null')).toEqual([]);
  await expectInvariants(api);
  return figures;
}

describe('a lost Redis, survived without restart (PostgreSQL)', () => {
  let world: World | undefined;

  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('puts every kind of work back after FLUSHALL', async () => {
    world = await startWorld();
    const faultAt = Date.now();
    expect(await world.redis.command((client) => client.flushall())).toBe('OK');
    const figures = await expectEverythingBack(world, faultAt);
    console.log(`after FLUSHALL (NIIX_RECONCILE_SECONDS=${RECONCILE_SECONDS}, NIIX_CLAIM_LOCK_SECONDS=${CLAIM_LOCK_SECONDS}): ${JSON.stringify(figures)}`);
  });

  it('answers 503 while Redis is down, and puts every kind of work back when it comes back empty', async () => {
    const current = (world = await startWorld());
    const { api, redis, station, analysts, heldClaim } = current;
    await redis.stop('SIGKILL');
    const downAt = Date.now();

    // during the outage: readiness says what is down; the work pool answers 503 queue_unavailable at once (never a
    // 500, never a request waiting for Redis) and changes nothing
    const ready = await api.request<{ checks: { redis: { ok: boolean } } }>('GET', '/health/ready');
    expect([ready.status, ready.body.checks.redis.ok]).toEqual([503, false]);
    const started = Date.now();
    const refusals = [
      await api.request<{ error?: { code: string } }>('POST', '/api/v1/worklist/claim', { token: analysts[0] }),
      await api.request<{ error?: { code: string } }>('POST', `/api/v1/worklist/claims/${heldClaim.claimId}/heartbeat`, { token: analysts[1] }),
      await verdict(api, analysts[1], heldClaim),
      await api.request<{ error?: { code: string } }>('DELETE', `/api/v1/worklist/claims/${heldClaim.claimId}`, { token: analysts[1] }),
      await api.request<{ error?: { code: string } }>('GET', '/api/v1/worklist/stats', { token: api.adminToken }),
    ];
    const refusedWithinMs = Date.now() - started;
    for (const refused of refusals) {
      expect([refused.status, (refused.body as { error?: { code: string } }).error?.code]).toEqual([503, 'queue_unavailable']);
      expect(refused.headers.get('retry-after')).toBeTruthy();
    }
    expect(await sql(api, 'select id from claims where id = $1 and ended_at is null', [heldClaim.claimId])).toHaveLength(1);
    // what the database holds is still served
    expect((await api.request('GET', `/api/v1/scans/${current.scans.queued}`, { token: station.apiKey })).status).toBe(200);
    expect((await api.request('GET', '/api/v1/station/results', { token: station.apiKey })).status).toBe(200);
    // a reconciliation pass ends at once, saying why; the next one tries again
    expect((await api.app.get(ReconcileService).run())['redis prefix']).toBeInstanceOf(Error);
    // a station uploads meanwhile: the scan is recorded (202, never a 5xx) and converted once Redis is back; the
    // station sending it again is told it is the same scan
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 240, height: 80 }));
    const during = await api.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
    expect(during.status).toBe(202);

    await redis.start();
    const backAt = Date.now();
    const again = await api.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
    expect([again.status, again.body.id]).toEqual([200, during.body.id]);
    const figures = await expectEverythingBack(current, backAt, [again.body.id]);
    console.log(
      `redis-server killed, started again empty after ${((backAt - downAt) / 1000).toFixed(1)} s: 5 pool requests refused in ${refusedWithinMs} ms in all; ` +
        `an upload during the outage answered ${during.status}, its repeat ${again.status}; back after the restart: ${JSON.stringify(figures)}`,
    );
  });
});
