import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { isDatabaseFault } from './database-fault.js';
import { Database } from './database.js';
import { users } from './schema.js';
import { postgresTestUrl, withFreshPostgres } from '../../test/postgres.js';
import { TcpProxy } from '../../test/tcp-proxy.js';

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

  it('survives PostgreSQL going away in the middle of a transaction, names the fault, and works again when it is back', async () => {
    await withFreshPostgres(async (url) => {
      const { proxy, url: proxied } = await TcpProxy.to(url, 5432);
      const database = await Database.open({ kind: 'postgres', url: proxied });
      try {
        // the connection is cut while the transaction holds it between two statements: the process must not stop
        // (an `error` event of a checked-out client without a listener would), and the transaction fails as a fault
        const transaction = database.db.transaction(async (tx) => {
          await tx.execute(sql`select 1`);
          await proxy.cut();
          await new Promise((resolve) => setImmediate(resolve));
          await tx.execute(sql`select 2`);
        });
        const lost = await transaction.then(() => undefined, (error: unknown) => error);
        expect(isDatabaseFault(lost)).toBe(true);
        // down: a new connection is refused, named as a fault
        const refused = await database.ping().then(() => undefined, (error: unknown) => error);
        expect((refused as Error).cause).toMatchObject({ name: 'DatabaseUnavailableError', message: expect.stringContaining('ECONNREFUSED') });
        expect(isDatabaseFault(refused)).toBe(true);
        // back: the pool connects again by itself
        await proxy.start();
        await database.ping();
        await database.db.insert(users).values({ id: randomUUID(), username: 'back', passwordHash: 'x', roles: ['admin'] });
        expect(await database.db.$count(users)).toBe(1);
      } finally {
        await proxy.start();
        await database.close();
        await proxy.cut();
      }
    });
  });
});
