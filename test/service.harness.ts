import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type StartOptions, startApp } from '../src/app.js';
import { type AppConfig, loadConfig } from '../src/config/config.js';
import { createTestPostgres } from './postgres.js';
import { startS3rver, type TestS3 } from './s3.js';
import { deleteRedisKeys } from './redis.js';

export const TEST_REDIS_URL = process.env.NIIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestService {
  url: string;
  config: AppConfig;
  app: NestFastifyApplication;
  adminToken: string;
  /** JSON request with an optional bearer token; returns status and parsed body. */
  request<T = unknown>(method: string, route: string, options?: { token?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> }): Promise<{ status: number; body: T; headers: Headers }>;
  /** Raw bytes of a GET. */
  bytes(route: string, token: string): Promise<{ status: number; data: Buffer; type: string | null }>;
  /** Polls the scan until its status is one of `until` (queued or failed by default). */
  waitForScan(id: string, token: string, until?: string[]): Promise<ScanBody>;
  /** Scan folders present in the local object store (to prove a refused upload left nothing). */
  storedScanFolders(): Promise<string[]>;
  /** With `logs: true`: every line the service logged so far, and what it printed outside the log (the first admin's password). */
  logLines(): string[];
  printed(): string;
  close(): Promise<void>;
}

export interface ScanBody {
  id: string;
  status: string;
  stationId: string;
  manifest?: { views: { id: string; width: number; height: number; planes: { energy: string }[] }[] } & Record<string, unknown>;
  failure?: { code: string; message: string };
}

/**
 * Boots the whole service on a free port with its own data folder, Redis key prefix and (for PostgreSQL)
 * its own database, so test files can run side by side. Real Redis, real database, real storage.
 */
export async function startTestService(
  options: {
    database?: 'pglite' | 'postgres';
    storage?: 'filesystem' | 's3';
    env?: Record<string, string>;
    /** Run over the data of an earlier instance (its folder, database and Redis prefix), which keeps them. */
    shareWith?: TestService;
    /** Capture the log (at env NIIX_LOG_LEVEL, `error` unless given) and the console prints instead of dropping them. */
    logs?: boolean;
  } = {},
): Promise<TestService> {
  const shared = options.shareWith?.config;
  const dir = shared?.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'niix-e2e-'));
  const prefix = shared?.redis.prefix ?? `niixtest${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    NIIX_DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: TEST_REDIS_URL,
    NIIX_REDIS_PREFIX: prefix,
    NIIX_ADMIN_PASSWORD: ADMIN_PASSWORD,
    NIIX_LOG_LEVEL: process.env.NIIX_TEST_LOG_LEVEL ?? 'error',
    ...options.env,
  };
  let dropDatabase: (() => Promise<void>) | undefined;
  if (shared?.database.kind === 'postgres') {
    env.DATABASE_URL = shared.database.url;
  } else if (options.database === 'postgres') {
    const database = await createTestPostgres();
    env.DATABASE_URL = database.url;
    dropDatabase = database.drop;
  }
  let s3: TestS3 | undefined;
  if (options.storage === 's3') {
    s3 = await startS3rver(path.join(dir, 's3'));
    Object.assign(env, {
      S3_ENDPOINT: s3.settings.endpoint,
      S3_ACCESS_KEY: s3.settings.accessKey,
      S3_SECRET_KEY: s3.settings.secretKey,
      S3_BUCKET: s3.settings.bucket,
    });
  }
  const config = loadConfig(env);
  const logLines: string[] = [];
  let printed = '';
  const startOptions: StartOptions = options.logs
    ? { logDestination: { write: (line: string) => void logLines.push(line) }, console: { write: (text: string) => (printed += text) } }
    : process.env.NIIX_TEST_LOG_LEVEL
      ? {}
      : { logger: false };
  const app = await startApp(config, startOptions).catch(async (error: unknown) => {
    // a refused start (a test of start-up checks) leaves nothing behind
    if (!shared) {
      await deleteRedisKeys(TEST_REDIS_URL, `${prefix}:*`);
      await s3?.close();
      await dropDatabase?.();
      rmSync(dir, { recursive: true, force: true });
    }
    throw error;
  });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');

  async function request<T>(method: string, route: string, init: { token?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const response = await fetch(`${url}${route}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  const login = await request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'admin', password: ADMIN_PASSWORD } });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status}`);

  return {
    url,
    config,
    app,
    adminToken: login.body.token,
    request,
    async bytes(route, token) {
      const response = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, data: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') };
    },
    async waitForScan(id, token, until = ['queued', 'failed']) {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const { status, body } = await request<ScanBody>('GET', `/api/v1/scans/${id}`, { token });
        if (status !== 200) throw new Error(`GET scan ${id}: ${status} ${JSON.stringify(body)}`);
        if (until.includes(body.status)) return body;
        if (Date.now() > deadline) throw new Error(`scan ${id} still ${body.status} after 90 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    logLines: () => [...logLines],
    printed: () => printed,
    async storedScanFolders() {
      if (config.storage.kind !== 'filesystem') throw new Error('storedScanFolders needs the filesystem driver');
      try {
        return (await readdir(path.join(config.storage.dir, 'scans'))).sort();
      } catch {
        return [];
      }
    },
    async close() {
      await app.close();
      if (shared) return; // the first instance owns and cleans the data
      await deleteRedisKeys(TEST_REDIS_URL, `${prefix}:*`);
      await s3?.close();
      await dropDatabase?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A multipart body: metadata JSON (optional) and files. */
export function scanForm(files: { name: string; data: Buffer }[], metadata?: unknown): FormData {
  const form = new FormData();
  if (metadata !== undefined) form.append('metadata', JSON.stringify(metadata));
  for (const file of files) form.append('file', new Blob([new Uint8Array(file.data)]), file.name);
  return form;
}
