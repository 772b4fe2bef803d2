import { Inject, Injectable } from '@nestjs/common';
import { asc, eq } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { auditEvents } from '../database/schema.js';

export type AuditEvent = Omit<typeof auditEvents.$inferInsert, 'id' | 'at'>;

/** The append-only audit trail: every image view and every decision lands here. */
@Injectable()
export class AuditRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async record(event: AuditEvent): Promise<void> {
    await this.database.db.insert(auditEvents).values(event);
  }

  async forScan(scanId: string): Promise<(typeof auditEvents.$inferSelect)[]> {
    return this.database.db.select().from(auditEvents).where(eq(auditEvents.scanId, scanId)).orderBy(asc(auditEvents.id));
  }
}
