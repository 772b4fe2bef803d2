import { scanRow } from '../../test/builders.js';
import { strictMock } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { Clock } from '../common/clock.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ResultRow } from '../results/result-body.js';
import { ResultsService } from '../results/results.service.js';
import { ScanRepository } from '../scans/scan.repository.js';
import { ReviewQueueRepository } from './review-queue.repository.js';
import { type ClaimRow, type PoolRow, ReviewRepository, type VerdictRow } from './review.repository.js';
import { VerdictService } from './verdict.service.js';
import { WorklistService } from './worklist.service.js';

const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const STATION_ID = '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b';
const FIRST_ANALYST = 'a0a0a0a0-0000-4000-8000-000000000001';
const SECOND_ANALYST = 'a0a0a0a0-0000-4000-8000-000000000002';
const DECIDED_AT = new Date('2025-03-01T09:59:00Z');

const scan = scanRow({ id: SCAN_ID, stationId: STATION_ID, status: 'queued', riskScore: 80, queuedAt: new Date('2025-03-01T09:50:00Z') });
const waiting = { id: SCAN_ID, pool: 'central', riskScore: 80, slaDeadline: null, receivedAt: scan.receivedAt, firstVerdictBy: FIRST_ANALYST };

function verdict(stage: 'first' | 'second', analystId: string, decision: VerdictRow['decision'] = 'clear'): VerdictRow {
  return { id: `v-${stage}`, scanId: SCAN_ID, claimId: `c-${stage}`, analystId, stage, decision, regions: [], comment: '', decidedAt: DECIDED_AT };
}

function pool(fourEyesRisk: number | null): PoolRow {
  return { name: 'central', fourEyesRisk, fourEyesOnInspect: false, createdAt: new Date('2025-01-01T00:00:00Z') };
}

describe(`${VerdictService.name} reconcileResults`, () => {
  let worklist: jest.Mocked<WorklistService>;
  let review: jest.Mocked<ReviewRepository>;
  let scans: jest.Mocked<ScanRepository>;
  let results: jest.Mocked<ResultsService>;
  let service: VerdictService;

  beforeEach(() => {
    worklist = strictMock(WorklistService);
    review = strictMock(ReviewRepository);
    scans = strictMock(ScanRepository);
    results = strictMock(ResultsService);
    service = new VerdictService(worklist, strictMock(ReviewQueueRepository), review, scans, results, strictMock(AuditRepository), strictMock(Clock), new MetricsService());
    review.waitingScans.mockResolvedValue([waiting]);
    worklist.isInPool.mockResolvedValue(false);
    scans.findById.mockResolvedValue(scan);
    review.openClaimOf.mockResolvedValue(undefined);
    scans.finishedWithoutResult.mockResolvedValue([]);
  });

  it('puts a lost second opinion back into the pool, without the first analyst', async () => {
    review.verdictsOf.mockResolvedValue([verdict('first', FIRST_ANALYST)]);
    review.pool.mockResolvedValue(pool(50));
    worklist.enqueue.mockResolvedValue(undefined);
    expect(await service.reconcileResults()).toBe(1);
    expect(worklist.isInPool).toHaveBeenCalledWith('central', SCAN_ID, 'second');
    expect(worklist.enqueue).toHaveBeenCalledWith(scan, 'second', [FIRST_ANALYST]);
  });

  it.each([
    ['a first verdict that needed no second opinion', [verdict('first', FIRST_ANALYST)], pool(null)],
    ['both verdicts', [verdict('first', FIRST_ANALYST), verdict('second', SECOND_ANALYST, 'inspect')], pool(50)],
  ])('decides a scan left queued with %s (a crash between the verdict and the decision), and records its result once', async (_, verdicts, poolRow) => {
    review.verdictsOf.mockResolvedValue(verdicts);
    review.pool.mockResolvedValue(poolRow);
    scans.transition.mockResolvedValue(true);
    results.record.mockResolvedValue({ id: 7 } as ResultRow);
    expect(await service.reconcileResults()).toBe(1);
    expect(scans.transition).toHaveBeenCalledWith(SCAN_ID, ['queued'], { status: 'decided', decidedAt: DECIDED_AT });
    const final = verdicts[verdicts.length - 1];
    expect(results.record).toHaveBeenCalledWith(scan, 'verdict', { decision: final.decision, regions: [], note: '', decidedAt: DECIDED_AT.toISOString(), reviews: verdicts.length });
  });

  it('leaves a second opinion that waits or is held in the pool alone', async () => {
    worklist.isInPool.mockResolvedValue(true);
    expect(await service.reconcileResults()).toBe(0);
  });

  it('leaves a second opinion being given (its claim is open; its job was completed a moment ago)', async () => {
    review.verdictsOf.mockResolvedValue([verdict('first', FIRST_ANALYST)]);
    review.openClaimOf.mockResolvedValue({ id: 'c-second' } as ClaimRow);
    expect(await service.reconcileResults()).toBe(0);
  });

  it('leaves scans waiting for their first analyst to WorklistService', async () => {
    review.waitingScans.mockResolvedValue([{ ...waiting, firstVerdictBy: null }]);
    expect(await service.reconcileResults()).toBe(0);
  });

  it('records the result of a decided scan that has none', async () => {
    review.waitingScans.mockResolvedValue([]);
    const decided = scanRow({ id: SCAN_ID, stationId: STATION_ID, status: 'decided' });
    scans.finishedWithoutResult.mockResolvedValue([decided]);
    review.verdictsOf.mockResolvedValue([verdict('first', FIRST_ANALYST)]);
    results.record.mockResolvedValue({ id: 7 } as ResultRow);
    expect(await service.reconcileResults()).toBe(1);
    expect(scans.finishedWithoutResult).toHaveBeenCalledWith('decided');
    expect(results.record).toHaveBeenCalledWith(decided, 'verdict', expect.objectContaining({ decision: 'clear', reviews: 1 }));
  });
});
