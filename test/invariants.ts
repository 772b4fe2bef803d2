/**
 * expectInvariants: what must hold in a niix installation after any fault, checked from outside the service in its
 * database, object storage and Redis. Every fault test ends with it.
 *
 *   await expectInvariants(service);                                   // an in-process TestService (startTestService)
 *   await expectInvariants({ config: loadConfig(api.env) });            // real processes (test/processes.ts): the
 *                                                                      // environment one of them was started with
 *
 * The installation is `{ config, app? }`: `config` says where the database (DATABASE_URL), the objects (folder or
 * S3 bucket) and the queues (Redis URL and key prefix) are; `app`, when given, lends its database connection (the
 * only way into a PGlite database, which its process holds). Without `app` the database must be PostgreSQL.
 *
 * Rules (live scans are the stations' scans; training-only scans are not checked, except that their objects have rows):
 *  1. State. Every live scan is final or progressing: `queued` (waiting for an analyst; has queued_at and a manifest),
 *     `decided` (has decided_at and a verdict), `failed` (has a failure code), or `received`/`converting` with a
 *     convert-scan or render-scan job waiting, active, delayed or prioritised in Redis.
 *  2. Objects. Every object under `scans/<id>/` belongs to a scan row (a refused upload leaves nothing); every
 *     original recorded in scan_files exists; a queued or decided scan has exactly its package in storage: the
 *     manifest and the planes it lists, nothing more (temporary `.partial` files of the filesystem driver aside).
 *  3. No duplicates. One scan per station and Idempotency-Key, and per station and content; at most one verdict per
 *     scan and stage (so at most one final verdict); one result per scan, of the kind of its state (a verdict for
 *     `decided`, a failure for `failed`) and none for other states; at most one `result.delivered` in the audit
 *     trail per result (a webhook answered twice would be recorded twice).
 *  4. Results reach the station. Every decided or failed scan has its result, and the result is delivered (webhook
 *     answered 2xx), acknowledged by the station (pulled), listed undelivered for the administrators, or its
 *     station takes no webhooks (pulls only).
 * What can be on its way when the check starts (an upload streaming its files before its row exists, a conversion
 * between its job and its status, a webhook being sent) gets `settleMs` (default 30 s) to get there: the check
 * is repeated until everything holds or the time is up, then fails listing every violation.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import pg from 'pg';
import { parseManifest } from '../libs/exchange-format/src/package.js';
import type { AppConfig } from '../src/config/config.js';
import { DATABASE } from '../src/database/database.module.js';
import type { Database } from '../src/database/database.js';
import { JOB_QUEUE, JobName, jobId } from '../src/queue/jobs.js';
import { S3Storage } from '../src/storage/s3.storage.js';

export interface Installation {
  config: AppConfig;
  /** The running app (in-process tests): its database connection is used. Required for PGlite. */
  app?: INestApplicationContext;
}

export interface InvariantOptions {
  /** How long work on its way gets to settle before its state counts as a violation. */
  settleMs?: number;
}

type Query = <T>(text: string, params?: unknown[]) => Promise<T[]>;

const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
const DEFAULT_REDIS_URL = process.env.NIIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Fails (a jest expectation, listing every violation) unless the installation holds the rules above within `settleMs`. */
export async function expectInvariants(installation: Installation, options: InvariantOptions = {}): Promise<void> {
  const violations = await findViolations(installation, options.settleMs ?? 30_000);
  expect(violations).toEqual([]);
}

/** The violations left after `settleMs` (none: the installation is sound). */
export async function findViolations(installation: Installation, settleMs: number): Promise<string[]> {
  const database = await connect(installation);
  const queues = new Map<JobName, Queue>();
  const queueOf = (name: JobName) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(JOB_QUEUE[name], { connection: { url: installation.config.redis.url ?? DEFAULT_REDIS_URL }, prefix: installation.config.redis.prefix });
      queue.on('error', () => undefined);
      queues.set(name, queue);
    }
    return queue;
  };
  const liveJob = async (name: JobName, id: string) => {
    const job = await queueOf(name).getJob(jobId(name, name === JobName.DeliverResult ? { resultId: id } : { scanId: id }));
    return job !== undefined && LIVE_JOB_STATES.has(await job.getState());
  };
  try {
    const deadline = Date.now() + settleMs;
    for (;;) {
      const violations = await check(installation.config, database.query, liveJob);
      if (violations.length === 0 || Date.now() > deadline) return violations;
      await new Promise((resolve) => setTimeout(resolve, 100)); // work on its way: look again (a condition, polled)
    }
  } finally {
    await Promise.all([...queues.values()].map((queue) => queue.close()));
    await database.close();
  }
}

