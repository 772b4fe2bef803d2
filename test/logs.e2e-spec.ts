import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { startApp } from '../src/app.js';
import { freePort } from '../src/common/free-port.js';
import { loadConfig } from '../src/config/config.js';
import { startFailureMessage } from '../src/logging/start-failure.js';
import { ResultsService } from '../src/results/results.service.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { createTestPostgres } from './postgres.js';
import { deleteRedisKeys } from './redis.js';
import { type TestS3, startS3rver } from './s3.js';
import { TEST_REDIS_URL, scanForm } from './service.harness.js';
import { until } from './until.js';

/** A place for log lines, as the service writes them (one JSON line per write). */
function logSink(): { write(line: string): void; text(): string } {
  const lines: string[] = [];
  return { write: (line) => void lines.push(line), text: () => lines.join('') };
}

/**
 * Secrets never reach the log. The service runs with every secret it can be given (a first admin password it
 * generates, a PostgreSQL password, an S3 secret key, a metrics token), logs everything (NIIX_LOG_LEVEL=verbose),
 * and goes through sign-in, user and station creation (the API key and webhook secret are shown once), an upload
 * with the key, a webhook that fails to its last attempt, refused credentials and a scrape; then a configuration
 * that is refused, and one that fails at start. The captured log is searched for every secret value.
 */
