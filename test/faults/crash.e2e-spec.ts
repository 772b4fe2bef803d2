import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { loadConfig } from '../../src/config/config.js';
import { JobName, QueueName, jobId } from '../../src/queue/jobs.js';
import type { ResultBody } from '../../src/results/result-body.js';
import { expectInvariants } from '../invariants.js';
import { createTestPostgres } from '../postgres.js';
import { type ProcessRequest, type ServiceProcess, ensureServiceBuilt, requestProcess, startServiceProcess } from '../processes.js';
import { deleteRedisKeys } from '../redis.js';
import { scanForm } from '../service.harness.js';
import { until } from '../until.js';

const REDIS_URL = process.env.NIIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A job whose process died is taken again after at most this (BullMQ lock; the stalled check runs every half). */
const JOB_LOCK_SECONDS = 4;

/**
 * A converter killed (SIGKILL: nothing is cleaned up) while it converts a scan, with real processes: an `api` process
 * (HTTP, webhooks) and `convert` processes, all on one PostgreSQL, one Redis prefix and one objects folder, as an
 * operator runs them. A large synthetic scan (8000 x 2500, dual energy) converts long enough to be caught in the
 * middle. Killed once and started again, the scan is converted (`queued`). Killed every time it is taken (twice),
 * it is not tried a third time: it ends `failed` with `conversion_crashed`, and its station is told (pull and
 * webhook). What is watched is what an operator sees: the scan's status, and its conversion job taken by a process.
 */
