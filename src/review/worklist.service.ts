import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { z } from 'zod';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { ReviewStage } from '../database/schema.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { StationRepository } from '../stations/station.repository.js';
import { reviewPriority } from './review-priority.js';
import { ReviewQueueRepository, type ReviewJob } from './review-queue.repository.js';
import { type ClaimRow, ReviewRepository } from './review.repository.js';
import { isUuid } from '../common/ids.js';

export const claimResponse = z.object({
  claimId: z.string(),
  lockExpiresAt: z.string(),
  scan: z.object({
    id: z.string(),
    stage: z.enum(['first', 'second']),
    stationId: z.string(),
    stationName: z.string(),
    pool: z.string(),
    riskScore: z.number(),
    receivedAt: z.string(),
    queuedAt: z.string().nullable(),
    slaDeadline: z.string().nullable(),
    metadata: z.unknown(),
    manifest: z.unknown(),
  }),
});
export type ClaimResponse = z.infer<typeof claimResponse>;

export const reassignBody = z.object({
  toAnalystId: z.string().uuid().optional().describe('give the case to this analyst for the next 2 minutes; else back to the pool'),
});

export const statsResponse = z.object({
  at: z.string(),
  pools: z.array(
    z.object({
      pool: z.string(),
      waiting: z.number().describe('cases waiting for an analyst'),
      held: z.number().describe('cases an analyst holds now'),
      oldestQueuedAt: z.string().nullable(),
      oldestWaitSeconds: z.number().nullable(),
      slaBreaches: z.number().describe('undecided cases past their deadline'),
      decidedLastHour: z.number(),
      decidedLateLastHour: z.number(),
    }),
  ),
  holders: z.array(
    z.object({ claimId: z.string(), scanId: z.string(), pool: z.string(), stage: z.string(), analyst: z.string(), heldSeconds: z.number(), lockExpiresAt: z.string() }),
  ),
  recent: z.array(z.object({ scanId: z.string(), pool: z.string(), decidedAt: z.string(), decisionSeconds: z.number().nullable(), late: z.boolean() })),
});

export type PoolOverview = z.infer<typeof statsResponse>['pools'][number];

const RESERVATION_MS = 120_000;
const MAX_SKIPPED = 25;

/**
 * The analyst work pool: claim the next case, keep it with heartbeats, give it back; supervisors see and move
 * what is held. Ordering and locking live in BullMQ (ReviewQueueRepository); the database keeps the claims.
 */
