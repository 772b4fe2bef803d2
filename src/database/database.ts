import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** The one query interface, the same over PGlite and PostgreSQL. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseSettings = { kind: 'pglite'; dir: string } | { kind: 'postgres'; url: string };

/** Committed migrations (drizzle-kit generate), applied at every start. */
export const MIGRATIONS_DIR = path.resolve(process.cwd(), 'drizzle');

/**
 * The database connection: PGlite in-process on disk (embedded default) or a PostgreSQL pool (production).
 * Opening applies pending migrations.
 */
export class Database {
  private constructor(
    readonly db: Db,
    readonly kind: DatabaseSettings['kind'],
    private readonly closeClient: () => Promise<void>,
  ) {}

  static async open(settings: DatabaseSettings): Promise<Database> {
    if (settings.kind === 'pglite') {
      mkdirSync(settings.dir, { recursive: true });
      const client = await PGlite.create(settings.dir);
      const db = drizzlePglite(client, { schema });
      await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
      return new Database(db as unknown as Db, 'pglite', () => client.close());
    }
    const pool = new pg.Pool({ connectionString: settings.url, max: 20 });
    pool.on('error', () => undefined); // a dropped idle connection is replaced on the next query
    const db = drizzlePg(pool, { schema });
    try {
      await migrateUnderLock(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new Database(db as unknown as Db, 'postgres', () => pool.end());
  }

  /** Resolves when the database answers a trivial query. */
  async ping(): Promise<void> {
    await this.db.execute(sql`select 1`);
  }

  async close(): Promise<void> {
    await this.closeClient();
  }
}

/** Key of the advisory lock that lets one process at a time apply migrations to a PostgreSQL database. */
const MIGRATION_LOCK = 7_342_190_001;

/**
 * Several processes of one installation may start at once on a new database (api, converters, deliverers): the
 * first applies the migrations under a session advisory lock, the others wait for it and find nothing to do.
 */
async function migrateUnderLock(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
