import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { type ScanStatus, type TrainingScanStatus, auditEvents, results, scanFiles, scans } from '../database/schema.js';

export type ScanRow = typeof scans.$inferSelect;
export type ScanFileRow = typeof scanFiles.$inferSelect;

@Injectable()
export class ScanRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async findById(id: string): Promise<ScanRow | undefined> {
    const rows = await this.database.db.select().from(scans).where(eq(scans.id, id));
    return rows[0];
  }

  async findByIds(ids: string[]): Promise<ScanRow[]> {
    if (ids.length === 0) return [];
    return this.database.db.select().from(scans).where(inArray(scans.id, ids));
  }

  async findByIdempotencyKey(stationId: string, key: string): Promise<ScanRow | undefined> {
    const rows = await this.database.db
      .select()
      .from(scans)
      .where(and(eq(scans.stationId, stationId), eq(scans.idempotencyKey, key)));
    return rows[0];
  }

  async findByContent(stationId: string, contentSha256: string): Promise<ScanRow | undefined> {
    const rows = await this.database.db
      .select()
      .from(scans)
      .where(and(eq(scans.stationId, stationId), eq(scans.contentSha256, contentSha256)));
    return rows[0];
  }

  /**
   * Inserts the scan with its files, and its audit event when given, in one transaction; false when the station
   * sent it before (unique keys).
   */
  async insertWithFiles(scan: typeof scans.$inferInsert, files: (typeof scanFiles.$inferInsert)[], audit?: Omit<typeof auditEvents.$inferInsert, 'id' | 'at' | 'scanId'>): Promise<boolean> {
    return this.database.db.transaction(async (tx) => {
      const inserted = await tx.insert(scans).values(scan).onConflictDoNothing().returning({ id: scans.id });
      if (inserted.length === 0) return false;
      if (files.length) await tx.insert(scanFiles).values(files);
      if (audit) await tx.insert(auditEvents).values({ ...audit, scanId: scan.id });
      return true;
    });
  }

  async files(scanId: string): Promise<ScanFileRow[]> {
    return this.database.db.select().from(scanFiles).where(eq(scanFiles.scanId, scanId)).orderBy(asc(scanFiles.position));
  }

  /**
   * Moves the scan to `to` only from one of `from`; false when it was in another state. `audit`, when given, is
   * recorded in the same transaction, so that whoever sees the new state also finds its audit event.
   */
  async transition(
    id: string,
    from: (ScanStatus | TrainingScanStatus)[],
    to: Partial<typeof scans.$inferInsert> & { status: ScanStatus | TrainingScanStatus },
    audit?: Omit<typeof auditEvents.$inferInsert, 'id' | 'at' | 'scanId'>,
  ): Promise<boolean> {
    const apply = async (db: Pick<Database['db'], 'update'>): Promise<boolean> => {
      const rows = await db
        .update(scans)
        .set(to)
        .where(and(eq(scans.id, id), inArray(scans.status, from)))
        .returning({ id: scans.id });
      return rows.length === 1;
    };
    if (!audit) return apply(this.database.db);
    return this.database.db.transaction(async (tx) => {
      if (!(await apply(tx))) return false;
      await tx.insert(auditEvents).values({ ...audit, scanId: id });
      return true;
    });
  }

  // Live work only: training scans (purpose `training`) never enter the pipeline's, the pool's or the stations' queries.

  /** Scans in a final state whose result for the station was never recorded (a crash in between). */
  async finishedWithoutResult(status: 'decided' | 'failed'): Promise<ScanRow[]> {
    const rows = await this.database.db
      .select({ scan: scans })
      .from(scans)
      .leftJoin(results, eq(results.scanId, scans.id))
      .where(and(eq(scans.purpose, 'live'), eq(scans.status, status), isNull(results.id)));
    return rows.map((row) => row.scan);
  }

  async idsWithStatus(statuses: ScanStatus[]): Promise<{ id: string; status: ScanStatus | TrainingScanStatus; manifest: unknown }[]> {
    return this.database.db
      .select({ id: scans.id, status: scans.status, manifest: scans.manifest })
      .from(scans)
      .where(and(eq(scans.purpose, 'live'), inArray(scans.status, statuses)));
  }
}
