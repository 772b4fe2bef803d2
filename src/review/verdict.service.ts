import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import { DECISIONS, type Region, regionSchema } from '../../libs/exchange-format/src/verdict.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ResultsService } from '../results/results.service.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { ReviewQueueRepository } from './review-queue.repository.js';
import { type VerdictRow, ReviewRepository } from './review.repository.js';
import { WorklistService } from './worklist.service.js';

export const verdictBody = z.object({
  claimId: z.string().uuid(),
  decision: z.enum(DECISIONS),
  regions: z.array(regionSchema).max(100).default([]),
  comment: z.string().max(4000).default(''),
});

export const verdictResponse = z.object({
  verdictId: z.string(),
  scanId: z.string(),
  stage: z.enum(['first', 'second']),
  final: z.boolean().describe('false when the case now goes to a second analyst (four-eyes)'),
});

/**
 * Verdicts: checked against the analyst's claim, recorded with the claim closed in one transaction, then either
 * sent for a second opinion (four-eyes) or made final: the scan is decided and its result goes to the station.
 */
@Injectable()
export class VerdictService {
  constructor(
    private readonly worklist: WorklistService,
    private readonly queue: ReviewQueueRepository,
    private readonly review: ReviewRepository,
    private readonly scans: ScanRepository,
    private readonly results: ResultsService,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  async decide(analyst: UserPrincipal, scanId: string, body: z.infer<typeof verdictBody>): Promise<z.infer<typeof verdictResponse>> {
    const claim = await this.worklist.ownOpenClaim(analyst, body.claimId);
    if (claim.scanId !== scanId) throw ApiError.conflict('claim_not_for_scan', `claim ${body.claimId} is for another scan`);
    const scan = (await this.scans.findById(scanId))!;
    this.checkRegions(scan, body.regions);
    if (!(await this.queue.complete(scan.pool, scan.id, claim.stage, claim.id))) await this.worklist.lockLost(scan, claim);
    const now = this.clock.now();
    const verdictId = this.clock.newId();
    const recorded = await this.review.insertVerdict(
      { id: verdictId, scanId, claimId: claim.id, analystId: analyst.id, stage: claim.stage, decision: body.decision, regions: body.regions, comment: body.comment, decidedAt: now },
      now,
    );
    if (!recorded) throw ApiError.conflict('claim_closed', 'this claim has a verdict already');
    this.metrics.verdict(scan.pool, claim.stage, body.decision, (now.getTime() - claim.claimedAt.getTime()) / 1000);
    await this.audit.record({
      actorType: 'user',
      actorId: analyst.id,
      action: 'verdict.recorded',
      scanId,
      detail: { verdictId, stage: claim.stage, decision: body.decision, regions: body.regions.length },
    });
    if (claim.stage === 'first' && (await this.needsSecondOpinion(scan, body.decision))) {
      await this.worklist.enqueue(scan, 'second', [analyst.id]);
      return { verdictId, scanId, stage: claim.stage, final: false };
    }
    await this.finalise(scan, await this.review.verdictsOf(scanId));
    return { verdictId, scanId, stage: claim.stage, final: true };
  }

  private async needsSecondOpinion(scan: ScanRow, decision: string): Promise<boolean> {
    const pool = await this.review.pool(scan.pool);
    if (!pool) return false;
    return (pool.fourEyesRisk !== null && scan.riskScore >= pool.fourEyesRisk) || (decision === 'inspect' && pool.fourEyesOnInspect);
  }

  /**
   * What follows a verdict, where a crash or a lost Redis dropped it (run by ReconcileService at start and every
   * NIIX_RECONCILE_SECONDS): a queued scan with a first verdict waits in its pool for its second analyst, or, when
   * its verdicts are complete (a crash between the verdict and the decision), is decided; a decided scan without
   * its result gets it. Harmless when several processes run it at once and beside decide(): the queue is read before
   * the database (a second opinion taken and given meanwhile has an open claim or a verdict by then), the second
   * stage's job id is deterministic, the decision is a conditional update and a scan has one result.
   * Returns how many scans were repaired.
   */
  async reconcileResults(): Promise<number> {
    let repaired = 0;
    for (const waiting of await this.review.waitingScans()) {
      if (!waiting.firstVerdictBy) continue; // waits for its first analyst: WorklistService.reconcile
      if (await this.worklist.isInPool(waiting.pool, waiting.id, 'second')) continue;
      const [scan, verdicts, held] = await Promise.all([this.scans.findById(waiting.id), this.review.verdictsOf(waiting.id), this.review.openClaimOf(waiting.id, 'second')]);
      const first = verdicts.find((verdict) => verdict.stage === 'first');
      if (!scan || scan.status !== 'queued' || held || !first) continue;
      if (verdicts.some((verdict) => verdict.stage === 'second') || !(await this.needsSecondOpinion(scan, first.decision))) await this.finalise(scan, verdicts);
      else await this.worklist.enqueue(scan, 'second', [first.analystId]);
      repaired++;
    }
    const missing = await this.scans.finishedWithoutResult('decided');
    for (const scan of missing) await this.recordResult(scan, await this.review.verdictsOf(scan.id));
    return repaired + missing.length;
  }

  /** The last verdict is the final one; the station gets it as its result. */
  private async finalise(scan: ScanRow, verdicts: VerdictRow[]): Promise<void> {
    const final = verdicts[verdicts.length - 1];
    const decided = await this.scans.transition(scan.id, ['queued'], { status: 'decided', decidedAt: final.decidedAt });
    if (decided && scan.queuedAt) this.metrics.decided(scan.pool, (final.decidedAt.getTime() - scan.queuedAt.getTime()) / 1000);
    await this.recordResult(scan, verdicts);
  }

  /** Idempotent: a scan has one result. */
  private async recordResult(scan: ScanRow, verdicts: VerdictRow[]): Promise<void> {
    const final = verdicts[verdicts.length - 1];
    await this.results.record(scan, 'verdict', {
      decision: final.decision,
      regions: final.regions,
      note: final.comment,
      decidedAt: final.decidedAt.toISOString(),
      reviews: verdicts.length,
    });
  }

  private checkRegions(scan: ScanRow, regions: Region[]): void {
    const views = (scan.manifest as Manifest | null)?.views ?? [];
    for (const [index, region] of regions.entries()) {
      const view = views.find((candidate) => candidate.id === region.view);
      if (!view) throw ApiError.badRequest('invalid_region', `regions.${index}: the scan has no view ${region.view}`);
      if (region.x + region.width > view.width || region.y + region.height > view.height) {
        throw ApiError.badRequest('invalid_region', `regions.${index}: the rectangle leaves view ${region.view} (${view.width} x ${view.height})`);
      }
    }
  }
}
