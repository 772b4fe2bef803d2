import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { asc, sql } from 'drizzle-orm';
import { DATABASE } from './database.module.js';
import type { Database, Db } from './database.js';
import { installation } from './schema.js';

/** This installation's identity, kept in its own database (and so in its backups). */
@Injectable()
export class InstallationRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  /**
   * The installation's id, made at the first start. Processes of one installation starting at once against one
   * PostgreSQL all get the same id: the first to find the table empty makes it under a table lock, the others
   * wait for that lock and then read it.
   */
  async id(): Promise<string> {
    const existing = await oldest(this.database.db);
    if (existing) return existing;
    return this.database.db.transaction(async (tx) => {
      await tx.execute(sql`lock table ${installation} in share row exclusive mode`);
      const made = await oldest(tx);
      if (made) return made;
      const [row] = await tx.insert(installation).values({ id: randomUUID() }).returning({ id: installation.id });
      return row.id;
    });
  }
}

async function oldest(db: Pick<Db, 'select'>): Promise<string | undefined> {
  const [row] = await db.select({ id: installation.id }).from(installation).orderBy(asc(installation.createdAt), asc(installation.id)).limit(1);
  return row?.id;
}
