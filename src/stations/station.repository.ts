import { Inject, Injectable } from '@nestjs/common';
import { eq } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { stations } from '../database/schema.js';

export type StationRow = typeof stations.$inferSelect;

@Injectable()
export class StationRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  /** Inserts the station; returns false when the name is taken. */
  async insert(station: typeof stations.$inferInsert): Promise<boolean> {
    const rows = await this.database.db.insert(stations).values(station).onConflictDoNothing().returning({ id: stations.id });
    return rows.length === 1;
  }

  async findById(id: string): Promise<StationRow | undefined> {
    const rows = await this.database.db.select().from(stations).where(eq(stations.id, id));
    return rows[0];
  }

  async findByApiKeyHash(apiKeyHash: string): Promise<StationRow | undefined> {
    const rows = await this.database.db.select().from(stations).where(eq(stations.apiKeyHash, apiKeyHash));
    return rows[0];
  }

  async list(): Promise<StationRow[]> {
    return this.database.db.select().from(stations).orderBy(stations.name);
  }
}