describe('a converter killed while converting', () => {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'niix-crash-'));
  const prefix = `niixcrash${randomBytes(4).toString('hex')}`;
  const deliveries: ResultBody[] = [];
  const converters: ServiceProcess[] = [];
  let database: { url: string; drop: () => Promise<void> };
  let receiver: http.Server;
  let env: Record<string, string>;
  let api: ServiceProcess;
  let queue: Queue;
  let station: { apiKey: string };
  let seed = 1100;

  async function startConverter(): Promise<ServiceProcess> {
    const name = `convert-${converters.length + 1}`;
    const tmp = path.join(workDir, name, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const converter = await startServiceProcess({ ...env, NIIX_ROLES: 'convert', TMPDIR: tmp }, { name });
    converters.push(converter);
    return converter;
  }

  const request = <T>(method: string, route: string, init: ProcessRequest = {}) => requestProcess<T>(api, method, route, init);

  const scan = async (id: string) => (await request<{ status: string; failure?: { code: string } }>('GET', `/api/v1/scans/${id}`, { token: station.apiKey })).body;

  async function uploadLargeScan(): Promise<string> {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'container', width: 8000, height: 2500 }));
    const accepted = await request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files, { reference: `crash-${seed}` }) });
    expect(accepted.status).toBe(202);
    return accepted.body.id;
  }

  /** The scan's conversion job, running in a process that took it after `since` (ms): the scan is being converted. */
  async function takenAfter(scanId: string, since: number): Promise<void> {
    await until(
      async () => {
        const job = await queue.getJob(jobId(JobName.ConvertScan, { scanId }));
        return job && (job.processedOn ?? 0) > since && (await job.getState()) === 'active' && (await scan(scanId)).status === 'converting';
      },
      `scan ${scanId} converting in a process started after ${new Date(since).toISOString()}`,
      60_000,
    );
  }

  /** SIGKILL in the middle of the conversion: afterwards the scan is still `converting` (the kill came before the end). */
  async function killWhileConverting(converter: ServiceProcess, scanId: string): Promise<number> {
    await converter.kill();
    const killedAt = Date.now();
    expect((await scan(scanId)).status).toBe('converting');
    return killedAt;
  }

  beforeAll(async () => {
    receiver = http.createServer((incoming, response) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        deliveries.push(JSON.parse(Buffer.concat(chunks).toString()) as ResultBody);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    [, database] = await Promise.all([ensureServiceBuilt(), createTestPostgres()]);
    env = {
      DATABASE_URL: database.url,
      REDIS_URL,
      NIIX_REDIS_PREFIX: prefix,
      NIIX_DATA_DIR: path.join(workDir, 'data'), // one objects folder for every process
      NIIX_ADMIN_PASSWORD: 'admin-password-for-tests',
      NIIX_JOB_LOCK_SECONDS: String(JOB_LOCK_SECONDS),
      NIIX_LOG_LEVEL: 'warn',
    };
    api = await startServiceProcess({ ...env, NIIX_ROLES: 'api,deliver' }, { name: 'api' });
    queue = new Queue(QueueName.Convert, { connection: { url: REDIS_URL }, prefix });
    const admin = (await request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'admin', password: env.NIIX_ADMIN_PASSWORD } })).body.token;
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/niix`;
    const created = await request<{ apiKey: string }>('POST', '/api/v1/stations', { token: admin, json: { name: 'Luhamaa 2', country: 'EE', callbackUrl } });
    expect(created.status).toBe(201);
    station = created.body;
  }, 300_000);

  afterAll(async () => {
    await Promise.all([api, ...converters].map((process) => process?.stop()));
    await queue?.close();
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
    await database?.drop();
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('converts the scan when the converter is killed once and a healthy one takes over', async () => {
    const first = await startConverter();
    const startedAt = Date.now();
    const scanId = await uploadLargeScan();
    await takenAfter(scanId, startedAt - 1);
    const killedAt = await killWhileConverting(first, scanId);

    const second = await startConverter();
    await until(async () => (await scan(scanId)).status === 'queued', `scan ${scanId} queued after one kill`, 180_000);
    console.log(`crash: one kill; scan queued ${((Date.now() - killedAt) / 1000).toFixed(1)} s after it`);
    await second.stop();
    await expectInvariants({ config: loadConfig(api.env) });
  }, 300_000);

  it('fails the scan as conversion_crashed when its converter is killed every time it takes it, and tells the station', async () => {
    const first = await startConverter();
    const startedAt = Date.now();
    const scanId = await uploadLargeScan();
    await takenAfter(scanId, startedAt - 1);
    const firstKill = await killWhileConverting(first, scanId);

    // a new converter takes the job once its lock has run out, and is killed in the middle too
    const second = await startConverter();
    await takenAfter(scanId, firstKill);
    const secondKill = await killWhileConverting(second, scanId);

    // the third is healthy, but the scan is not tried again: it stopped two converters
    const third = await startConverter();
    const failed = await until(async () => {
      const current = await scan(scanId);
      return current.status === 'failed' ? current : undefined;
    }, `scan ${scanId} failed after two kills`, 120_000);
    expect(failed.failure?.code).toBe('conversion_crashed');
    console.log(`crash: two kills; scan failed ${((Date.now() - secondKill) / 1000).toFixed(1)} s after the second`);

    // the station is told: by pull and by webhook, once (the result is recorded a moment after the status)
    const pulled = await until(async () => {
      const page = await request<{ results: ResultBody[] }>('GET', '/api/v1/station/results', { token: station.apiKey });
      const own = page.body.results.filter((result) => result.scanId === scanId);
      return own.length ? own : undefined;
    }, `the result of scan ${scanId} to pull`);
    expect(pulled).toEqual([expect.objectContaining({ kind: 'failure', failure: { code: 'conversion_crashed', message: expect.any(String) } })]);
    const told = await until(async () => deliveries.find((result) => result.scanId === scanId), `the webhook of scan ${scanId}`);
    expect(told).toMatchObject({ kind: 'failure', failure: { code: 'conversion_crashed' } });
    // the healthy converter is not given it again
    expect(await (await queue.getJob(jobId(JobName.ConvertScan, { scanId })))?.getState()).toBe('failed');
    await third.stop();
    await expectInvariants({ config: loadConfig(api.env) });
    expect(deliveries.filter((result) => result.scanId === scanId)).toHaveLength(1);
  }, 300_000);
});
