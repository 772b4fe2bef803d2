import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server tests use (CI starts it; PGlite covers the embedded default). */
export function postgresTestUrl(database = 'postgres'): string {
  const base = process.env.NIIX_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates an empty database for one test, hands its URL to `run`, then drops it. */
export async function withFreshPostgres<T>(run: (url: string) => Promise<T>): Promise<T> {
  const name = `niix_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresTestUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    return await run(postgresTestUrl(name));
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/** Creates an empty database that the caller drops with the returned function. */
export async function createTestPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `niix_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresTestUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    url: postgresTestUrl(name),
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresTestUrl() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