async function connect(installation: Installation): Promise<{ query: Query; close: () => Promise<void> }> {
  if (installation.app) {
    // PGlite and pg.Pool both answer query(text, params) with { rows }
    const client = (installation.app.get<Database>(DATABASE).db as unknown as { $client: { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> } }).$client;
    return { query: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[], close: async () => undefined };
  }
  const settings = installation.config.database;
  if (settings.kind !== 'postgres') throw new Error('expectInvariants: a PGlite database is only readable through its app: pass { config, app }');
  const client = new pg.Client({ connectionString: settings.url });
  await client.connect();
  return { query: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[], close: () => client.end() };
}

interface ScanRow {
  id: string;
  station_id: string;
  status: string;
  purpose: string;
  manifest: unknown;
  failure_code: string | null;
  queued_at: Date | null;
  decided_at: Date | null;
}
interface ResultRow {
  id: string;
  scan_id: string;
  kind: string;
  delivered: boolean;
  acked: boolean;
  undelivered: boolean;
  pulls_only: boolean;
}

async function check(config: AppConfig, query: Query, liveJob: (name: JobName, id: string) => Promise<boolean>): Promise<string[]> {
  const violations: string[] = [];
  const scans = await query<ScanRow>('select id, station_id, status, purpose, manifest, failure_code, queued_at, decided_at from scans order by received_at');
  const byId = new Map(scans.map((scan) => [scan.id, scan]));
  const live = scans.filter((scan) => scan.purpose === 'live');

  // 3. duplicates
  for (const row of await query<{ station_id: string; idempotency_key: string; n: number }>(
    'select station_id, idempotency_key, count(*)::int as n from scans where idempotency_key is not null group by 1, 2 having count(*) > 1',
  )) {
    violations.push(`${row.n} scans of station ${row.station_id} with Idempotency-Key ${row.idempotency_key}`);
  }
  for (const row of await query<{ station_id: string; content_sha256: string; n: number }>('select station_id, content_sha256, count(*)::int as n from scans group by 1, 2 having count(*) > 1')) {
    violations.push(`${row.n} scans of station ${row.station_id} with the same content ${row.content_sha256}`);
  }
  for (const row of await query<{ scan_id: string; stage: string; n: number }>('select scan_id, stage, count(*)::int as n from verdicts group by 1, 2 having count(*) > 1')) {
    violations.push(`scan ${row.scan_id} has ${row.n} ${row.stage} verdicts`);
  }
  const verdictCounts = new Map(
    (await query<{ scan_id: string; n: number }>('select scan_id, count(*)::int as n from verdicts group by 1')).map((row) => [row.scan_id, row.n]),
  );
  const results = await query<ResultRow>(
    `select r.id::text as id, r.scan_id, r.kind, r.delivered_at is not null as delivered, r.acked_at is not null as acked,
            r.undelivered_at is not null as undelivered, s.callback_url is null as pulls_only
       from results r join stations s on s.id = r.station_id order by r.id`,
  );
  const resultsOf = new Map<string, ResultRow[]>();
  for (const result of results) resultsOf.set(result.scan_id, [...(resultsOf.get(result.scan_id) ?? []), result]);
  for (const row of await query<{ result_id: string; n: number }>(
    "select detail->>'resultId' as result_id, count(*)::int as n from audit_events where action = 'result.delivered' group by 1 having count(*) > 1",
  )) {
    violations.push(`result ${row.result_id} was delivered ${row.n} times`);
  }

  // 1. state, 3. results of the right kind, 4. results reach the station
  for (const scan of live) {
    const scanResults = resultsOf.get(scan.id) ?? [];
    if (scanResults.length > 1) violations.push(`scan ${scan.id} has ${scanResults.length} results`);
    switch (scan.status) {
      case 'queued':
        if (!scan.queued_at || !scan.manifest) violations.push(`queued scan ${scan.id} has no ${scan.queued_at ? 'manifest' : 'queued_at'}`);
        break;
      case 'decided':
        if (!scan.decided_at || !verdictCounts.get(scan.id)) violations.push(`decided scan ${scan.id} has no ${scan.decided_at ? 'verdict' : 'decided_at'}`);
        break;
      case 'failed':
        if (!scan.failure_code) violations.push(`failed scan ${scan.id} has no failure code`);
        break;
      case 'received':
      case 'converting':
        if (!(await liveJob(JobName.ConvertScan, scan.id)) && !(await liveJob(JobName.RenderScan, scan.id))) {
          violations.push(`scan ${scan.id} is ${scan.status} without a conversion job in Redis`);
        }
        break;
      default:
        violations.push(`live scan ${scan.id} has the status ${scan.status}`);
    }
    const expectedKind = scan.status === 'decided' ? 'verdict' : scan.status === 'failed' ? 'failure' : undefined;
    if (!expectedKind) {
      if (scanResults.length) violations.push(`${scan.status} scan ${scan.id} has a result (${scanResults[0].kind})`);
      continue;
    }
    const result = scanResults[0];
    if (!result) {
      violations.push(`${scan.status} scan ${scan.id} has no result for its station`);
    } else if (result.kind !== expectedKind) {
      violations.push(`${scan.status} scan ${scan.id} has a ${result.kind} result`);
    } else if (!(result.delivered || result.acked || result.undelivered || result.pulls_only)) {
      const retrying = await liveJob(JobName.DeliverResult, result.id);
      violations.push(`result ${result.id} of scan ${scan.id} is neither delivered, acknowledged nor listed undelivered${retrying ? ' (its webhook is being retried)' : ' and has no webhook job'}`);
    }
  }
  for (const result of results) {
    const scan = byId.get(result.scan_id);
    if (scan && scan.purpose !== 'live') violations.push(`training scan ${scan.id} has a result for a station`);
  }

  // 2. objects
  const objects = await listScanObjects(config);
  const stored = new Set(objects);
  for (const key of objects) {
    const id = key.split('/')[1];
    if (!byId.has(id)) violations.push(`object ${key} belongs to no scan`);
  }
  for (const file of await query<{ scan_id: string; object_key: string }>('select scan_id, object_key from scan_files')) {
    if (!stored.has(file.object_key)) violations.push(`original ${file.object_key} of scan ${file.scan_id} is missing`);
  }
  for (const scan of live.filter((row) => (row.status === 'queued' || row.status === 'decided') && row.manifest)) {
    const prefix = `scans/${scan.id}/package/`;
    let expected: string[];
    try {
      expected = ['manifest.json', ...parseManifest(scan.manifest).views.flatMap((view) => view.planes.map((plane) => plane.path))].sort();
    } catch (error) {
      violations.push(`scan ${scan.id} has a manifest that does not parse: ${(error as Error).message}`);
      continue;
    }
    const found = objects.filter((key) => key.startsWith(prefix) && !key.endsWith('.partial')).map((key) => key.slice(prefix.length)).sort();
    const missing = expected.filter((part) => !found.includes(part));
    const extra = found.filter((part) => !expected.includes(part));
    if (missing.length) violations.push(`${scan.status} scan ${scan.id} lacks package parts ${missing.join(', ')}`);
    if (extra.length) violations.push(`${scan.status} scan ${scan.id} has package parts its manifest does not list: ${extra.join(', ')}`);
  }
  return violations;
}

/** Keys of every object under `scans/` (filesystem: the temporary `.partial` files too). */
async function listScanObjects(config: AppConfig): Promise<string[]> {
  const storage = config.storage;
  if (storage.kind === 'filesystem') {
    let entries: string[];
    try {
      entries = (await readdir(path.join(storage.dir, 'scans'), { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(storage.dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries.sort();
  }
  const s3 = new S3Storage(storage);
  const keys: string[] = [];
  for await (const item of s3.client.listObjectsV2(storage.bucket, 'scans/', true) as AsyncIterable<{ name?: string }>) {
    if (item.name) keys.push(item.name);
  }
  return keys.sort();
}
