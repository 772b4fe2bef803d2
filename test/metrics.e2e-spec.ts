import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { freePort } from '../src/common/free-port.js';
import { ResultsService } from '../src/results/results.service.js';
import { WorklistService } from '../src/review/worklist.service.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';
import { until } from './until.js';

const TOKEN = 'metrics-token-for-the-e2e-test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, sample by sample. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]] = label[2].replace(/\\(.)/g, '$1');
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  return matching.length ? matching.reduce((sum, sample) => sum + sample.value, 0) : undefined;
}

/**
 * What operators watch, over the whole service (PostgreSQL, real Redis): /metrics after an upload → convert →
 * claim → verdict → webhook flow, its token, the JSON 404 of unknown paths, and the request id that goes back in
 * X-Request-Id and follows the scan into its jobs' log lines.
 */
describe('metrics, request ids and unknown paths end to end', () => {
  let service: TestService;
  let receiver: http.Server;
  const received: string[] = [];
  let station: { id: string; apiKey: string };
  let analystToken: string;
  let scanId: string;
  let seed = 300;

  async function scrape(): Promise<Sample[]> {
    const response = await service.request<string>('GET', '/metrics', { token: TOKEN });
    expect(response.status).toBe(200);
    return parseMetrics(response.body);
  }

  async function upload(apiKey: string, headers: Record<string, string> = {}, files?: { name: string; data: Buffer }[]) {
    const scanFiles = files ?? (await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 320, height: 100 })));
    return service.request<{ id: string }>('POST', '/api/v1/scans', { token: apiKey, body: scanForm(scanFiles, { reference: `ref-${seed}` }), headers });
  }

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(String(request.headers['x-niix-delivery']));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/niix`;
    service = await startTestService({
      database: 'postgres',
      logs: true,
      env: { NIIX_METRICS_TOKEN: TOKEN, NIIX_LOG_LEVEL: 'log', NIIX_DELIVERY_BACKOFF_MS: '20', NIIX_DELIVERY_ATTEMPTS: '2' },
    });
    station = (await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Valga rail 1', country: 'EE', callbackUrl } })).body;
    await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'maris', password: 'analyst-password-1', roles: ['analyst'] } });
    analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'maris', password: 'analyst-password-1' } })).body.token;
  });

  afterAll(async () => {
    await service?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('refuses /metrics without the token or with a wrong one (401 JSON), and answers the text format with it', async () => {
    for (const token of [undefined, 'wrong-token-of-the-same-kind']) {
      const refused = await service.request<{ error: { code: string } }>('GET', '/metrics', { token });
      expect([refused.status, refused.body.error.code]).toEqual([401, 'unauthenticated']);
    }
    const response = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(await response.text());
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(valueOf(samples, 'niix_station_info', { station: station.id, name: 'Valga rail 1', country: 'EE', pool: 'central' })).toBe(1);
    for (const queue of ['convert', 'render', 'deliver']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(valueOf(samples, 'niix_queue_jobs', { queue, state })).toBe(0);
    }
  });

  it('counts an upload, its conversion and the scan waiting in its pool', async () => {
    const accepted = await upload(station.apiKey, { 'x-request-id': 'upload-req-0001' });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('x-request-id')).toBe('upload-req-0001');
    scanId = accepted.body.id;
    expect((await service.waitForScan(scanId, station.apiKey)).status).toBe('queued');

    const samples = await scrape();
    const labels = { station: station.id, adapter: 'raw:aurora-ax6' };
    expect(valueOf(samples, 'niix_scans_received_total', labels)).toBe(1);
    expect(valueOf(samples, 'niix_scans_converted_total', labels)).toBe(1);
    expect(valueOf(samples, 'niix_scans_failed_total')).toBeUndefined();
    expect(valueOf(samples, 'niix_conversion_duration_seconds_count', { adapter: 'raw:aurora-ax6' })).toBe(1);
    expect(valueOf(samples, 'niix_conversion_duration_seconds_sum', { adapter: 'raw:aurora-ax6' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'niix_pool_depth', { pool: 'central' })).toBe(1);
    expect(valueOf(samples, 'niix_pool_held', { pool: 'central' })).toBe(0);
    expect(valueOf(samples, 'niix_pool_oldest_wait_seconds', { pool: 'central' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'niix_pool_sla_breaches', { pool: 'central' })).toBe(0);
    // the route pattern, never the raw URL
    expect(valueOf(samples, 'niix_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/scans', status_code: '202' })).toBe(1);
    expect(valueOf(samples, 'niix_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/scans/:id', status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(samples.some((sample) => sample.labels.route?.includes(scanId))).toBe(false);
  });

  it('times the claim and the decision, and counts the webhook of the verdict', async () => {
    const claim = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: analystToken });
    expect(claim.body.scan.id).toBe(scanId);
    expect(valueOf(await scrape(), 'niix_pool_held', { pool: 'central' })).toBe(1);
    const verdict = await service.request('POST', `/api/v1/scans/${scanId}/verdict`, {
      token: analystToken,
      json: { claimId: claim.body.claimId, decision: 'clear', regions: [], comment: 'fine' },
      headers: { 'x-request-id': 'verdict-req-0001' },
    });
    expect(verdict.status).toBe(201);
    expect(verdict.headers.get('x-request-id')).toBe('verdict-req-0001');

    const samples = await until(async () => {
      const scraped = await scrape();
      return valueOf(scraped, 'niix_deliveries_attempted_total', { station: station.id }) === 1 ? scraped : undefined;
    }, 'the webhook of the verdict counted');
    expect(received).toHaveLength(1);
    expect(valueOf(samples, 'niix_deliveries_failed_total')).toBeUndefined();
    expect(valueOf(samples, 'niix_deliveries_undelivered_total')).toBeUndefined();
    expect(valueOf(samples, 'niix_verdicts_total', { pool: 'central', stage: 'first', decision: 'clear' })).toBe(1);
    expect(valueOf(samples, 'niix_claim_duration_seconds_count', { pool: 'central', stage: 'first' })).toBe(1);
    expect(valueOf(samples, 'niix_decision_duration_seconds_count', { pool: 'central' })).toBe(1);
    expect(valueOf(samples, 'niix_decision_duration_seconds_sum', { pool: 'central' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'niix_pool_depth', { pool: 'central' })).toBe(0);
    expect(valueOf(samples, 'niix_pool_held', { pool: 'central' })).toBe(0);
    expect(valueOf(samples, 'niix_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/scans/:id/verdict', status_code: '201' })).toBe(1);
  });

  it('carries the request id into the jobs: the conversion logs with the upload, the webhook with the verdict', () => {
    const lines = service.logLines().map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.context === 'JobRunner' && String(line.msg).startsWith(`job convert-scan-${scanId} done in `))).toEqual([
      expect.objectContaining({ level: 'info', requestId: 'upload-req-0001', scanId, job: `convert-scan-${scanId}` }),
    ]);
    const delivered = lines.filter((line) => line.context === 'JobRunner' && String(line.msg).startsWith('job deliver-result-'));
    expect(delivered).toEqual([expect.objectContaining({ requestId: 'verdict-req-0001', scanId, msg: expect.stringMatching(/^job deliver-result-\d+ done in \d+ ms$/) })]);
    expect(lines.every((line) => typeof line.time === 'string' && typeof line.level === 'string' && typeof line.msg === 'string')).toBe(true);
  });

  it('counts a scan that fails to convert by its failure code, and SLA breaches per pool', async () => {
    const corrupt = readFileSync(path.resolve('libs/scanner-adapters/src/dicos/fixtures/JPEG2000-embedded-sequence-delimiter.dcm'));
    const accepted = await upload(station.apiKey, {}, [{ name: 'corrupt.dcm', data: corrupt }]);
    expect(accepted.status).toBe(202);
    expect((await service.waitForScan(accepted.body.id, station.apiKey)).status).toBe('failed');

    // a case past its deadline, put into a pool of its own the way the pipeline does
    const scans = service.app.get(ScanRepository);
    const id = randomUUID();
    const past = new Date(Date.now() - 3600_000);
    await scans.insertWithFiles(
      { id, stationId: station.id, status: 'received', contentSha256: id, metadata: {}, adapterId: 'raw:aurora-ax6', riskScore: 0, pool: 'late', receivedAt: past, slaDeadline: new Date(past.getTime() + 600_000) },
      [],
    );
    await scans.transition(id, ['received'], { status: 'queued', queuedAt: past });
    await service.app.get(WorklistService).enqueue((await scans.findById(id))!);

    const samples = await scrape();
    const failed = samples.filter((sample) => sample.name === 'niix_scans_failed_total');
    expect(failed).toEqual([{ name: 'niix_scans_failed_total', labels: { station: station.id, adapter: expect.any(String), code: 'malformed_input' }, value: 1 }]);
    expect(valueOf(samples, 'niix_scans_received_total', { station: station.id })).toBe(2);
    expect(valueOf(samples, 'niix_pool_sla_breaches', { pool: 'late' })).toBe(1);
    expect(valueOf(samples, 'niix_pool_depth', { pool: 'late' })).toBe(1);
    expect(valueOf(samples, 'niix_pool_oldest_wait_seconds', { pool: 'late' })).toBeGreaterThanOrEqual(3600);
    expect(valueOf(samples, 'niix_pool_sla_breaches', { pool: 'central' })).toBe(0);

    // the same figures as the supervisor's overview
    type Stats = { pools: { pool: string; waiting: number; held: number; slaBreaches: number }[]; holders: unknown[]; recent: { scanId: string }[] };
    const stats = await service.request<Stats>('GET', '/api/v1/worklist/stats', { token: service.adminToken });
    expect(stats.status).toBe(200);
    for (const pool of stats.body.pools) {
      expect([pool.pool, valueOf(samples, 'niix_pool_depth', { pool: pool.pool }), valueOf(samples, 'niix_pool_held', { pool: pool.pool }), valueOf(samples, 'niix_pool_sla_breaches', { pool: pool.pool })]).toEqual([
        pool.pool,
        pool.waiting,
        pool.held,
        pool.slaBreaches,
      ]);
    }
    expect(stats.body.pools.map((pool) => pool.pool)).toEqual(expect.arrayContaining(['central', 'late']));
    expect(stats.body.recent.map((row) => row.scanId)).toContain(scanId);
  });

  it('counts failed webhook attempts and the result that gave up', async () => {
    const unreachable = (
      await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', {
        token: service.adminToken,
        json: { name: 'Luhamaa 2', country: 'EE', callbackUrl: `http://127.0.0.1:${await freePort()}/gone` },
      })
    ).body;
    const accepted = await upload(unreachable.apiKey);
    const scan = await service.waitForScan(accepted.body.id, unreachable.apiKey);
    expect(scan.status).toBe('queued');
    const row = (await service.app.get(ScanRepository).findById(scan.id))!;
    await service.app.get(ResultsService).record(row, 'verdict', { decision: 'inspect', regions: [], note: null, decidedAt: new Date().toISOString() });
    const samples = await until(async () => {
      const scraped = await scrape();
      return valueOf(scraped, 'niix_deliveries_undelivered_total', { station: unreachable.id }) === 1 ? scraped : undefined;
    }, 'the undelivered result counted');
    expect(valueOf(samples, 'niix_deliveries_attempted_total', { station: unreachable.id })).toBe(2);
    expect(valueOf(samples, 'niix_deliveries_failed_total', { station: unreachable.id })).toBe(2);
    expect(valueOf(samples, 'niix_deliveries_failed_total', { station: station.id })).toBeUndefined();
  });

  it('answers X-Request-Id on every answer: the caller\'s when it looks like an id, a new one otherwise', async () => {
    expect((await service.request('GET', '/health/live', { headers: { 'x-request-id': 'lb-7f3a:42' } })).headers.get('x-request-id')).toBe('lb-7f3a:42');
    for (const given of [undefined, 'has spaces in it', 'x'.repeat(129), 'quote"s']) {
      const response = await service.request('GET', '/health/live', { headers: given === undefined ? {} : { 'x-request-id': given } });
      expect(response.headers.get('x-request-id')).toMatch(UUID);
    }
    const unknown = await service.request('GET', '/api/v1/nothing-here', { headers: { 'x-request-id': 'lost-1' } });
    expect([unknown.status, unknown.headers.get('x-request-id')]).toEqual([404, 'lost-1']);
  });

  it('answers the JSON 404 for unknown paths under /api, /health and /metrics, and for paths the web app does not have, whatever the method', async () => {
    const paths = ['/api/v1/nothing', '/api', '/health/nothing', '/metrics/x', '/metricsx', '/foo.php', '/analyst/anything', '/.git/config'];
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const route of paths) {
        const response = await service.request<{ error: { code: string; message: string } }>(method, route);
        expect([method, route, response.status, response.headers.get('content-type')]).toEqual([method, route, 404, expect.stringMatching(/^application\/json/)]);
        expect(response.body.error).toEqual({ code: 'route_not_found', message: expect.any(String) });
      }
    }
    // other methods on /metrics itself are unknown routes too
    expect((await service.request('POST', '/metrics', { token: TOKEN })).status).toBe(404);
    const samples = await scrape();
    expect(valueOf(samples, 'niix_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(paths.length * 5);
    expect(samples.some((sample) => sample.labels.route?.includes('foo.php'))).toBe(false);
  });
});

describe('metrics without NIIX_METRICS_TOKEN', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database: 'postgres' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('is off: /metrics answers like any unknown path, with or without a token', async () => {
    for (const token of [undefined, TOKEN]) {
      const response = await service.request<{ error: { code: string } }>('GET', '/metrics', { token });
      expect([response.status, response.body]).toEqual([404, { error: { code: 'route_not_found', message: 'Cannot GET /metrics' } }]);
    }
  });
});
