import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Database } from './database.js';
import { users } from './schema.js';
import { postgresTestUrl, withFreshPostgres } from '../../test/postgres.js';

describe(Database.name, () => {
  it('opens PGlite on disk, applies migrations and reopens', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-db-'));
    try {
      const first = await Database.open({ kind: 'pglite', dir: path.join(dir, 'nested', 'db') });
      const id = randomUUID();
      await first.db.insert(users).values({ id, username: 'ana', passwordHash: 'x', roles: ['analyst'] });
      await first.close();
      const second = await Database.open({ kind: 'pglite', dir: path.join(dir, 'nested', 'db') });
      const rows = await second.db.select().from(users).where(eq(users.id, id));
      expect(rows[0].roles).toEqual(['analyst']);
      await second.ping();
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens PostgreSQL and applies migrations', async () => {
    await withFreshPostgres(async (url) => {
      const database = await Database.open({ kind: 'postgres', url });
      await database.ping();
      await database.db.insert(users).values({ id: randomUUID(), username: 'ana', passwordHash: 'x', roles: ['admin'] });
      expect(await database.db.$count(users)).toBe(1);
      await database.close();
    });
    expect(postgresTestUrl()).toMatch(/^postgres/);
  });

  it('lets several processes open a new PostgreSQL database at once (migrations applied once, under a lock)', async () => {
    await withFreshPostgres(async (url) => {
      const databases = await Promise.all(Array.from({ length: 4 }, () => Database.open({ kind: 'postgres', url })));
      await databases[0].db.insert(users).values({ id: randomUUID(), username: 'ana', passwordHash: 'x', roles: ['admin'] });
      for (const database of databases) expect(await database.db.$count(users)).toBe(1);
      await Promise.all(databases.map((database) => database.close()));
    });
  });
});
