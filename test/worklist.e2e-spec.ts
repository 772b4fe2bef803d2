import { randomUUID } from 'node:crypto';
import dicomParser from 'dicom-parser';
import { readThreatDetectionReport } from '../libs/scanner-adapters/src/dicos/tdr.writer.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { ReviewQueueRepository } from '../src/review/review-queue.repository.js';
import { WorklistService } from '../src/review/worklist.service.js';
import { TEST_REDIS_URL, type TestService, startTestService } from './service.harness.js';
import { deleteRedisKeys } from './redis.js';
import { until } from './until.js';

interface Claim {
  claimId: string;
  lockExpiresAt: string;
  scan: { id: string; stage: string; riskScore: number };
}

const manifest = (scanId: string, stationId: string) => ({
  format: 'niix-exchange',
  version: '1.0',
  scanId,
  stationId,
  scanner: { vendor: 'Aurora Inspection Systems' },
  acquiredAt: null,
  conveyance: { containers: [], licencePlates: [], declarations: [], fields: {} },
  views: [{ id: 'side', width: 800, height: 250, pixelSpacingMm: null, airValue: 60000, planes: [] }],
  provenance: { originals: [], adapter: { id: 'raw:aurora-ax6', version: '1' }, convertedAt: new Date().toISOString(), warnings: [] },
});

/**
 * The analyst work pool over HTTP with real Redis (BullMQ), on PostgreSQL and on PGlite. Cases are put into the pool the way
 * the pipeline does it (a queued scan row, then WorklistService.enqueue), which keeps 200 cases fast.
 */
