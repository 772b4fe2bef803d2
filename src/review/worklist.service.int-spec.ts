import type { UserPrincipal } from '../auth/roles.js';
import type { Database } from '../database/database.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { refusal } from '../../test/builders.js';
import { DATABASE_KINDS, insertPoolWithAnalysts, type Medium, REVIEW_PROVIDERS, auditActions, insertQueuedScan, insertStation, insertUser, type QueuedScanOptions, startMedium } from '../../test/medium.js';
import { deleteRedisKeys } from '../../test/redis.js';
import { TEST_REDIS_URL } from '../../test/service.harness.js';
import { until } from '../../test/until.js';
import { ReviewQueueRepository } from './review-queue.repository.js';
import { ReviewRepository } from './review.repository.js';
import { VerdictService } from './verdict.service.js';
import { type ClaimResponse, WorklistService } from './worklist.service.js';

/** How long a claim holds without a heartbeat here: short enough to see one lapse, long enough for a claim → verdict round trip. */
const LOCK_SECONDS = 4;

/**
 * The analyst work pool below HTTP: WorklistService with its real repositories (claims in the database, the pool in
 * BullMQ on real Redis), on PGlite and PostgreSQL. Every test works in pools of its own, so their orders do not mix.
 */
describe.each(DATABASE_KINDS)(`${WorklistService.name} on %s`, (kind) => {
  let medium: Medium;
  let database: Database;
  let worklist: WorklistService;
  let verdicts: VerdictService;
  let review: ReviewRepository;
  let queue: ReviewQueueRepository;
  let scans: ScanRepository;
  let station: Awaited<ReturnType<typeof insertStation>>;
  let supervisor: UserPrincipal;

  beforeAll(async () => {
    medium = await startMedium(kind, REVIEW_PROVIDERS, { NIIX_CLAIM_LOCK_SECONDS: String(LOCK_SECONDS) });
    database = medium.database;
    worklist = medium.get(WorklistService);
    verdicts = medium.get(VerdictService);
    review = medium.get(ReviewRepository);
    queue = medium.get(ReviewQueueRepository);
    scans = medium.get(ScanRepository);
    station = await insertStation(database, { name: 'Medininkai 1' });
    supervisor = await insertUser(database, ['supervisor']);
  });

  afterAll(async () => {
    await medium?.close();
  });

  const poolWithAnalysts = (count: number, rules: { fourEyesRisk?: number; fourEyesOnInspect?: boolean } = {}) => insertPoolWithAnalysts(database, review, count, rules);

  /** Queued scans put into their pool the way the pipeline does it. */
  async function seed(pool: string, cases: Omit<QueuedScanOptions, 'stationId' | 'pool'>[]): Promise<ScanRow[]> {
    const seeded: ScanRow[] = [];
    for (const item of cases) {
      const scan = await insertQueuedScan(database, { stationId: station.id, pool, ...item });
      await worklist.enqueue(scan);
      seeded.push(scan);
    }
    return seeded;
  }

  const decide = (analyst: UserPrincipal, claim: ClaimResponse, decision: 'clear' | 'inspect' = 'clear') =>
    verdicts.decide(analyst, claim.scan.id, { claimId: claim.claimId, decision, regions: [], comment: '' });

  /** Claims and decides until nothing waits: the scan ids in the order the pool gave them. */
  async function drain(analyst: UserPrincipal): Promise<string[]> {
    const order: string[] = [];
    for (let next = await worklist.claim(analyst); next; next = await worklist.claim(analyst)) {
      order.push(next.scan.id);
      await decide(analyst, next);
    }
    return order;
  }

  it('gives nothing when the pools of the analyst are empty', async () => {
    const { analysts } = await poolWithAnalysts(1);
    expect(await worklist.claim(analysts[0])).toBeNull();
  });

  it('orders by risk band, then SLA deadline, then arrival', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const [normalLate, normalEarly, high, normalEarlySecond, critical, elevatedLater, elevatedSooner] = await seed(pool, [
      { risk: 10, slaSeconds: 900 },
      { risk: 10, slaSeconds: 120 },
      { risk: 75, slaSeconds: 900 },
      { risk: 10, slaSeconds: 120 },
      { risk: 95, slaSeconds: 3600 },
      { risk: 69, slaSeconds: 600 },
      // same band (elevated, 40..69) as the risk-69 case: the earlier deadline goes first, not the higher risk
      { risk: 40, slaSeconds: 60 },
    ]);
    const first = (await worklist.claim(analysts[0]))!;
    expect(first.scan).toMatchObject({ id: critical.id, stage: 'first', stationId: station.id, stationName: 'Medininkai 1', pool, riskScore: 95 });
    expect(first.scan.slaDeadline).toBe(critical.slaDeadline!.toISOString());
    await decide(analysts[0], first);
    expect(await drain(analysts[0])).toEqual([high, elevatedSooner, elevatedLater, normalEarly, normalEarlySecond, normalLate].map((scan) => scan.id));
  });

  it('records a claim with its lock time, the scan\'s first claim time and the audit event', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    const [scan] = await seed(pool, [{}]);
    const claimed = (await worklist.claim(analysts[0]))!;
    const row = (await review.claim(claimed.claimId))!;
    expect(row).toMatchObject({ scanId: scan.id, analystId: analysts[0].id, stage: 'first', endedAt: null, endReason: null });
    expect(row.expiresAt.toISOString()).toBe(claimed.lockExpiresAt);
    expect(row.expiresAt.getTime() - row.claimedAt.getTime()).toBe(LOCK_SECONDS * 1000);
    expect((await scans.findById(scan.id))!.claimedAt).toEqual(row.claimedAt);
    expect(await auditActions(database, scan.id)).toEqual(['case.claimed']);
    expect((await review.openClaims()).filter((holder) => holder.scanId === scan.id)).toEqual([
      expect.objectContaining({ claimId: claimed.claimId, pool, stage: 'first', analyst: analysts[0].username, analystId: analysts[0].id }),
    ]);

    // given back and claimed by another: the scan keeps its first claim time
    await worklist.release(analysts[0], claimed.claimId);
    const again = (await worklist.claim(analysts[1]))!;
    expect(again.scan.id).toBe(scan.id);
    expect(again.claimId).not.toBe(claimed.claimId);
    expect((await scans.findById(scan.id))!.claimedAt).toEqual(row.claimedAt);
    await decide(analysts[1], again);
  });

  it('puts a released case back at once, at its place; only its holder releases it, once', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    const [urgent, later] = await seed(pool, [{ risk: 50 }, { risk: 10 }]);
    const held = (await worklist.claim(analysts[0]))!;
    expect(held.scan.id).toBe(urgent.id);
    expect(await queue.state(pool, urgent.id, 'first')).toBe('active');

    expect(await refusal(worklist.release(analysts[1], held.claimId))).toMatchObject({ status: 409, code: 'claim_not_yours' });
    await worklist.release(analysts[0], held.claimId);
    expect(await review.claim(held.claimId)).toMatchObject({ endReason: 'released' });
    expect(await auditActions(database, urgent.id)).toEqual(['case.claimed', 'case.released']);
    expect(await refusal(worklist.release(analysts[0], held.claimId))).toMatchObject({ status: 409, code: 'claim_closed' });

    expect(await drain(analysts[1])).toEqual([urgent.id, later.id]);
  });

  it('leaves the claim open for the verdict when a heartbeat is overtaken by that verdict', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const [scan] = await seed(pool, [{}]);
    const claimed = (await worklist.claim(analysts[0]))!;
    // the verdict's first step: the case's job is completed with the claim's lock; its record follows
    expect(await queue.complete(pool, scan.id, 'first', claimed.claimId)).toBe(true);
    expect(await refusal(worklist.heartbeat(analysts[0], claimed.claimId))).toMatchObject({ status: 409, code: 'claim_closed' });
    expect((await review.claim(claimed.claimId))!.endedAt).toBeNull();
  });

  it('keeps a claim alive with heartbeats of its holder only', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    await seed(pool, [{}]);
    const claimed = (await worklist.claim(analysts[0]))!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beat = await worklist.heartbeat(analysts[0], claimed.claimId);
    expect(beat.claimId).toBe(claimed.claimId);
    expect(Date.parse(beat.lockExpiresAt)).toBeGreaterThan(Date.parse(claimed.lockExpiresAt));
    expect((await review.claim(claimed.claimId))!.expiresAt.toISOString()).toBe(beat.lockExpiresAt);

    expect(await refusal(worklist.heartbeat(analysts[1], claimed.claimId))).toMatchObject({ status: 409, code: 'claim_not_yours' });
    expect(await refusal(worklist.heartbeat(analysts[0], 'not-a-claim'))).toMatchObject({ status: 409, code: 'claim_not_found' });
    await decide(analysts[0], claimed);
    expect(await refusal(worklist.heartbeat(analysts[0], claimed.claimId))).toMatchObject({ status: 409, code: 'claim_closed' });
  });

  it('returns a lapsed case to the pool at its own priority: after more urgent work, before less urgent', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    const [middle] = await seed(pool, [{ risk: 50 }]);
    const lapsing = (await worklist.claim(analysts[0]))!;
    expect(lapsing.scan.id).toBe(middle.id);
    const [urgent, low] = await seed(pool, [{ risk: 95 }, { risk: 0, slaSeconds: 30 }]);

    // no heartbeat: BullMQ's stalled check finds the lock gone and the claim is closed as lapsed
    await until(async () => (await review.claim(lapsing.claimId))?.endReason === 'lapsed', 'the claim closed as lapsed', 30_000);
    await until(async () => (await queue.state(pool, middle.id, 'first')) === 'prioritized', 'the lapsed case back among the prioritised cases', 10_000);
    expect(await refusal(worklist.heartbeat(analysts[0], lapsing.claimId))).toMatchObject({ status: 409, code: 'lock_lost' });
    expect(await refusal(decide(analysts[0], lapsing))).toMatchObject({ status: 409, code: 'lock_lost' });

    expect(await drain(analysts[1])).toEqual([urgent.id, middle.id, low.id]);
    expect((await review.verdictsOf(middle.id)).map((verdict) => verdict.analystId)).toEqual([analysts[1].id]);
  });

  it('gives members the most urgent case of all their pools, and analysts of no pool the central pool', async () => {
    const north = await poolWithAnalysts(1);
    const south = await poolWithAnalysts(0);
    const both = await insertUser(database, ['analyst']);
    await review.addMember(north.pool, both.id);
    await review.addMember(south.pool, both.id);
    const northOnly = north.analysts[0];
    const noPool = await insertUser(database, ['analyst']);
    expect((await review.poolsOf(both.id)).sort()).toEqual([north.pool, south.pool].sort());
    expect(await review.poolsOf(noPool.id)).toEqual([]);

    const [northCase] = await seed(north.pool, [{ risk: 20 }]);
    const [southCase] = await seed(south.pool, [{ risk: 80 }]);
    const [centralCase] = await seed('central', [{ risk: 99 }]);

    const forBoth = (await worklist.claim(both))!;
    expect([forBoth.scan.id, forBoth.scan.pool]).toEqual([southCase.id, south.pool]);
    await decide(both, forBoth);
    const forNorth = (await worklist.claim(northOnly))!;
    expect([forNorth.scan.id, forNorth.scan.pool]).toEqual([northCase.id, north.pool]);
    await decide(northOnly, forNorth);
    expect(await worklist.claim(northOnly)).toBeNull(); // the central case is not in its pools
    expect(await worklist.claim(both)).toBeNull();
    expect(await drain(noPool)).toEqual([centralCase.id]);

    // out of its only pool, the analyst claims from the central pool
    await review.removeMember(north.pool, northOnly.id);
    expect(await review.members(north.pool)).toEqual([{ id: both.id, username: both.username }]);
    const [nextCentral] = await seed('central', [{}]);
    expect(await drain(northOnly)).toEqual([nextCentral.id]);
  });

  it('skips a case excluded for an analyst (second opinion) and keeps its place for the others', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    const [firstAnalyst, other] = analysts;
    const excluded = await insertQueuedScan(database, { stationId: station.id, pool, risk: 30 });
    await worklist.enqueue(excluded, 'second', [firstAnalyst.id]);
    const [lessUrgent] = await seed(pool, [{ risk: 10 }]);

    const taken = (await worklist.claim(firstAnalyst))!;
    expect([taken.scan.id, taken.scan.stage]).toEqual([lessUrgent.id, 'first']);
    await decide(firstAnalyst, taken);
    expect(await worklist.claim(firstAnalyst)).toBeNull();
    expect(await queue.state(pool, excluded.id, 'second')).toBe('prioritized');

    const second = (await worklist.claim(other))!;
    expect([second.scan.id, second.scan.stage]).toEqual([excluded.id, 'second']);
    await decide(other, second);
  });

  it('lets a supervisor take a case from its holder: reserved for the analyst named, or back to everyone', async () => {
    const { pool, analysts } = await poolWithAnalysts(3);
    const [holder, named, bystander] = analysts;
    const [scan] = await seed(pool, [{}]);
    const held = (await worklist.claim(holder))!;

    expect(await worklist.reassign(supervisor, held.claimId, { toAnalystId: named.id })).toEqual({ scanId: scan.id, reservedFor: named.id });
    expect(await review.claim(held.claimId)).toMatchObject({ endReason: 'reassigned' });
    expect(await auditActions(database, scan.id)).toEqual(['case.claimed', 'case.reassigned']);
    expect(await refusal(worklist.reassign(supervisor, held.claimId, {}))).toMatchObject({ status: 404, code: 'claim_not_found' });
    expect(await refusal(decide(holder, held))).toMatchObject({ status: 409, code: 'claim_closed' });

    expect(await worklist.claim(bystander)).toBeNull(); // reserved for the analyst named
    const given = (await worklist.claim(named))!;
    expect(given.scan.id).toBe(scan.id);

    expect(await worklist.reassign(supervisor, given.claimId, {})).toEqual({ scanId: scan.id, reservedFor: null });
    expect(await drain(bystander)).toEqual([scan.id]);
  });

  it('drops a case whose scan is no longer queued and gives the next one', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const [gone, next] = await seed(pool, [{ risk: 90 }, { risk: 10 }]);
    expect(await scans.transition(gone.id, ['queued'], { status: 'failed', failedAt: new Date() })).toBe(true);
    const claimed = (await worklist.claim(analysts[0]))!;
    expect(claimed.scan.id).toBe(next.id);
    expect(await queue.state(pool, gone.id, 'first')).toBeNull();
    expect(await review.openClaimOf(gone.id, 'first')).toBeUndefined();
    await decide(analysts[0], claimed);
  });

  it('puts every waiting case back, at its stage, after Redis lost the pool, and closes claims whose lock ran out unseen', async () => {
    const { pool, analysts } = await poolWithAnalysts(2, { fourEyesOnInspect: true });
    const [firstAnalyst, other] = analysts;
    const [secondOpinion, waiting, lowest] = await seed(pool, [{ risk: 60 }, { risk: 20 }, { risk: 10 }]);
    const firstVerdict = (await worklist.claim(firstAnalyst))!;
    expect(firstVerdict.scan.id).toBe(secondOpinion.id);
    expect((await decide(firstAnalyst, firstVerdict, 'inspect')).final).toBe(false);
    const holding = (await worklist.claim(firstAnalyst))!; // the second opinion is not for the first analyst
    expect([holding.scan.id, holding.scan.stage]).toEqual([waiting.id, 'first']);

    // a claim whose lock time passed but whose case BullMQ still holds is left alone
    await review.extendClaim(holding.claimId, new Date(Date.now() - 1000));
    await worklist.reconcile();
    expect((await review.claim(holding.claimId))!.endedAt).toBeNull();

    expect(await deleteRedisKeys(TEST_REDIS_URL, `${medium.config.redis.prefix}:review-${pool}:*`)).toBeGreaterThan(0);
    // the pool's own repair puts back the first-stage cases, the verdicts' repair the second opinion (ReconcileService runs both, in this order)
    const repair = async () => (await worklist.reconcile()) + (await verdicts.reconcileResults());
    expect(await repair()).toBe(3);
    expect(await repair()).toBe(0);
    expect(await review.claim(holding.claimId)).toMatchObject({ endReason: 'lapsed' });
    expect(await queue.state(pool, secondOpinion.id, 'second')).toBe('prioritized');
    expect(await queue.state(pool, secondOpinion.id, 'first')).toBeNull();

    // the first analyst does not get the second opinion of its own case
    expect(await drain(firstAnalyst)).toEqual([waiting.id, lowest.id]);
    const second = (await worklist.claim(other))!;
    expect([second.scan.id, second.scan.stage]).toEqual([secondOpinion.id, 'second']);
    expect((await decide(other, second)).final).toBe(true);
  });

  it('shows supervisors per pool what waits, who holds what, SLA breaches and the decisions of the last hour', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const queuedAt = new Date(Date.now() - 120_000);
    const [overdue, onTime] = await seed(pool, [
      { at: queuedAt, slaSeconds: 60 },
      { slaSeconds: 600 },
    ]);
    const held = (await worklist.claim(analysts[0]))!;
    expect(held.scan.id).toBe(overdue.id);

    const before = await worklist.stats();
    const figures = before.pools.find((entry) => entry.pool === pool)!;
    expect(figures).toMatchObject({ waiting: 1, held: 1, slaBreaches: 1, oldestQueuedAt: queuedAt.toISOString(), decidedLastHour: 0, decidedLateLastHour: 0 });
    expect(figures.oldestWaitSeconds).toBeGreaterThanOrEqual(120);
    expect(figures.oldestWaitSeconds).toBeLessThan(150);
    expect(before.holders.filter((holder) => holder.pool === pool)).toEqual([
      expect.objectContaining({ claimId: held.claimId, scanId: overdue.id, stage: 'first', analyst: analysts[0].username }),
    ]);

    await decide(analysts[0], held);
    const after = await worklist.stats();
    expect(after.pools.find((entry) => entry.pool === pool)).toMatchObject({ waiting: 1, held: 0, slaBreaches: 0, decidedLastHour: 1, decidedLateLastHour: 1 });
    expect(after.holders.filter((holder) => holder.pool === pool)).toEqual([]);
    const recent = after.recent.find((row) => row.scanId === overdue.id)!;
    expect(recent).toMatchObject({ pool, late: true });
    expect(recent.decisionSeconds).toBeGreaterThanOrEqual(120);
    expect(await worklist.poolOverview()).toContainEqual(expect.objectContaining({ pool, waiting: 1, held: 0, decidedLateLastHour: 1 }));
    expect(await drain(analysts[0])).toEqual([onTime.id]);
  });
});
