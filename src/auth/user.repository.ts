import { Inject, Injectable } from '@nestjs/common';
import { and, eq, gt } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { sessions, users } from '../database/schema.js';

export type UserRow = typeof users.$inferSelect;

@Injectable()
export class UserRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const rows = await this.database.db.select().from(users).where(eq(users.username, username));
    return rows[0];
  }

  async count(): Promise<number> {
    return this.database.db.$count(users);
  }

  /** Inserts the user; returns false when the username is taken. */
  async insert(user: typeof users.$inferInsert): Promise<boolean> {
    const rows = await this.database.db.insert(users).values(user).onConflictDoNothing().returning({ id: users.id });
    return rows.length === 1;
  }

  async list(): Promise<UserRow[]> {
    return this.database.db.select().from(users).orderBy(users.username);
  }

  async insertSession(session: typeof sessions.$inferInsert): Promise<void> {
    await this.database.db.insert(sessions).values(session);
  }

  async findUserBySessionToken(tokenHash: string, now: Date): Promise<UserRow | undefined> {
    const rows = await this.database.db
      .select({ user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, now)));
    return rows[0]?.user;
  }
}