@Injectable()
export class WorklistService implements OnApplicationBootstrap {
  private readonly logger = new Logger(WorklistService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queue: ReviewQueueRepository,
    private readonly review: ReviewRepository,
    private readonly scans: ScanRepository,
    private readonly stations: StationRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.roles.has('api')) return;
    this.queue.onLapse((pool, jobId) => void this.lapsed(jobId).catch((error: Error) => this.logger.warn(`lapse of ${jobId}: ${error.message}`)));
    this.queue.watch((await this.review.pools()).map((pool) => pool.name));
  }

  /** Puts a queued scan into its pool for the given stage. */
  async enqueue(scan: Pick<ScanRow, 'id' | 'pool' | 'riskScore' | 'slaDeadline' | 'receivedAt'>, stage: ReviewStage = 'first', exclude: string[] = []): Promise<void> {
    const deadline = scan.slaDeadline ?? scan.receivedAt;
    await this.queue.add(scan.pool, { scanId: scan.id, stage, exclude }, reviewPriority(scan.riskScore, deadline));
  }

  /**
   * The database is the system of record (run by ReconcileService at start and every NIIX_RECONCILE_SECONDS): claims
   * whose lock ran out unseen (no API process watched, or Redis lost the held case) are closed as lapsed, then every
   * queued scan without a verdict that is neither waiting in its pool nor held gets its job back; a case whose held
   * job Redis lost goes back once its claim has lapsed. Scans with a first verdict are VerdictService.reconcileResults'.
   * Harmless when several processes run it at once and while analysts work: the job id is deterministic, and the
   * database is read after the queue (a case taken and decided meanwhile has an open claim or a verdict by then).
   * Returns how many cases were put back.
   */
  async reconcile(): Promise<number> {
    for (const claim of await this.review.expiredOpenClaims(this.clock.now())) {
      const scan = await this.scans.findById(claim.scanId);
      const state = scan ? await this.queue.state(scan.pool, claim.scanId, claim.stage) : null;
      if (state !== 'active') await this.review.endClaim(claim.id, 'lapsed', this.clock.now());
    }
    let added = 0;
    for (const scan of await this.review.waitingScans()) {
      if (scan.firstVerdictBy) continue;
      if (await this.isInPool(scan.pool, scan.id, 'first')) continue;
      const [held, verdicts] = await Promise.all([this.review.openClaimOf(scan.id, 'first'), this.review.verdictsOf(scan.id)]);
      if (held || verdicts.length > 0) continue;
      await this.enqueue(scan, 'first');
      added++;
    }
    if (added) this.logger.log(`put ${added} queued scans back into their pools`);
    return added;
  }

  /** The case's job for this stage waits in its pool or is held (taken by an analyst). */
  async isInPool(pool: string, scanId: string, stage: ReviewStage): Promise<boolean> {
    const state = await this.queue.state(pool, scanId, stage);
    return state !== null && state !== 'completed' && state !== 'failed' && state !== 'unknown';
  }

  /** The next most urgent case from the analyst's pools, or null when nothing waits. */
  async claim(analyst: UserPrincipal): Promise<ClaimResponse | null> {
    let pools = await this.review.poolsOf(analyst.id);
    if (pools.length === 0) pools = ['central'];
    const skipped: { pool: string; job: ReviewJob; token: string }[] = [];
    try {
      while (skipped.length < MAX_SKIPPED) {
        const pool = await this.mostUrgentPool(pools);
        if (!pool) return null;
        const token = this.clock.newId();
        const job = await this.queue.next(pool, token);
        if (!job) {
          pools = pools.filter((candidate) => candidate !== pool);
          continue;
        }
        const { exclude, reservedFor, reservedUntil } = job.data;
        const reservedForOther = reservedFor && reservedFor !== analyst.id && (reservedUntil ?? 0) > this.clock.now().getTime();
        if (exclude.includes(analyst.id) || reservedForOther) {
          skipped.push({ pool, job, token });
          continue;
        }
        const opened = await this.open(analyst, pool, job, token);
        if (opened) return opened;
      }
      return null;
    } finally {
      for (const { pool, job, token } of skipped) await this.queue.putBack(pool, job.data.scanId, job.data.stage, token);
    }
  }

  async heartbeat(analyst: UserPrincipal, claimId: string): Promise<{ claimId: string; lockExpiresAt: string }> {
    const claim = await this.ownOpenClaim(analyst, claimId);
    const scan = (await this.scans.findById(claim.scanId))!;
    if (!(await this.queue.extend(scan.pool, scan.id, claim.stage, claim.id))) await this.lockLost(scan, claim);
    const expiresAt = new Date(this.clock.now().getTime() + this.queue.lockMs);
    await this.review.extendClaim(claim.id, expiresAt);
    return { claimId, lockExpiresAt: expiresAt.toISOString() };
  }

  /**
   * The claim's lock is no longer ours (a heartbeat or a verdict could not use it). When the case's job is gone, a
   * verdict of this very claim took it a moment ago and is being recorded (a verdict overtaking a heartbeat, or
   * sent twice): the claim stays open for it and the answer is `claim_closed`. Otherwise the claim lapsed and the
   * case is back in the pool: the claim ends `lapsed` and the answer is `lock_lost`.
   */
  async lockLost(scan: Pick<ScanRow, 'id' | 'pool'>, claim: { id: string; stage: ReviewStage }): Promise<never> {
    if ((await this.queue.state(scan.pool, scan.id, claim.stage)) === null) {
      throw ApiError.conflict('claim_closed', 'a verdict for this claim is being recorded already');
    }
    await this.review.endClaim(claim.id, 'lapsed', this.clock.now());
    throw ApiError.conflict('lock_lost', 'the claim lapsed and the case went back to the pool; claim again');
  }

  /** Gives the case back to the pool at once, at its place. */
  async release(analyst: UserPrincipal, claimId: string): Promise<void> {
    const claim = await this.ownOpenClaim(analyst, claimId);
    const scan = (await this.scans.findById(claim.scanId))!;
    await this.queue.putBack(scan.pool, scan.id, claim.stage, claim.id);
    await this.review.endClaim(claim.id, 'released', this.clock.now());
    await this.audit.record({ actorType: 'user', actorId: analyst.id, action: 'case.released', scanId: scan.id, detail: { claimId, stage: claim.stage } });
  }

  /** A supervisor takes a case from its holder: back to the pool, or reserved for one analyst for a while. */
  async reassign(supervisor: UserPrincipal, claimId: string, body: z.infer<typeof reassignBody>): Promise<{ scanId: string; reservedFor: string | null }> {
    const claim = await this.review.claim(claimId);
    if (!claim || claim.endedAt) throw ApiError.notFound('claim_not_found', `no open claim ${claimId}`);
    const scan = (await this.scans.findById(claim.scanId))!;
    const reservation = body.toAnalystId ? { reservedFor: body.toAnalystId, reservedUntil: this.clock.now().getTime() + RESERVATION_MS } : { reservedFor: undefined, reservedUntil: undefined };
    await this.queue.putBack(scan.pool, scan.id, claim.stage, claim.id, reservation);
    await this.review.endClaim(claim.id, 'reassigned', this.clock.now());
    await this.audit.record({
      actorType: 'user',
      actorId: supervisor.id,
      action: 'case.reassigned',
      scanId: scan.id,
      detail: { claimId, from: claim.analystId, to: body.toAnalystId ?? null },
    });
    return { scanId: scan.id, reservedFor: body.toAnalystId ?? null };
  }

  async stats(): Promise<z.infer<typeof statsResponse>> {
    const now = this.clock.now();
    const [holders, recent] = await Promise.all([this.review.openClaims(), this.review.recentDecisions(new Date(now.getTime() - 3600_000), 500)]);
    return {
      at: now.toISOString(),
      pools: await this.pools(now, recent),
      holders: holders.map((holder) => ({
        claimId: holder.claimId,
        scanId: holder.scanId,
        pool: holder.pool,
        stage: holder.stage,
        analyst: holder.analyst,
        heldSeconds: Math.round((now.getTime() - holder.claimedAt.getTime()) / 1000),
        lockExpiresAt: holder.expiresAt.toISOString(),
      })),
      recent: recent.slice(0, 50).map((row) => ({
        scanId: row.scanId,
        pool: row.pool,
        decidedAt: row.decidedAt!.toISOString(),
        decisionSeconds: row.queuedAt && row.decidedAt ? Math.round((row.decidedAt.getTime() - row.queuedAt.getTime()) / 1000) : null,
        late: Boolean(row.slaDeadline && row.decidedAt && row.decidedAt > row.slaDeadline),
      })),
    };
  }

  /** Per pool now: depth, held, oldest wait, SLA breaches, decided in the last hour (the supervisor's overview; also the metrics' pool gauges). */
  async poolOverview(): Promise<PoolOverview[]> {
    const now = this.clock.now();
    return this.pools(now, await this.review.recentDecisions(new Date(now.getTime() - 3600_000), 500));
  }

  private async pools(now: Date, recent: Awaited<ReturnType<ReviewRepository['recentDecisions']>>): Promise<PoolOverview[]> {
    const [pools, figures] = await Promise.all([this.review.pools(), this.review.poolFigures(now)]);
    const names = [...new Set([...pools.map((pool) => pool.name), ...figures.map((figure) => figure.pool)])].sort();
    return Promise.all(
      names.map(async (pool) => {
        const depth = await this.queue.depth(pool);
        const figure = figures.find((candidate) => candidate.pool === pool);
        const decided = recent.filter((row) => row.pool === pool);
        return {
          pool,
          waiting: depth.waiting,
          held: depth.held,
          oldestQueuedAt: figure?.oldestQueuedAt?.toISOString() ?? null,
          oldestWaitSeconds: figure?.oldestQueuedAt ? Math.round((now.getTime() - figure.oldestQueuedAt.getTime()) / 1000) : null,
          slaBreaches: figure?.overdue ?? 0,
          decidedLastHour: decided.length,
          decidedLateLastHour: decided.filter((row) => row.slaDeadline && row.decidedAt && row.decidedAt > row.slaDeadline).length,
        };
      }),
    );
  }

  /** The claim, if it is this analyst's and still open; 404 / 409 otherwise. */
  async ownOpenClaim(analyst: UserPrincipal, claimId: string): Promise<ClaimRow> {
    const claim = isUuid(claimId) ? await this.review.claim(claimId) : undefined;
    if (!claim) throw ApiError.conflict('claim_not_found', `there is no claim ${claimId}: claim the case first`);
    if (claim.analystId !== analyst.id) throw ApiError.conflict('claim_not_yours', 'this claim belongs to another analyst');
    if (claim.endedAt) {
      throw ApiError.conflict(claim.endReason === 'lapsed' ? 'lock_lost' : 'claim_closed', `the claim ended (${claim.endReason ?? 'closed'})`);
    }
    return claim;
  }

  /** Records the claim of a taken job; null when the job was stale (its scan decided meanwhile). */
  private async open(analyst: UserPrincipal, pool: string, job: ReviewJob, token: string): Promise<ClaimResponse | null> {
    const now = this.clock.now();
    const scan = await this.scans.findById(job.data.scanId);
    if (!scan || scan.status !== 'queued') {
      await this.queue.complete(pool, job.data.scanId, job.data.stage, token);
      return null;
    }
    const expiresAt = new Date(now.getTime() + this.queue.lockMs);
    const [station] = await Promise.all([
      this.stations.findById(scan.stationId),
      this.review.insertClaim(
        { id: token, scanId: scan.id, analystId: analyst.id, stage: job.data.stage, claimedAt: now, expiresAt },
        { actorType: 'user', actorId: analyst.id, action: 'case.claimed', scanId: scan.id, detail: { claimId: token, stage: job.data.stage } },
      ),
    ]);
    return {
      claimId: token,
      lockExpiresAt: expiresAt.toISOString(),
      scan: {
        id: scan.id,
        stage: job.data.stage,
        stationId: scan.stationId,
        stationName: station?.name ?? '',
        pool: scan.pool,
        riskScore: scan.riskScore,
        receivedAt: scan.receivedAt.toISOString(),
        queuedAt: scan.queuedAt?.toISOString() ?? null,
        slaDeadline: scan.slaDeadline?.toISOString() ?? null,
        metadata: scan.metadata,
        manifest: scan.manifest,
      },
    };
  }

  private async mostUrgentPool(pools: string[]): Promise<string | null> {
    if (pools.length === 1) return pools[0];
    let best: { pool: string; priority: number } | null = null;
    for (const pool of pools) {
      const priority = await this.queue.headPriority(pool);
      if (priority !== null && (!best || priority < best.priority)) best = { pool, priority };
    }
    return best?.pool ?? null;
  }

  /** BullMQ found a held case whose lock lapsed and put it back: close the claim. */
  private async lapsed(jobId: string): Promise<void> {
    const match = /^review-(.+)-(first|second)$/.exec(jobId);
    if (!match) return;
    const claim = await this.review.openClaimOf(match[1], match[2] as ReviewStage);
    if (claim) await this.review.endClaim(claim.id, 'lapsed', this.clock.now());
  }
}