describe.each(['postgres', 'pglite'] as const)('analyst work pool end to end on %s', (database) => {
  let service: TestService;
  let station: { id: string; apiKey: string };
  const analysts: { id: string; token: string }[] = [];
  let supervisorToken: string;

  async function user(username: string, roles: string[]): Promise<{ id: string; token: string }> {
    const created = await service.request<{ id: string }>('POST', '/api/v1/users', { token: service.adminToken, json: { username, password: 'password-of-tests', roles } });
    const login = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: 'password-of-tests' } });
    return { id: created.body.id, token: login.body.token };
  }

  /** Queued scans in the pool, as the pipeline leaves them. */
  async function seed(cases: { risk?: number; slaSeconds?: number; pool?: string }[]): Promise<string[]> {
    const scans = service.app.get(ScanRepository);
    const worklist = service.app.get(WorklistService);
    const ids: string[] = [];
    for (const item of cases) {
      const id = randomUUID();
      const now = new Date();
      await scans.insertWithFiles(
        {
          id,
          stationId: station.id,
          status: 'received',
          contentSha256: id,
          metadata: { reference: `ref-${ids.length}` },
          adapterId: 'raw:aurora-ax6',
          riskScore: item.risk ?? 0,
          pool: item.pool ?? 'central',
          receivedAt: now,
          slaDeadline: new Date(now.getTime() + (item.slaSeconds ?? 600) * 1000),
        },
        [],
      );
      await scans.transition(id, ['received'], { status: 'queued', queuedAt: now, manifest: manifest(id, station.id) });
      await worklist.enqueue((await scans.findById(id))!);
      ids.push(id);
    }
    return ids;
  }

  async function claim(token: string): Promise<Claim | null> {
    const response = await service.request<Claim>('POST', '/api/v1/worklist/claim', { token });
    if (response.status === 204) return null;
    expect(response.status).toBe(200);
    return response.body;
  }

  async function decide(token: string, claimed: Claim, decision = 'clear', regions: unknown[] = []) {
    return service.request<{ final: boolean; error?: { code: string } }>('POST', `/api/v1/scans/${claimed.scan.id}/verdict`, {
      token,
      json: { claimId: claimed.claimId, decision, regions, comment: 'checked' },
    });
  }

  /** Takes every case that waits, releasing none: the ids in the order the pool gave them. */
  async function drain(token: string): Promise<string[]> {
    const order: string[] = [];
    for (let next = await claim(token); next; next = await claim(token)) {
      order.push(next.scan.id);
      expect((await decide(token, next)).status).toBe(201);
    }
    return order;
  }

  beforeAll(async () => {
    // Short enough for the lapse test to see a lock run out, long enough that a claim → verdict round trip on a
    // machine busy with other suites (two jest workers on two cores) stays inside it.
    service = await startTestService({ database, env: { NIIX_CLAIM_LOCK_SECONDS: '5' } });
    const created = await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Medininkai 1', country: 'LT' } });
    station = created.body;
    for (let i = 0; i < 20; i++) analysts.push(await user(`analyst${i}`, ['analyst']));
    supervisorToken = (await user('supervisor', ['supervisor'])).token;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers 204 when nothing waits', async () => {
    expect(await claim(analysts[0].token)).toBeNull();
  });

  it('never gives one case to two analysts: 20 analysts claiming at once from 200 cases', async () => {
    const seeded = await seed(Array.from({ length: 200 }, () => ({})));
    const taken: string[] = [];
    await Promise.all(
      analysts.map(async (analyst) => {
        for (let next = await claim(analyst.token); next; next = await claim(analyst.token)) {
          taken.push(next.scan.id);
          expect((await decide(analyst.token, next)).status).toBe(201);
        }
      }),
    );
    expect(taken).toHaveLength(200);
    expect(new Set(taken).size).toBe(200);
    expect(new Set(taken)).toEqual(new Set(seeded));
  });

  it('orders by risk, then SLA deadline, then arrival', async () => {
    const [lowLate, lowEarly, high, lowEarlySecond, critical] = await seed([
      { risk: 10, slaSeconds: 900 },
      { risk: 10, slaSeconds: 120 },
      { risk: 75, slaSeconds: 900 },
      { risk: 10, slaSeconds: 120 },
      { risk: 95, slaSeconds: 3600 },
    ]);
    expect(await drain(analysts[0].token)).toEqual([critical, high, lowEarly, lowEarlySecond, lowLate]);
  });

  it('keeps a claim alive with heartbeats and returns a lapsed one to the pool', async () => {
    const [id] = await seed([{}]);
    const first = (await claim(analysts[1].token))!;
    expect(first.scan.id).toBe(id);
    const beat = await service.request<{ lockExpiresAt: string }>('POST', `/api/v1/worklist/claims/${first.claimId}/heartbeat`, { token: analysts[1].token });
    expect(beat.status).toBe(200);
    // no more heartbeats: the lock lapses and the case goes back, to be claimed by someone else
    let again: Claim | null = null;
    for (let attempt = 0; attempt < 150 && !again; attempt++) {
      again = await claim(analysts[2].token);
      if (!again) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(again?.scan.id).toBe(id);
    const late = await service.request<{ error: { code: string } }>('POST', `/api/v1/worklist/claims/${first.claimId}/heartbeat`, { token: analysts[1].token });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('lock_lost');
    expect((await decide(analysts[1].token, first)).status).toBe(409);
    expect((await decide(analysts[2].token, again!)).status).toBe(201);
  });

  it('returns a lapsed case at its own priority, never ahead of more urgent work', async () => {
    const [low] = await seed([{ risk: 0 }]);
    const held = (await claim(analysts[5].token))!;
    expect(held.scan.id).toBe(low);
    const [urgent] = await seed([{ risk: 95 }]);
    // no heartbeat: the claim on the risk-0 case lapses while the risk-95 case waits
    const pool = service.app.get(ReviewQueueRepository);
    await until(async () => (await pool.state('central', low, 'first')) !== 'active', 'the lapsed case back in the pool', 60_000);
    expect(await drain(analysts[6].token)).toEqual([urgent, low]);
  });

  it('puts a released case back at once, at its place', async () => {
    const [urgent, later] = await seed([{ risk: 50 }, { risk: 10 }]);
    const first = (await claim(analysts[3].token))!;
    expect(first.scan.id).toBe(urgent);
    const released = await service.request('DELETE', `/api/v1/worklist/claims/${first.claimId}`, { token: analysts[3].token });
    expect(released.status).toBe(204);
    expect(await drain(analysts[4].token)).toEqual([urgent, later]);
  });

  it('refuses verdicts without a valid claim, on another analyst\'s claim, or twice (409)', async () => {
    const [id] = await seed([{}]);
    const held = (await claim(analysts[5].token))!;
    const noClaim = await service.request<{ error: { code: string } }>('POST', `/api/v1/scans/${id}/verdict`, { token: analysts[5].token, json: { claimId: randomUUID(), decision: 'clear' } });
    expect([noClaim.status, noClaim.body.error.code]).toEqual([409, 'claim_not_found']);
    const theirs = await decide(analysts[6].token, held);
    expect([theirs.status, theirs.body.error?.code]).toEqual([409, 'claim_not_yours']);
    expect((await decide(analysts[5].token, held)).status).toBe(201);
    const twice = await decide(analysts[5].token, held);
    expect([twice.status, twice.body.error?.code]).toEqual([409, 'claim_closed']);
    const badRegion = await seed([{}]);
    const other = (await claim(analysts[5].token))!;
    expect(other.scan.id).toBe(badRegion[0]);
    const outside = await decide(analysts[5].token, other, 'inspect', [{ view: 'side', x: 790, y: 0, width: 50, height: 10, category: 'narcotics' }]);
    expect([outside.status, outside.body.error?.code]).toEqual([400, 'invalid_region']);
    expect((await decide(analysts[5].token, other)).status).toBe(201);
  });

  it('sends high-risk cases to a second analyst before the verdict is final (four-eyes)', async () => {
    const pool = await service.request('PUT', '/api/v1/pools/central', { token: service.adminToken, json: { fourEyesRisk: 80, fourEyesOnInspect: false } });
    expect(pool.status).toBe(200);
    const [id] = await seed([{ risk: 85 }]);
    const first = (await claim(analysts[7].token))!;
    const firstVerdict = await decide(analysts[7].token, first, 'inspect', [{ view: 'side', x: 10, y: 20, width: 100, height: 50, category: 'narcotics', note: 'dense packets' }]);
    expect(firstVerdict.body.final).toBe(false);
    expect(await claim(analysts[7].token)).toBeNull(); // not the same analyst
    const second = (await claim(analysts[8].token))!;
    expect([second.scan.id, second.scan.stage]).toEqual([id, 'second']);
    const secondVerdict = await decide(analysts[8].token, second, 'inspect', [{ view: 'side', x: 12, y: 22, width: 96, height: 48, category: 'narcotics', note: 'confirmed' }]);
    expect(secondVerdict.body.final).toBe(true);
    await service.request('PUT', '/api/v1/pools/central', { token: service.adminToken, json: { fourEyesRisk: null } });

    // the final verdict as a DICOS Threat Detection Report, readable by dicom-parser
    const tdr = await service.bytes(`/api/v1/scans/${id}/verdict.dcs`, station.apiKey);
    expect(tdr.status).toBe(200);
    expect(() => dicomParser.parseDicom(new Uint8Array(tdr.data))).not.toThrow();
    const report = readThreatDetectionReport(tdr.data);
    expect(report).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.501.3', tdrType: 'OPERATOR', alarmDecision: 'ALARM' });
    expect(report.objects).toHaveLength(1);

    // the station reports what the physical inspection found, once
    const outcome = await service.request('POST', `/api/v1/scans/${id}/outcome`, { token: station.apiKey, json: { found: true, categories: ['narcotics'], note: '42 kg' } });
    expect(outcome.status).toBe(201);
    const again = await service.request<{ error: { code: string } }>('POST', `/api/v1/scans/${id}/outcome`, { token: station.apiKey, json: { found: true } });
    expect([again.status, again.body.error.code]).toEqual([409, 'outcome_exists']);
  });

  it('puts every waiting case back once after Redis lost the pool', async () => {
    const seeded = await seed(Array.from({ length: 10 }, () => ({})));
    expect(await deleteRedisKeys(TEST_REDIS_URL, `${service.config.redis.prefix}:review-*`)).toBeGreaterThan(0);
    const worklist = service.app.get(WorklistService);
    expect(await worklist.reconcile()).toBe(10);
    expect(await worklist.reconcile()).toBe(0);
    const order = await drain(analysts[9].token);
    expect(order.sort()).toEqual([...seeded].sort());
  });

  it('shows supervisors depth, holders and recent decisions, and lets them reassign', async () => {
    const [id] = await seed([{ risk: 30 }]);
    const held = (await claim(analysts[10].token))!;
    const stats = await service.request<{ pools: { pool: string; held: number }[]; holders: { claimId: string; analyst: string }[]; recent: unknown[] }>('GET', '/api/v1/worklist/stats', { token: supervisorToken });
    expect(stats.status).toBe(200);
    expect(stats.body.holders).toContainEqual(expect.objectContaining({ claimId: held.claimId, analyst: 'analyst10' }));
    expect(stats.body.pools.find((pool) => pool.pool === 'central')?.held).toBeGreaterThanOrEqual(1);
    expect(stats.body.recent.length).toBeGreaterThan(0);
    const asAnalyst = await service.request('GET', '/api/v1/worklist/stats', { token: analysts[0].token });
    expect(asAnalyst.status).toBe(403);
    const moved = await service.request('POST', `/api/v1/worklist/claims/${held.claimId}/reassign`, { token: supervisorToken, json: { toAnalystId: analysts[11].id } });
    expect(moved.status).toBe(200);
    expect(await claim(analysts[12].token)).toBeNull(); // reserved for analyst11
    const given = (await claim(analysts[11].token))!;
    expect(given.scan.id).toBe(id);
    expect((await decide(analysts[10].token, held)).status).toBe(409);
    expect((await decide(analysts[11].token, given)).status).toBe(201);
  });
});