describe('secrets in the log', () => {
  const secrets: Record<string, string> = {};
  const log = logSink();
  let printed = '';
  let app: NestFastifyApplication;
  let url: string;
  let dir: string;
  let s3: TestS3;
  let dropDatabase: () => Promise<void>;
  const prefix = `niixtest${randomBytes(4).toString('hex')}`;
  let env: Record<string, string>;

  async function call<T>(method: string, route: string, init: { token?: string; json?: unknown; body?: FormData } = {}): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${url}${route}`, { method, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
    const text = await response.text();
    return { status: response.status, body: (response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text) as T };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'niix-logs-'));
    s3 = await startS3rver(path.join(dir, 's3'));
    const database = await createTestPostgres();
    dropDatabase = database.drop;
    // the local PostgreSQL trusts loopback connections, so any password connects: the log must still not show it
    const databaseUrl = new URL(database.url);
    databaseUrl.username = 'postgres';
    databaseUrl.password = secrets.databasePassword = 'pg-password-in-the-url-0451';
    secrets.s3SecretKey = 's3-secret-key-that-s3rver-accepts-7731';
    secrets.metricsToken = 'metrics-token-of-the-logs-test-2207';
    env = {
      NIIX_DATA_DIR: dir,
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: TEST_REDIS_URL,
      NIIX_REDIS_PREFIX: prefix,
      NIIX_LOG_LEVEL: 'verbose',
      NIIX_METRICS_TOKEN: secrets.metricsToken,
      NIIX_DELIVERY_BACKOFF_MS: '10',
      NIIX_DELIVERY_ATTEMPTS: '2',
      DATABASE_URL: databaseUrl.toString(),
      S3_ENDPOINT: s3.settings.endpoint,
      S3_ACCESS_KEY: s3.settings.accessKey,
      S3_SECRET_KEY: secrets.s3SecretKey,
      S3_BUCKET: s3.settings.bucket,
    };
    app = await startApp(loadConfig(env), { logDestination: log, console: { write: (text: string) => (printed += text) } });
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await deleteRedisKeys(TEST_REDIS_URL, `${prefix}:*`);
    await s3?.close();
    await dropDatabase?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the generated first admin password once, outside the log', () => {
    const match = /^niix: created the first administrator "admin" with the password (\S+) \(shown once; change it\)\n$/.exec(printed);
    expect(match).not.toBeNull();
    secrets.adminPassword = match![1];
    expect(log.text()).toContain('created the first administrator \\"admin\\" with a generated password');
  });

  it('logs no secret through sign-in, stations, an upload, a failing webhook, refusals and a scrape', async () => {
    const admin = await call<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'admin', password: secrets.adminPassword } });
    expect(admin.status).toBe(200);
    secrets.adminToken = admin.body.token;
    secrets.analystPassword = 'analyst-password-of-the-logs-test';
    expect((await call('POST', '/api/v1/users', { token: secrets.adminToken, json: { username: 'liis', password: secrets.analystPassword, roles: ['analyst'] } })).status).toBe(201);
    const analyst = await call<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'liis', password: secrets.analystPassword } });
    secrets.analystToken = analyst.body.token;
    secrets.wrongPassword = 'a-wrong-password-someone-typed';
    expect((await call('POST', '/api/v1/auth/login', { json: { username: 'liis', password: secrets.wrongPassword } })).status).toBe(401);

    const gone = `http://127.0.0.1:${await freePort()}/hook`;
    const station = await call<{ id: string; apiKey: string; webhookSecret: string }>('POST', '/api/v1/stations', {
      token: secrets.adminToken,
      json: { name: 'Koidula 1', country: 'EE', callbackUrl: gone },
    });
    expect(station.status).toBe(201);
    secrets.apiKey = station.body.apiKey;
    secrets.webhookSecret = station.body.webhookSecret;

    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 91, kind: 'truck', width: 320, height: 100 }));
    const accepted = await call<{ id: string }>('POST', '/api/v1/scans', { token: secrets.apiKey, body: scanForm(files, { reference: 'koidula/1' }) });
    expect(accepted.status).toBe(202);
    const scanId = accepted.body.id;
    await until(async () => (await call<{ status: string }>('GET', `/api/v1/scans/${scanId}`, { token: secrets.apiKey })).body.status === 'queued', 'the scan queued');
    // its result goes by webhook to a port nobody listens on: every attempt fails, then it is undelivered
    const row = (await app.get(ScanRepository).findById(scanId))!;
    await app.get(ResultsService).record(row, 'verdict', { decision: 'clear', regions: [], note: null, decidedAt: new Date().toISOString() });
    await until(async () => /is undelivered/.test(log.text()), 'the undelivered webhook logged');

    expect((await call('GET', '/api/v1/stations', { token: `${secrets.apiKey}x` })).status).toBe(401);
    expect((await call('GET', '/api/v1/no-such-route', { token: secrets.adminToken })).status).toBe(404);
    expect((await call('GET', '/metrics', { token: secrets.metricsToken })).status).toBe(200);
    expect((await call('GET', '/metrics', { token: secrets.adminToken })).status).toBe(401);

    const text = log.text();
    expect(text).toContain(`"scanId":"${scanId}"`); // the log did see the work
    expect(text).toMatch(/job deliver-result-\d+ failed for good/);
    for (const [name, value] of Object.entries(secrets)) {
      expect([name, text.includes(value)]).toEqual([name, false]);
    }
    // and the console got nothing but the one line
    expect(printed.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('keeps the secrets of a refused configuration out of its one line', () => {
    for (const [name, value, secret] of [
      ['NIIX_METRICS_TOKEN', 'short-token', 'short-token'],
      ['DATABASE_URL', 'mysql://niix:refused-db-password@db:3306/niix', 'refused-db-password'],
      ['NIIX_ADMIN_PASSWORD', 'seven7!', 'seven7!'],
    ]) {
      const refused = { ...env, [name]: value };
      let error: unknown;
      try {
        loadConfig(refused);
      } catch (caught) {
        error = caught;
      }
      const line = startFailureMessage(error, refused);
      expect(line).toMatch(new RegExp(`^invalid configuration: ${name}: `));
      expect(line).not.toContain(secret);
      for (const known of [secrets.s3SecretKey, secrets.metricsToken, secrets.databasePassword]) expect(line).not.toContain(known);
    }
  });

  it('logs no secret when start-up fails on a database it cannot reach', async () => {
    const failing = logSink();
    const unreachable = { ...env, NIIX_REDIS_PREFIX: `${prefix}x`, DATABASE_URL: `postgres://niix:${secrets.databasePassword}@127.0.0.1:${await freePort()}/niix` };
    let error: unknown;
    try {
      const started = await startApp(loadConfig(unreachable), { logDestination: failing });
      await started.close();
    } catch (caught) {
      error = caught;
    } finally {
      await deleteRedisKeys(TEST_REDIS_URL, `${prefix}x:*`);
    }
    expect(error).toEqual(expect.objectContaining({ message: expect.any(String) }));
    const line = startFailureMessage(error, unreachable);
    expect(line).toContain('ECONNREFUSED');
    for (const [name, value] of Object.entries(secrets)) {
      expect([name, failing.text().includes(value), line.includes(value)]).toEqual([name, false, false]);
    }
  });
});
