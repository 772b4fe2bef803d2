import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, eq, gt, inArray, isNull, lt, min, sql } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { type ClaimEnding, type ReviewStage, auditEvents, claims, poolMembers, pools, scans, users, verdicts } from '../database/schema.js';

export type PoolRow = typeof pools.$inferSelect;
export type ClaimRow = typeof claims.$inferSelect;
export type VerdictRow = typeof verdicts.$inferSelect;

/** Pools, claims and verdicts in the database; no rules here. */
@Injectable()
export class ReviewRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async pools(): Promise<PoolRow[]> {
    return this.database.db.select().from(pools).orderBy(asc(pools.name));
  }

  async pool(name: string): Promise<PoolRow | undefined> {
    return (await this.database.db.select().from(pools).where(eq(pools.name, name)))[0];
  }

  /** Creates or updates a pool. */
  async savePool(pool: typeof pools.$inferInsert): Promise<void> {
    await this.database.db
      .insert(pools)
      .values(pool)
      .onConflictDoUpdate({ target: pools.name, set: { fourEyesRisk: pool.fourEyesRisk ?? null, fourEyesOnInspect: pool.fourEyesOnInspect ?? false } });
  }

  async addMember(pool: string, userId: string): Promise<void> {
    await this.database.db.insert(poolMembers).values({ pool, userId }).onConflictDoNothing();
  }

  async removeMember(pool: string, userId: string): Promise<void> {
    await this.database.db.delete(poolMembers).where(and(eq(poolMembers.pool, pool), eq(poolMembers.userId, userId)));
  }

  async poolsOf(userId: string): Promise<string[]> {
    const rows = await this.database.db.select({ pool: poolMembers.pool }).from(poolMembers).where(eq(poolMembers.userId, userId));
    return rows.map((row) => row.pool);
  }

  async members(pool: string): Promise<{ id: string; username: string }[]> {
    return this.database.db
      .select({ id: users.id, username: users.username })
      .from(poolMembers)
      .innerJoin(users, eq(users.id, poolMembers.userId))
      .where(eq(poolMembers.pool, pool))
      .orderBy(asc(users.username));
  }

  /** Records a claim, the scan's first claim time and the audit event in one transaction (one commit). */
  async insertClaim(claim: typeof claims.$inferInsert, audit: typeof auditEvents.$inferInsert): Promise<void> {
    await this.database.db.transaction(async (tx) => {
      await tx.insert(claims).values(claim);
      await tx
        .update(scans)
        .set({ claimedAt: claim.claimedAt })
        .where(and(eq(scans.id, claim.scanId), isNull(scans.claimedAt)));
      await tx.insert(auditEvents).values(audit);
    });
  }

  async claim(id: string): Promise<ClaimRow | undefined> {
    return (await this.database.db.select().from(claims).where(eq(claims.id, id)))[0];
  }

  async openClaimOf(scanId: string, stage: ReviewStage): Promise<ClaimRow | undefined> {
    return (
      await this.database.db
        .select()
        .from(claims)
        .where(and(eq(claims.scanId, scanId), eq(claims.stage, stage), isNull(claims.endedAt)))
    )[0];
  }

  async extendClaim(id: string, expiresAt: Date): Promise<void> {
    await this.database.db.update(claims).set({ expiresAt }).where(eq(claims.id, id));
  }

  /** Ends an open claim; false when it had ended already. */
  async endClaim(id: string, reason: ClaimEnding, at: Date): Promise<boolean> {
    const rows = await this.database.db
      .update(claims)
      .set({ endedAt: at, endReason: reason })
      .where(and(eq(claims.id, id), isNull(claims.endedAt)))
      .returning({ id: claims.id });
    return rows.length === 1;
  }

  /** Records the verdict and ends its claim in one transaction; false when the claim had ended already. */
  async insertVerdict(verdict: typeof verdicts.$inferInsert, at: Date): Promise<boolean> {
    return this.database.db.transaction(async (tx) => {
      const ended = await tx
        .update(claims)
        .set({ endedAt: at, endReason: 'verdict' })
        .where(and(eq(claims.id, verdict.claimId), isNull(claims.endedAt)))
        .returning({ id: claims.id });
      if (ended.length === 0) return false;
      await tx.insert(verdicts).values(verdict);
      return true;
    });
  }

  async verdictsOf(scanId: string): Promise<VerdictRow[]> {
    return this.database.db.select().from(verdicts).where(eq(verdicts.scanId, scanId)).orderBy(asc(verdicts.decidedAt));
  }

  /** Open claims with who holds them, for supervisors. */
  async openClaims(): Promise<{ claimId: string; scanId: string; pool: string; stage: ReviewStage; analyst: string; analystId: string; claimedAt: Date; expiresAt: Date }[]> {
    return this.database.db
      .select({
        claimId: claims.id,
        scanId: claims.scanId,
        pool: scans.pool,
        stage: claims.stage,
        analyst: users.username,
        analystId: users.id,
        claimedAt: claims.claimedAt,
        expiresAt: claims.expiresAt,
      })
      .from(claims)
      .innerJoin(users, eq(users.id, claims.analystId))
      .innerJoin(scans, eq(scans.id, claims.scanId))
      .where(isNull(claims.endedAt))
      .orderBy(asc(claims.claimedAt));
  }

  /** Per pool: cases waiting for a verdict, the oldest queued time, and how many are past their deadline. */
  async poolFigures(now: Date): Promise<{ pool: string; undecided: number; oldestQueuedAt: Date | null; overdue: number }[]> {
    const rows = await this.database.db
      .select({
        pool: scans.pool,
        undecided: count(),
        oldestQueuedAt: min(scans.queuedAt),
        overdue: sql<number>`count(*) filter (where ${scans.slaDeadline} < ${now.toISOString()})`,
      })
      .from(scans)
      .where(and(eq(scans.purpose, 'live'), eq(scans.status, 'queued')))
      .groupBy(scans.pool);
    return rows.map((row) => ({
      pool: row.pool,
      undecided: Number(row.undecided),
      oldestQueuedAt: row.oldestQueuedAt ? new Date(row.oldestQueuedAt) : null,
      overdue: Number(row.overdue),
    }));
  }

  /** Decided since `since`, with decision time, for the supervisor's recent list and SLA figures. */
  async recentDecisions(since: Date, limit = 50): Promise<{ scanId: string; pool: string; queuedAt: Date | null; decidedAt: Date | null; slaDeadline: Date | null }[]> {
    return this.database.db
      .select({ scanId: scans.id, pool: scans.pool, queuedAt: scans.queuedAt, decidedAt: scans.decidedAt, slaDeadline: scans.slaDeadline })
      .from(scans)
      .where(and(eq(scans.purpose, 'live'), eq(scans.status, 'decided'), gt(scans.decidedAt, since)))
      .orderBy(sql`${scans.decidedAt} desc`)
      .limit(limit);
  }

  /** Scans that should be in a pool: queued ones, with the stage they wait for. */
  async waitingScans(): Promise<{ id: string; pool: string; riskScore: number; slaDeadline: Date | null; receivedAt: Date; firstVerdictBy: string | null }[]> {
    const rows = await this.database.db
      .select({
        id: scans.id,
        pool: scans.pool,
        riskScore: scans.riskScore,
        slaDeadline: scans.slaDeadline,
        receivedAt: scans.receivedAt,
        firstVerdictBy: verdicts.analystId,
      })
      .from(scans)
      .leftJoin(verdicts, and(eq(verdicts.scanId, scans.id), eq(verdicts.stage, 'first')))
      .where(and(eq(scans.purpose, 'live'), eq(scans.status, 'queued')));
    return rows;
  }

  /** Claims whose lock time passed without being ended (the lock lapsed while no API process watched). */
  async expiredOpenClaims(now: Date): Promise<ClaimRow[]> {
    return this.database.db.select().from(claims).where(and(isNull(claims.endedAt), lt(claims.expiresAt, now)));
  }

  async usersByIds(ids: string[]): Promise<{ id: string; username: string }[]> {
    if (ids.length === 0) return [];
    return this.database.db.select({ id: users.id, username: users.username }).from(users).where(inArray(users.id, ids));
  }
}
