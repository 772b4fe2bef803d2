import { Logger } from '@nestjs/common';
import { scanRow } from '../../test/builders.js';
import { strictMock, strictValue } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import { ScanRepository } from '../scans/scan.repository.js';
import { StationRepository } from '../stations/station.repository.js';
import { ReviewQueueRepository } from './review-queue.repository.js';
import { type ClaimRow, ReviewRepository, type VerdictRow } from './review.repository.js';
import { WorklistService } from './worklist.service.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const STATION_ID = '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b';
const ANALYST_ID = 'a0a0a0a0-0000-4000-8000-000000000001';
const CLAIM_ID = 'c0c0c0c0-0000-4000-8000-000000000001';

const waiting = { id: SCAN_ID, pool: 'central', riskScore: 0, slaDeadline: new Date('2025-03-01T10:10:00Z'), receivedAt: new Date('2025-03-01T09:58:00Z'), firstVerdictBy: null };

function claimRow(overrides: Partial<ClaimRow> = {}): ClaimRow {
  return { id: CLAIM_ID, scanId: SCAN_ID, analystId: ANALYST_ID, stage: 'first', claimedAt: new Date('2025-03-01T09:59:00Z'), expiresAt: new Date('2025-03-01T09:59:30Z'), endedAt: null, endReason: null, ...overrides };
}

describe(`${WorklistService.name} reconcile`, () => {
  let queue: jest.Mocked<ReviewQueueRepository>;
  let review: jest.Mocked<ReviewRepository>;
  let scans: jest.Mocked<ScanRepository>;
  let service: WorklistService;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    queue = strictMock(ReviewQueueRepository);
    review = strictMock(ReviewRepository);
    scans = strictMock(ScanRepository);
    const config = strictValue<AppConfig>('AppConfig', { roles: new Set(['api'] as const) });
    service = new WorklistService(config, queue, review, scans, strictMock(StationRepository), strictMock(AuditRepository), strictMock(Clock, { now: () => NOW }));
    review.expiredOpenClaims.mockResolvedValue([]);
    review.waitingScans.mockResolvedValue([waiting]);
    review.openClaimOf.mockResolvedValue(undefined);
    review.verdictsOf.mockResolvedValue([]);
  });
  afterEach(() => jest.restoreAllMocks());

  it('puts a queued scan whose case Redis lost back into its pool, for its first analyst', async () => {
    queue.state.mockResolvedValue(null);
    queue.add.mockResolvedValue(undefined);
    expect(await service.reconcile()).toBe(1);
    expect(queue.state).toHaveBeenCalledWith('central', SCAN_ID, 'first');
    expect(queue.add).toHaveBeenCalledWith('central', { scanId: SCAN_ID, stage: 'first', exclude: [] }, expect.any(Number));
  });

  it.each(['waiting', 'prioritized', 'active', 'delayed'])('leaves a case that is %s in its pool alone', async (state) => {
    queue.state.mockResolvedValue(state);
    expect(await service.reconcile()).toBe(0);
  });

  it('leaves a case an analyst still holds (its claim lapses first, then the case goes back)', async () => {
    queue.state.mockResolvedValue(null);
    review.openClaimOf.mockResolvedValue(claimRow({ expiresAt: new Date('2025-03-01T10:00:20Z') }));
    expect(await service.reconcile()).toBe(0);
  });

  it('leaves a case decided while it looked (the verdict is in after its job was completed)', async () => {
    queue.state.mockResolvedValue(null);
    review.verdictsOf.mockResolvedValue([{ id: 'v1', stage: 'first' } as VerdictRow]);
    expect(await service.reconcile()).toBe(0);
  });

  it('leaves scans with a first verdict to VerdictService', async () => {
    review.waitingScans.mockResolvedValue([{ ...waiting, firstVerdictBy: ANALYST_ID }]);
    expect(await service.reconcile()).toBe(0);
  });

  it('closes a claim whose lock ran out unseen, before it looks at the pool, so its case goes back in the same pass', async () => {
    const order: string[] = [];
    review.expiredOpenClaims.mockResolvedValue([claimRow()]);
    scans.findById.mockResolvedValue(scanRow({ id: SCAN_ID, stationId: STATION_ID, status: 'queued' }));
    queue.state.mockResolvedValue(null);
    review.endClaim.mockImplementation(() => {
      order.push('lapsed');
      return Promise.resolve(true);
    });
    review.waitingScans.mockImplementation(() => {
      order.push('pool');
      return Promise.resolve([waiting]);
    });
    queue.add.mockResolvedValue(undefined);
    expect(await service.reconcile()).toBe(1);
    expect(review.endClaim).toHaveBeenCalledWith(CLAIM_ID, 'lapsed', NOW);
    expect(order).toEqual(['lapsed', 'pool']);
  });

  it('keeps an expired claim whose case is still held in BullMQ (the stalled check ends it)', async () => {
    review.expiredOpenClaims.mockResolvedValue([claimRow()]);
    review.waitingScans.mockResolvedValue([]);
    scans.findById.mockResolvedValue(scanRow({ id: SCAN_ID, stationId: STATION_ID, status: 'queued' }));
    queue.state.mockResolvedValue('active');
    expect(await service.reconcile()).toBe(0);
    expect(review.endClaim).not.toHaveBeenCalled();
  });
});
