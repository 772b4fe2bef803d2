import { Inject, Injectable } from '@nestjs/common';
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lte, sql } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { results, scans, stations } from '../database/schema.js';
import type { ResultRow } from './result-body.js';

export type NewResult = Omit<typeof results.$inferInsert, 'id'>;
export type UndeliveredRow = Pick<ResultRow, 'id' | 'stationId' | 'scanId' | 'kind' | 'createdAt' | 'deliveryAttempts' | 'lastDeliveryError' | 'undeliveredAt'> & {
  stationName: string;
};

/** Key of the advisory lock that makes result ids become visible in increasing order (see insertOnce). */
const RESULT_ORDER_LOCK = 0x6e696978; // "niix"

const timestamp = (at: Date) => sql`${at.toISOString()}::timestamptz`;

@Injectable()
export class ResultRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  /**
   * Inserts the result unless its scan has one; returns the row and whether it is new. Inserts take a
   * transaction-wide lock so that ids commit in increasing order: a reader that has seen id n never later finds a
   * smaller id appearing, which makes "everything after my cursor" exact for pull and stream.
   */
  async insertOnce(result: NewResult): Promise<{ row: ResultRow; created: boolean }> {
    return this.database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${RESULT_ORDER_LOCK})`);
      const inserted = await tx.insert(results).values(result).onConflictDoNothing({ target: results.scanId }).returning();
      if (inserted.length) return { row: inserted[0], created: true };
      const existing = await tx.select().from(results).where(eq(results.scanId, result.scanId));
      return { row: existing[0], created: false };
    });
  }

  async findById(id: number): Promise<ResultRow | undefined> {
    const rows = await this.database.db.select().from(results).where(eq(results.id, id));
    return rows[0];
  }

  /** The station's results with an id above `after`, in id order. */
  async listAfter(stationId: string, after: number, limit: number): Promise<ResultRow[]> {
    return this.database.db
      .select()
      .from(results)
      .where(and(eq(results.stationId, stationId), gt(results.id, after)))
      .orderBy(asc(results.id))
      .limit(limit);
  }

  /** The highest result id of the station, 0 without results. */
  async lastId(stationId: string): Promise<number> {
    const rows = await this.database.db.select({ id: results.id }).from(results).where(eq(results.stationId, stationId)).orderBy(desc(results.id)).limit(1);
    return rows[0]?.id ?? 0;
  }

  /** Sets acked_at (first time only) and the scan's delivered_at when not set; undefined when not this station's. */
  async acknowledge(stationId: string, id: number, at: Date): Promise<{ row: ResultRow; first: boolean } | undefined> {
    return this.database.db.transaction(async (tx) => {
      const acked = await tx
        .update(results)
        .set({ ackedAt: at })
        .where(and(eq(results.id, id), eq(results.stationId, stationId), isNull(results.ackedAt)))
        .returning();
      if (acked.length) {
        await tx.update(scans).set({ deliveredAt: sql`coalesce(${scans.deliveredAt}, ${timestamp(at)})` }).where(eq(scans.id, acked[0].scanId));
        return { row: acked[0], first: true };
      }
      const existing = await tx.select().from(results).where(and(eq(results.id, id), eq(results.stationId, stationId)));
      return existing.length ? { row: existing[0], first: false } : undefined;
    });
  }

  /** Counts one webhook attempt; with `deliveredAt`, it succeeded: the result and its scan are delivered (and no longer undelivered). */
  async recordAttempt(id: number, outcome: { error: string } | { deliveredAt: Date }): Promise<void> {
    await this.database.db.transaction(async (tx) => {
      const rows = await tx
        .update(results)
        .set({
          deliveryAttempts: sql`${results.deliveryAttempts} + 1`,
          ...('error' in outcome
            ? { lastDeliveryError: outcome.error }
            : { deliveredAt: sql`coalesce(${results.deliveredAt}, ${timestamp(outcome.deliveredAt)})`, undeliveredAt: null }),
        })
        .where(eq(results.id, id))
        .returning({ scanId: results.scanId });
      if ('deliveredAt' in outcome && rows.length) {
        await tx.update(scans).set({ deliveredAt: sql`coalesce(${scans.deliveredAt}, ${timestamp(outcome.deliveredAt)})` }).where(eq(scans.id, rows[0].scanId));
      }
    });
  }

  /** Webhook delivery gave up; false when the result was delivered meanwhile, or is undelivered already (a retry that failed too). */
  async markUndelivered(id: number, at: Date): Promise<boolean> {
    const rows = await this.database.db
      .update(results)
      .set({ undeliveredAt: at })
      .where(and(eq(results.id, id), isNull(results.deliveredAt), isNull(results.undeliveredAt)))
      .returning({ id: results.id });
    return rows.length === 1;
  }

  /**
   * Takes, per station with a callback URL, its oldest undelivered result when that was given up (or last retried)
   * at or before `due`, and marks it retried `now`: the result stays undelivered (and listed) while its retry runs.
   * A conditional update, so that of several processes asking at once one takes each result.
   */
  async takeUndeliveredRetries(due: Date, now: Date): Promise<ResultRow[]> {
    const oldest = this.database.db
      .selectDistinctOn([results.stationId], { id: results.id })
      .from(results)
      .innerJoin(stations, eq(stations.id, results.stationId))
      .where(and(isNotNull(stations.callbackUrl), isNotNull(results.undeliveredAt), isNull(results.deliveredAt), isNull(results.ackedAt)))
      .orderBy(results.stationId, results.id);
    const rows = await this.database.db
      .update(results)
      .set({ undeliveredAt: now })
      .where(and(inArray(results.id, oldest), lte(results.undeliveredAt, due), isNull(results.deliveredAt), isNull(results.ackedAt)))
      .returning();
    return rows.sort((a, b) => a.id - b.id);
  }

  /** The station answers again: its undelivered results (not delivered, not acknowledged) are undelivered no more; returns them. */
  async takeUndeliveredOf(stationId: string): Promise<ResultRow[]> {
    const rows = await this.database.db
      .update(results)
      .set({ undeliveredAt: null })
      .where(and(eq(results.stationId, stationId), isNotNull(results.undeliveredAt), isNull(results.deliveredAt), isNull(results.ackedAt)))
      .returning();
    return rows.sort((a, b) => a.id - b.id);
  }

  async clearUndelivered(id: number): Promise<void> {
    await this.database.db.update(results).set({ undeliveredAt: null }).where(eq(results.id, id));
  }

  async listUndelivered(limit: number): Promise<UndeliveredRow[]> {
    return this.database.db
      .select({
        id: results.id,
        stationId: results.stationId,
        stationName: stations.name,
        scanId: results.scanId,
        kind: results.kind,
        createdAt: results.createdAt,
        deliveryAttempts: results.deliveryAttempts,
        lastDeliveryError: results.lastDeliveryError,
        undeliveredAt: results.undeliveredAt,
      })
      .from(results)
      .innerJoin(stations, eq(stations.id, results.stationId))
      .where(isNotNull(results.undeliveredAt))
      .orderBy(asc(results.id))
      .limit(limit);
  }

  /** Ids of results whose webhook is still to be sent (station with a callback URL, neither delivered, acked nor given up). */
  async pendingDeliveries(): Promise<number[]> {
    const rows = await this.database.db
      .select({ id: results.id })
      .from(results)
      .innerJoin(stations, eq(stations.id, results.stationId))
      .where(and(isNotNull(stations.callbackUrl), isNull(results.deliveredAt), isNull(results.ackedAt), isNull(results.undeliveredAt)))
      .orderBy(asc(results.id));
    return rows.map((row) => row.id);
  }
}
