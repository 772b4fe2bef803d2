import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Database } from '../src/database/database.js';
import { loadConfig } from '../src/config/config.js';
import { RedisEndpoint } from '../src/redis/redis-endpoint.js';
import { reviewPriority } from '../src/review/review-priority.js';
import { ReviewQueueRepository } from '../src/review/review-queue.repository.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { createTestPostgres } from '../test/postgres.js';
import { startServiceProcess } from '../test/processes.js';
import { percentile } from './stats.js';
import { deleteRedisKeys } from '../test/redis.js';

const ADMIN_PASSWORD = 'bench-admin-password';

export interface WorklistFigures {
  cases: number;
  analysts: number;
  claims: number;
  thinkMs: number;
  claimsPerSecond: number;
  claimP50: number;
  claimP95: number;
  webhookP50: number;
  webhookP95: number;
  streamP50: number;
  streamP95: number;
  samples: number;
  peakRssMb: number;
}

async function api<T>(url: string, method: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/**
 * The work pool under load, on PostgreSQL and Redis with the service as its own process: claim latency with
 * 10,000 cases waiting and 50 analysts claiming in a loop; then verdict → webhook received and verdict → stream
 * event, one verdict at a time.
 */
export async function benchWorklist(log: (line: string) => void, options = { cases: 10_000, analysts: 50, claims: 3000, samples: 60, thinkMs: 1000 }): Promise<WorklistFigures> {
  const database = await createTestPostgres();
  const prefix = `niixbench${randomBytes(3).toString('hex')}`;
  const received = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const receiver = http.createServer((request, response) => {
    const id = String(request.headers['x-niix-delivery']);
    request.resume();
    request.on('end', () => {
      received.set(id, performance.now());
      waiters.get(id)?.();
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/niix`;
  const service = await startServiceProcess({
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    NIIX_REDIS_PREFIX: prefix,
    NIIX_ADMIN_PASSWORD: ADMIN_PASSWORD,
    NIIX_LOG_LEVEL: 'warn',
    NIIX_DATA_DIR: `/tmp/${prefix}`,
  });
  const db = await Database.open({ kind: 'postgres', url: database.url });
  const config = loadConfig({ REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', NIIX_REDIS_PREFIX: prefix });
  const redis = await RedisEndpoint.resolve(config.redis, '/tmp');
  const pool = new ReviewQueueRepository(config, redis);
  try {
    const admin = (await api<{ token: string }>(`${service.url}/api/v1/auth/login`, 'POST', undefined, { username: 'admin', password: ADMIN_PASSWORD })).body.token;
    const station = (await api<{ id: string; apiKey: string }>(`${service.url}/api/v1/stations`, 'POST', admin, { name: 'Bench lane', country: 'LV', callbackUrl })).body;
    const tokens: string[] = [];
    for (let i = 0; i < options.analysts; i++) {
      await api(`${service.url}/api/v1/users`, 'POST', admin, { username: `bench${i}`, password: 'bench-password', roles: ['analyst'] });
      tokens.push((await api<{ token: string }>(`${service.url}/api/v1/auth/login`, 'POST', undefined, { username: `bench${i}`, password: 'bench-password' })).body.token);
    }

    log(`putting ${options.cases} cases into the pool`);
    const scans = new ScanRepository(db);
    const manifest = {
      format: 'niix-exchange',
      version: '1.0',
      scanner: { vendor: 'Bench' },
      acquiredAt: null,
      conveyance: { containers: [], licencePlates: [], declarations: [], fields: {} },
      views: [{ id: 'side', width: 8000, height: 2500, pixelSpacingMm: null, airValue: 60000, planes: [] }],
      provenance: { originals: [], adapter: { id: 'bench', version: '1' }, convertedAt: new Date().toISOString(), warnings: [] },
    };
    const seed = async (count: number) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        const now = new Date();
        const risk = (i * 37) % 100;
        const deadline = new Date(now.getTime() + (120 + ((i * 53) % 900)) * 1000);
        await scans.insertWithFiles(
          { id, stationId: station.id, status: 'queued', contentSha256: id, metadata: { reference: `b-${i}` }, adapterId: 'bench', riskScore: risk, pool: 'central', receivedAt: now, queuedAt: now, slaDeadline: deadline, manifest: { ...manifest, scanId: id, stationId: station.id } },
          [],
        );
        await pool.add('central', { scanId: id, stage: 'first', exclude: [] }, reviewPriority(risk, deadline));
        ids.push(id);
      }
      return ids;
    };
    await seed(options.cases);

    log(`${options.analysts} analysts claiming in a loop (${options.claims} claims)`);
    const latencies: number[] = [];
    let remaining = options.claims;
    const loopStarted = performance.now();
    await Promise.all(
      tokens.map(async (token) => {
        // analysts come to the pool independently, not all in the same millisecond
        await new Promise((resolve) => setTimeout(resolve, Math.random() * options.thinkMs));
        while (remaining-- > 0) {
          const started = performance.now();
          const claimed = await api<{ claimId: string; scan: { id: string } }>(`${service.url}/api/v1/worklist/claim`, 'POST', token);
          latencies.push(performance.now() - started);
          if (claimed.status !== 200) throw new Error(`claim answered ${claimed.status}`);
          await new Promise((resolve) => setTimeout(resolve, options.thinkMs * (0.5 + Math.random())));
          const verdict = await api(`${service.url}/api/v1/scans/${claimed.body.scan.id}/verdict`, 'POST', token, { claimId: claimed.body.claimId, decision: 'clear' });
          if (verdict.status !== 201) throw new Error(`verdict answered ${verdict.status}`);
        }
      }),
    );

    const claimsPerSecond = (latencies.length / (performance.now() - loopStarted)) * 1000;
    log('verdict → webhook and verdict → stream, one verdict at a time');
    // let the webhooks of the load phase drain before measuring single deliveries
    const stream = await openStream(`${service.url}/api/v1/station/results/stream`, station.apiKey);
    const webhook: number[] = [];
    const streamed: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const claimed = await api<{ claimId: string; scan: { id: string } }>(`${service.url}/api/v1/worklist/claim`, 'POST', tokens[0]);
      const scanId = claimed.body.scan.id;
      const event = stream.next(scanId);
      const started = performance.now();
      const verdict = await api(`${service.url}/api/v1/scans/${scanId}/verdict`, 'POST', tokens[0], { claimId: claimed.body.claimId, decision: 'inspect', regions: [] });
      if (verdict.status !== 201) throw new Error(`verdict answered ${verdict.status}`);
      const { resultId, at } = await event;
      streamed.push(at - started);
      if (!received.has(resultId)) await new Promise<void>((resolve) => waiters.set(resultId, resolve));
      webhook.push(received.get(resultId)! - started);
    }
    stream.close();
    return {
      cases: options.cases,
      analysts: options.analysts,
      claims: latencies.length,
      thinkMs: options.thinkMs,
      claimsPerSecond,
      claimP50: percentile(latencies, 50),
      claimP95: percentile(latencies, 95),
      webhookP50: percentile(webhook, 50),
      webhookP95: percentile(webhook, 95),
      streamP50: percentile(streamed, 50),
      streamP95: percentile(streamed, 95),
      samples: options.samples,
      peakRssMb: service.peakRss() / 1024 ** 2,
    };
  } finally {
    await pool.onModuleDestroy();
    await db.close();
    await service.stop();
    receiver.close();
    await database.drop();
    await deleteRedisKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `${prefix}:*`);
  }
}

/** A minimal server-sent-events reader: resolves when the result of a given scan arrives. */
async function openStream(url: string, apiKey: string) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream' }, signal: controller.signal });
  const waiting = new Map<string, (event: { resultId: string; at: number }) => void>();
  const early = new Map<string, { resultId: string; at: number }>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (!data) continue;
          const at = performance.now();
          const result = JSON.parse(data.slice(6)) as { resultId: string; scanId: string };
          const event = { resultId: result.resultId, at };
          const resolve = waiting.get(result.scanId);
          if (resolve) resolve(event);
          else early.set(result.scanId, event);
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  return {
    next: (scanId: string) =>
      new Promise<{ resultId: string; at: number }>((resolve) => {
        const already = early.get(scanId);
        if (already) resolve(already);
        else waiting.set(scanId, resolve);
      }),
    close: () => controller.abort(),
  };
}
