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
import { DatabaseUnavailableError } from './database-fault.js';
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
    // A connection that drops while checked out (in a transaction, between its queries) emits `error` on its client,
    // which the pool listens to only while the client is idle: without a listener of its own it would stop the
    // process. The query under way rejects by itself, and the pool discards the client when it is released.
    pool.on('connect', (client) => client.on('error', () => undefined));
    nameConnectFaults(pool);
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

/**
 * A connection the pool cannot open (the server refuses, is unreachable, resets, times out, turns it away) rejects
 * with DatabaseUnavailableError, so that the API can tell it from a fault of its own (503, not 500). Queries of the
 * pool and transactions both take their connection through `connect`.
 */
function nameConnectFaults(pool: pg.Pool): void {
  type Callback = (error: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void;
  const connect = pool.connect.bind(pool) as (callback?: Callback) => Promise<pg.PoolClient> | undefined;
  const named = (error: unknown) => (error instanceof DatabaseUnavailableError ? error : new DatabaseUnavailableError(error));
  (pool as unknown as { connect: (callback?: Callback) => unknown }).connect = (callback?: Callback) => {
    if (callback) return connect((error, client, done) => callback(error ? named(error) : error, client, done));
    return connect()!.catch((error: unknown) => {
      throw named(error);
    });
  };
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
