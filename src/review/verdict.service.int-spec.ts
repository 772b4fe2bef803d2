import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Database } from '../database/database.js';
import { ResultRepository } from '../results/result.repository.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { refusal } from '../../test/builders.js';
import { DATABASE_KINDS, insertPoolWithAnalysts, type Medium, REVIEW_PROVIDERS, auditActions, insertQueuedScan, insertStation, insertUser, startMedium } from '../../test/medium.js';
import { TEST_REDIS_URL } from '../../test/service.harness.js';
import { until } from '../../test/until.js';
import { ReviewQueueRepository } from './review-queue.repository.js';
import { ReviewRepository } from './review.repository.js';
import { VerdictService } from './verdict.service.js';
import { WorklistService } from './worklist.service.js';

const region = { view: 'side', x: 10, y: 20, width: 100, height: 50, category: 'narcotics', note: 'dense packets' } as const;

/**
 * Verdicts below HTTP: VerdictService with the real work pool (BullMQ on Redis), claims, verdicts and results in the
 * database, on PGlite and PostgreSQL. Every test works in a pool of its own.
 */
describe.each(DATABASE_KINDS)(`${VerdictService.name} on %s`, (kind) => {
  let medium: Medium;
  let database: Database;
  let worklist: WorklistService;
  let verdicts: VerdictService;
  let review: ReviewRepository;
  let queue: ReviewQueueRepository;
  let scans: ScanRepository;
  let results: ResultRepository;
  let station: Awaited<ReturnType<typeof insertStation>>;
  let redis: Redis;

  beforeAll(async () => {
    medium = await startMedium(kind, REVIEW_PROVIDERS, { NIIX_CLAIM_LOCK_SECONDS: '4' });
    database = medium.database;
    worklist = medium.get(WorklistService);
    verdicts = medium.get(VerdictService);
    review = medium.get(ReviewRepository);
    queue = medium.get(ReviewQueueRepository);
    scans = medium.get(ScanRepository);
    results = medium.get(ResultRepository);
    station = await insertStation(database, { name: 'Narva road 2' });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    redis?.disconnect();
    await medium?.close();
  });

  const poolWithAnalysts = (count: number, rules: { fourEyesRisk?: number; fourEyesOnInspect?: boolean } = {}) => insertPoolWithAnalysts(database, review, count, rules);

  async function seed(pool: string, risk = 0, metadata?: Record<string, unknown>): Promise<ScanRow> {
    const scan = await insertQueuedScan(database, { stationId: station.id, pool, risk, metadata });
    await worklist.enqueue(scan);
    return scan;
  }

  const resultOf = async (scanId: string) => (await results.listAfter(station.id, 0, 10_000)).filter((row) => row.scanId === scanId);

  it('records the verdict with its claim closed, decides the scan and records the result for its station', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const scan = await seed(pool, 20, { reference: 'LANE2-0042', containers: ['MSCU1234566'], declarations: ['25EE0001'], licencePlates: ['123ABC'] });
    const claim = (await worklist.claim(analysts[0]))!;

    const answer = await verdicts.decide(analysts[0], scan.id, { claimId: claim.claimId, decision: 'inspect', regions: [region], comment: 'open the rear door' });
    expect(answer).toEqual({ verdictId: expect.any(String), scanId: scan.id, stage: 'first', final: true });

    const [verdict] = await review.verdictsOf(scan.id);
    expect(verdict).toMatchObject({ id: answer.verdictId, claimId: claim.claimId, analystId: analysts[0].id, stage: 'first', decision: 'inspect', regions: [region], comment: 'open the rear door' });
    const closed = (await review.claim(claim.claimId))!;
    expect(closed).toMatchObject({ endReason: 'verdict', endedAt: verdict.decidedAt });
    expect(await scans.findById(scan.id)).toMatchObject({ status: 'decided', decidedAt: verdict.decidedAt });
    expect(await queue.state(pool, scan.id, 'first')).toBeNull();
    expect(await auditActions(database, scan.id)).toEqual(['case.claimed', 'verdict.recorded']);

    const [result] = await resultOf(scan.id);
    expect(result).toMatchObject({ stationId: station.id, kind: 'verdict', ackedAt: null });
    expect(result.body).toEqual({
      reference: 'LANE2-0042',
      containers: ['MSCU1234566'],
      declarations: ['25EE0001'],
      licencePlates: ['123ABC'],
      decision: 'inspect',
      regions: [region],
      note: 'open the rear door',
      decidedAt: verdict.decidedAt.toISOString(),
      reviews: 1,
    });
  });

  it('writes a verdict and the end of its claim together: a verdict that cannot be stored leaves the claim open', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const scan = await seed(pool);
    const claim = (await worklist.claim(analysts[0]))!;
    await verdicts.decide(analysts[0], scan.id, { claimId: claim.claimId, decision: 'clear', regions: [], comment: '' });

    // a second claim of the same stage (as after a crash): its verdict collides with the first (one per stage) and rolls back
    const now = new Date();
    const stray = randomUUID();
    await review.insertClaim(
      { id: stray, scanId: scan.id, analystId: analysts[0].id, stage: 'first', claimedAt: now, expiresAt: new Date(now.getTime() + 4000) },
      { actorType: 'user', actorId: analysts[0].id, action: 'case.claimed', scanId: scan.id, detail: { claimId: stray } },
    );
    const verdict = { id: randomUUID(), scanId: scan.id, claimId: stray, analystId: analysts[0].id, stage: 'first' as const, decision: 'inspect' as const, regions: [], comment: '', decidedAt: now };
    await expect(review.insertVerdict(verdict, now)).rejects.toThrow();
    expect(await review.claim(stray)).toMatchObject({ endedAt: null, endReason: null });
    expect((await review.verdictsOf(scan.id)).map((row) => row.decision)).toEqual(['clear']);
    expect(await review.endClaim(stray, 'released', now)).toBe(true);
    expect(await review.endClaim(stray, 'released', now)).toBe(false);
  });

  it('refuses verdicts on unknown, foreign, ended or mismatched claims and regions outside the image, recording nothing', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    const [holder, other] = analysts;
    const scan = await seed(pool, 30);
    const elsewhere = await seed(pool, 10);
    const claim = (await worklist.claim(holder))!;
    expect(claim.scan.id).toBe(scan.id);
    const body = (change: Partial<Parameters<VerdictService['decide']>[2]> = {}) => ({ claimId: claim.claimId, decision: 'inspect' as const, regions: [], comment: '', ...change });

    expect(await refusal(verdicts.decide(holder, scan.id, body({ claimId: randomUUID() })))).toMatchObject({ status: 409, code: 'claim_not_found' });
    expect(await refusal(verdicts.decide(other, scan.id, body()))).toMatchObject({ status: 409, code: 'claim_not_yours' });
    expect(await refusal(verdicts.decide(holder, elsewhere.id, body()))).toMatchObject({ status: 409, code: 'claim_not_for_scan' });
    expect(await refusal(verdicts.decide(holder, scan.id, body({ regions: [{ ...region, x: 790 }] })))).toMatchObject({
      status: 400,
      code: 'invalid_region',
      message: 'regions.0: the rectangle leaves view side (800 x 250)',
    });
    expect(await refusal(verdicts.decide(holder, scan.id, body({ regions: [region, { ...region, view: 'top' }] })))).toMatchObject({
      status: 400,
      code: 'invalid_region',
      message: 'regions.1: the scan has no view top',
    });
    expect(await review.claim(claim.claimId)).toMatchObject({ endedAt: null });
    expect(await queue.state(pool, scan.id, 'first')).toBe('active');
    expect(await review.verdictsOf(scan.id)).toEqual([]);
    expect((await scans.findById(scan.id))!.status).toBe('queued');

    await verdicts.decide(holder, scan.id, body({ regions: [region] }));
    expect(await refusal(verdicts.decide(holder, scan.id, body()))).toMatchObject({ status: 409, code: 'claim_closed' });
    expect(await review.verdictsOf(scan.id)).toHaveLength(1);

    // released and reassigned claims are ended too
    const released = (await worklist.claim(holder))!;
    await worklist.release(holder, released.claimId);
    expect(await refusal(verdicts.decide(holder, elsewhere.id, body({ claimId: released.claimId })))).toMatchObject({ status: 409, code: 'claim_closed' });
    const reassigned = (await worklist.claim(holder))!;
    await worklist.reassign(await insertUser(database, ['supervisor']), reassigned.claimId, {});
    expect(await refusal(verdicts.decide(holder, elsewhere.id, body({ claimId: reassigned.claimId })))).toMatchObject({ status: 409, code: 'claim_closed' });
    expect(await review.verdictsOf(elsewhere.id)).toEqual([]);
    const last = (await worklist.claim(other))!;
    expect(last.scan.id).toBe(elsewhere.id);
    await verdicts.decide(other, elsewhere.id, { claimId: last.claimId, decision: 'clear', regions: [], comment: '' });
  });

  it('records one verdict when the same verdict is sent twice at once, and answers the other with claim_closed', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const scan = await seed(pool, 10);
    const claim = (await worklist.claim(analysts[0]))!;
    const body = { claimId: claim.claimId, decision: 'clear' as const, regions: [], comment: '' };

    const answers = await Promise.allSettled([verdicts.decide(analysts[0], scan.id, body), verdicts.decide(analysts[0], scan.id, body)]);
    expect(answers.filter((answer) => answer.status === 'fulfilled')).toHaveLength(1);
    const [refused] = answers.filter((answer) => answer.status === 'rejected');
    expect(await refusal(Promise.reject(refused.reason))).toMatchObject({ status: 409, code: 'claim_closed' });
    expect(await review.verdictsOf(scan.id)).toHaveLength(1);
    expect((await scans.findById(scan.id))?.status).toBe('decided');
    expect(await resultOf(scan.id)).toHaveLength(1);
  });

  it('refuses the verdict of a claim whose lock ran out, closes it as lapsed, and the case goes back to the pool', async () => {
    const { pool, analysts } = await poolWithAnalysts(2);
    const scan = await seed(pool);
    const claim = (await worklist.claim(analysts[0]))!;
    // the lock runs out now, before the stalled check has seen it
    expect(await queue.extend(pool, scan.id, 'first', claim.claimId, 1)).toBe(true);
    const lockKey = `${medium.config.redis.prefix}:review-${pool}:${ReviewQueueRepository.jobId(scan.id, 'first')}:lock`;
    await until(async () => (await redis.exists(lockKey)) === 0, 'the lock to run out');

    expect(await refusal(verdicts.decide(analysts[0], scan.id, { claimId: claim.claimId, decision: 'clear', regions: [], comment: '' }))).toMatchObject({
      status: 409,
      code: 'lock_lost',
    });
    expect(await review.claim(claim.claimId)).toMatchObject({ endReason: 'lapsed' });
    expect(await review.verdictsOf(scan.id)).toEqual([]);
    expect((await scans.findById(scan.id))!.status).toBe('queued');

    const again = await until(() => worklist.claim(analysts[1]), 'the case back in the pool', 20_000);
    expect([again.scan.id, again.scan.stage]).toEqual([scan.id, 'first']);
    expect((await verdicts.decide(analysts[1], scan.id, { claimId: again.claimId, decision: 'clear', regions: [], comment: '' })).final).toBe(true);
  });

  it('sends a case at or above the pool\'s four-eyes risk to a second analyst; the second verdict is final', async () => {
    const { pool, analysts } = await poolWithAnalysts(2, { fourEyesRisk: 80 });
    const [first, second] = analysts;
    const below = await seed(pool, 60);
    const atRisk = await seed(pool, 80);

    const firstClaim = (await worklist.claim(first))!;
    expect(firstClaim.scan.id).toBe(atRisk.id);
    expect(await verdicts.decide(first, atRisk.id, { claimId: firstClaim.claimId, decision: 'inspect', regions: [region], comment: 'dense packets' })).toMatchObject({
      stage: 'first',
      final: false,
    });
    expect((await scans.findById(atRisk.id))!.status).toBe('queued');
    expect(await resultOf(atRisk.id)).toEqual([]);
    expect(await queue.state(pool, atRisk.id, 'second')).toBe('prioritized');

    // the first analyst is not asked for the second opinion: it gets the other case
    const belowClaim = (await worklist.claim(first))!;
    expect(belowClaim.scan.id).toBe(below.id);
    expect((await verdicts.decide(first, below.id, { claimId: belowClaim.claimId, decision: 'clear', regions: [], comment: '' })).final).toBe(true);
    expect(await worklist.claim(first)).toBeNull();

    const secondClaim = (await worklist.claim(second))!;
    expect([secondClaim.scan.id, secondClaim.scan.stage]).toEqual([atRisk.id, 'second']);
    const secondRegion = { ...region, x: 12, note: 'confirmed' };
    expect(await verdicts.decide(second, atRisk.id, { claimId: secondClaim.claimId, decision: 'inspect', regions: [secondRegion], comment: 'confirmed' })).toMatchObject({
      stage: 'second',
      final: true,
    });

    const both = await review.verdictsOf(atRisk.id);
    expect(both.map((verdict) => [verdict.stage, verdict.analystId])).toEqual([
      ['first', first.id],
      ['second', second.id],
    ]);
    expect(await scans.findById(atRisk.id)).toMatchObject({ status: 'decided', decidedAt: both[1].decidedAt });
    const [result] = await resultOf(atRisk.id);
    expect(result.body).toMatchObject({ decision: 'inspect', regions: [secondRegion], note: 'confirmed', reviews: 2, decidedAt: both[1].decidedAt.toISOString() });
    expect((await resultOf(below.id))[0].body).toMatchObject({ decision: 'clear', reviews: 1 });
    expect(await auditActions(database, atRisk.id)).toEqual(['case.claimed', 'verdict.recorded', 'case.claimed', 'verdict.recorded']);
  });

  it('sends a first inspect to a second analyst where the pool asks for it, and a first clear straight to the station', async () => {
    const { pool, analysts } = await poolWithAnalysts(2, { fourEyesOnInspect: true });
    const [first, second] = analysts;
    const inspected = await seed(pool, 50);
    const cleared = await seed(pool, 10);

    const a = (await worklist.claim(first))!;
    expect((await verdicts.decide(first, inspected.id, { claimId: a.claimId, decision: 'inspect', regions: [], comment: '' })).final).toBe(false);
    const b = (await worklist.claim(first))!;
    expect(b.scan.id).toBe(cleared.id);
    expect((await verdicts.decide(first, cleared.id, { claimId: b.claimId, decision: 'clear', regions: [], comment: '' })).final).toBe(true);

    // the second analyst may disagree: the last verdict is the one the station gets
    const c = (await worklist.claim(second))!;
    expect([c.scan.id, c.scan.stage]).toEqual([inspected.id, 'second']);
    expect((await verdicts.decide(second, inspected.id, { claimId: c.claimId, decision: 'clear', regions: [], comment: 'nothing there' })).final).toBe(true);
    expect((await resultOf(inspected.id))[0].body).toMatchObject({ decision: 'clear', note: 'nothing there', reviews: 2 });
    expect((await resultOf(cleared.id))[0].body).toMatchObject({ decision: 'clear', reviews: 1 });
  });

  it('gives a decided scan whose result was never recorded its result, once', async () => {
    const { pool, analysts } = await poolWithAnalysts(1);
    const scan = await seed(pool, 0, { reference: 'crash-1' });
    const claim = (await worklist.claim(analysts[0]))!;
    // a crash after the decision, before the result: what decide() did up to then
    const decidedAt = new Date();
    expect(await queue.complete(pool, scan.id, 'first', claim.claimId)).toBe(true);
    expect(
      await review.insertVerdict(
        { id: randomUUID(), scanId: scan.id, claimId: claim.claimId, analystId: analysts[0].id, stage: 'first', decision: 'inconclusive', regions: [], comment: 'blurred', decidedAt },
        decidedAt,
      ),
    ).toBe(true);
    expect(await scans.transition(scan.id, ['queued'], { status: 'decided', decidedAt })).toBe(true);
    // a failed scan has no verdict: its result is not the verdicts' to make
    const failed = await insertQueuedScan(database, { stationId: station.id, pool });
    await scans.transition(failed.id, ['queued'], { status: 'failed', failedAt: decidedAt, failureCode: 'corrupt', failureMessage: 'bad' });
    expect(await resultOf(scan.id)).toEqual([]);

    expect(await verdicts.reconcileResults()).toBe(1);
    const [result] = await resultOf(scan.id);
    expect(result.body).toEqual({
      reference: 'crash-1',
      containers: [],
      declarations: [],
      licencePlates: [],
      decision: 'inconclusive',
      regions: [],
      note: 'blurred',
      decidedAt: decidedAt.toISOString(),
      reviews: 1,
    });
    expect(await verdicts.reconcileResults()).toBe(0);
    expect(await resultOf(scan.id)).toHaveLength(1);
    expect(await resultOf(failed.id)).toEqual([]);
  });
});
