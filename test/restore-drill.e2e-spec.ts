import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { Client } from 'minio';
import { readBundle } from '../libs/exchange-format/src/bundle.js';
import { readPackage } from '../libs/exchange-format/src/package.js';
import { readThreatDetectionReport } from '../libs/scanner-adapters/src/dicos/tdr.writer.js';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { DATABASE } from '../src/database/database.module.js';
import type { Database } from '../src/database/database.js';
import { InstallationRepository } from '../src/database/installation.repository.js';
import { createTestPostgres } from './postgres.js';
import { startS3rver, type TestS3 } from './s3.js';
import { TEST_REDIS_URL, type ScanBody, type TestService, scanForm, startTestService } from './service.harness.js';

const run = promisify(execFile);

/**
 * The restore drill of docs/operations.md ("Backup and restore"), for both deployments: a service with stations,
 * converted scans, verdicts, results, an outcome and audit records is backed up the way the document says, then
 * everything is wiped (database, objects, the Redis prefix) and restored into a fresh database and bucket or data
 * folder. The restored service serves the same answers over HTTP, the same rows, images whose checksums verify,
 * and rebuilds its queues from the database: the case still waiting is claimed and decided after the restore.
 */
describe.each(['production', 'embedded'] as const)('backup and restore drill: %s', (deployment) => {
  let work: string;
  const prefix = `niixdrill${process.pid}${deployment}`;
  const cleanups: (() => Promise<void>)[] = [];
  let service: TestService | undefined;

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'niix-drill-'));
  });
  afterAll(async () => {
    await service?.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await redisCli(`--scan --pattern '${prefix}:*' | xargs -r redis-cli -u ${TEST_REDIS_URL} unlink`);
    rmSync(work, { recursive: true, force: true });
  });

  it('serves the same scans, verdicts, results, outcome, audit records and images after a restore into empty stores', async () => {
    const backup = path.join(work, 'backup');
    mkdirSync(backup);
    const env: Record<string, string> = { NIIX_REDIS_PREFIX: prefix, NIIX_DATA_DIR: path.join(work, 'data-1') };
    let s3: TestS3 | undefined;
    let dropDatabase: (() => Promise<void>) | undefined;
    if (deployment === 'production') {
      const database = await createTestPostgres();
      dropDatabase = database.drop;
      cleanups.push(database.drop);
      s3 = await startS3rver(path.join(work, 's3-1'));
      cleanups.push(() => s3!.close());
      Object.assign(env, { DATABASE_URL: database.url, ...s3Env(s3) });
    }

    service = await startTestService({ env });
    const activity = await populate(service);
    const before = await observe(service, activity);
    const rowsBefore = await tableRows(service);
    const installationId = await service.app.get(InstallationRepository).id();

    // back up as docs/operations.md says, then lose everything
    if (deployment === 'production') {
      // online: database first, then the objects
      await run('pg_dump', ['--format=custom', `--file=${path.join(backup, 'niix.dump')}`, env.DATABASE_URL]);
      await mirrorBucketToFolder(s3!, path.join(backup, 'objects'));
      await service.close();
      service = undefined;
      await dropDatabase!();
      await s3!.close();
      rmSync(path.join(work, 's3-1'), { recursive: true, force: true });
    } else {
      // stopped: PGlite keeps its files open while it runs
      await service.close();
      service = undefined;
      await run('tar', ['-C', env.NIIX_DATA_DIR, '-czf', path.join(backup, 'niix-data.tgz'), 'db', 'objects']);
      rmSync(env.NIIX_DATA_DIR, { recursive: true, force: true });
    }
    await redisCli(`--scan --pattern '${prefix}:*' | xargs -r redis-cli -u ${TEST_REDIS_URL} unlink`);
    expect(await redisCli(`--scan --pattern '${prefix}:*'`)).toBe('');

    // restore into fresh stores
    env.NIIX_DATA_DIR = path.join(work, 'data-2');
    if (deployment === 'production') {
      const database = await createTestPostgres();
      cleanups.push(database.drop);
      await run('pg_restore', ['--no-owner', `--dbname=${database.url}`, path.join(backup, 'niix.dump')]);
      const fresh = await startS3rver(path.join(work, 's3-2'));
      cleanups.push(() => fresh.close());
      await mirrorFolderToBucket(path.join(backup, 'objects'), fresh);
      Object.assign(env, { DATABASE_URL: database.url, ...s3Env(fresh) });
    } else {
      mkdirSync(env.NIIX_DATA_DIR, { recursive: true });
      await run('tar', ['-C', env.NIIX_DATA_DIR, '-xzf', path.join(backup, 'niix-data.tgz')]);
    }
    service = await startTestService({ env });

    // the same installation, recorded again under its prefix
    expect(await service.app.get(InstallationRepository).id()).toBe(installationId);
    expect(await redisCli(`get ${prefix}:installation`)).toBe(installationId);
    // the same rows (rows are read before any request records another view); the harness signed in once more
    const rowsAfter = await tableRows(service);
    expect(rowsAfter.sessions).toEqual(expect.arrayContaining(rowsBefore.sessions));
    expect(rowsAfter.sessions).toHaveLength(rowsBefore.sessions.length + 1);
    expect({ ...rowsAfter, sessions: [] }).toEqual({ ...rowsBefore, sessions: [] });
    expect(Object.fromEntries(['scans', 'scan_files', 'verdicts', 'results', 'outcomes'].map((table) => [table, rowsAfter[table].length]))).toEqual({
      scans: 3,
      scan_files: 3,
      verdicts: 2,
      results: 2,
      outcomes: 1,
    });
    expect(rowsAfter.audit_events.length).toBeGreaterThan(10);
    // the same answers over HTTP, with the tokens of before the backup, and images whose checksums verify
    expect(await observe(service, activity)).toEqual(before);

    // the queues came back from the database: the case that waited is claimed and decided, and its station gets the result
    const claim = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: activity.analystToken });
    expect(claim.status).toBe(200);
    expect(claim.body.scan.id).toBe(activity.waiting);
    const verdict = await service.request('POST', `/api/v1/scans/${activity.waiting}/verdict`, { token: activity.analystToken, json: { claimId: claim.body.claimId, decision: 'clear' } });
    expect(verdict.status).toBe(201);
    const results = await service.request<{ results: { scanId: string }[] }>('GET', '/api/v1/station/results', { token: activity.stations[1].apiKey });
    expect(results.body.results.map((result) => result.scanId)).toContain(activity.waiting);
  });
});

interface Activity {
  stations: { id: string; apiKey: string }[];
  analystToken: string;
  scans: ScanBody[];
  /** the scan left in the pool */
  waiting: string;
}

/** Two stations send three scans; an analyst decides two (one `inspect` with a region), the third waits; results, an outcome, image views. */
async function populate(service: TestService): Promise<Activity> {
  const admin = service.adminToken;
  const stations: Activity['stations'] = [];
  for (const [name, country] of [['Narva drill lane', 'EE'], ['Terehova drill lane', 'LV']]) {
    const created = await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: admin, json: { name, country } });
    expect(created.status).toBe(201);
    stations.push(created.body);
  }
  expect((await service.request('POST', '/api/v1/users', { token: admin, json: { username: 'drill-analyst', password: 'password-of-tests', roles: ['analyst'] } })).status).toBe(201);
  const analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'drill-analyst', password: 'password-of-tests' } })).body.token;

  const scans: ScanBody[] = [];
  for (const [seed, station] of [[11, stations[0]], [12, stations[0]], [13, stations[1]]] as const) {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed, kind: 'truck', width: 240, height: 80 }));
    const upload = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files, { reference: `drill-${seed}` }) });
    expect(upload.status).toBe(202);
    // one at a time, so the pool gives them back in upload order
    const scan = await service.waitForScan(upload.body.id, station.apiKey);
    expect(scan.status).toBe('queued');
    scans.push(scan);
  }

  for (const [index, decision] of [[0, 'clear'], [1, 'inspect']] as const) {
    const claim = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: analystToken });
    expect(claim.body.scan.id).toBe(scans[index].id);
    const view = scans[index].manifest!.views[0].id;
    const regions = decision === 'inspect' ? [{ view, x: 10, y: 5, width: 40, height: 20, category: 'narcotics', note: 'dense block' }] : [];
    const verdict = await service.request('POST', `/api/v1/scans/${scans[index].id}/verdict`, { token: analystToken, json: { claimId: claim.body.claimId, decision, regions, comment: `drill ${decision}` } });
    expect(verdict.status).toBe(201);
  }
  const results = await service.request<{ results: { scanId: string }[] }>('GET', '/api/v1/station/results', { token: stations[0].apiKey });
  expect(results.body.results.map((result) => result.scanId).sort()).toEqual([scans[0].id, scans[1].id].sort());
  const outcome = await service.request('POST', `/api/v1/scans/${scans[1].id}/outcome`, { token: stations[0].apiKey, json: { found: true, categories: ['narcotics'], note: 'found as marked' } });
  expect(outcome.status).toBe(201);
  return { stations, analystToken, scans, waiting: scans[2].id };
}

/**
 * What the service answers: every scan, station, user, the stations' results, the archive (verdicts with the outcome),
 * the verdicts as DICOS, the pool, and the images (sha-256 of the bytes). Every scan's bundle is read back with its
 * checksums verified (originals against the manifest, planes by readPackage).
 */
async function observe(service: TestService, activity: Activity): Promise<Record<string, unknown>> {
  const admin = service.adminToken;
  const seen: Record<string, unknown> = {};
  const json = async (route: string, token: string, key = route) => {
    const response = await service.request('GET', route, { token });
    expect([route, response.status]).toEqual([route, 200]);
    seen[key] = response.body;
  };
  const bytes = async (route: string, token: string) => {
    const response = await service.bytes(route, token);
    expect([route, response.status]).toEqual([route, 200]);
    seen[route] = createHash('sha256').update(response.data).digest('hex');
    return response.data;
  };
  await json('/api/v1/stations', admin);
  await json('/api/v1/users', admin);
  await json('/api/v1/training/archive', admin);
  for (const station of activity.stations) await json('/api/v1/station/results', station.apiKey, `results of station ${station.id}`);
  const stats = await service.request<{ pools: { pool: string; waiting: number }[] }>('GET', '/api/v1/worklist/stats', { token: admin });
  seen.pools = stats.body.pools.map((pool) => ({ pool: pool.pool, waiting: pool.waiting }));
  for (const scan of activity.scans) {
    await json(`/api/v1/scans/${scan.id}`, admin);
    if (scan.id !== activity.waiting) {
      // the report is written at each download under new SOP instance and study UIDs; everything it reports stays
      const report = readThreatDetectionReport(await bytes(`/api/v1/scans/${scan.id}/verdict.dcs`, admin));
      seen[`/api/v1/scans/${scan.id}/verdict.dcs`] = { ...report, sopInstanceUid: undefined, studyInstanceUid: undefined };
    }
    const view = scan.manifest!.views[0];
    for (const image of ['thumbnail', 'display', 'tiles.dzi', 'material/display']) await bytes(`/api/v1/scans/${scan.id}/views/${view.id}/${image}`, admin);
    for (const plane of view.planes) await bytes(`/api/v1/scans/${scan.id}/views/${view.id}/planes/${plane.energy}.png`, admin);

    const bundleFile = path.join(os.tmpdir(), `niix-drill-${scan.id}.tar`);
    writeFileSync(bundleFile, await bytes(`/api/v1/scans/${scan.id}/bundle`, scan.stationId === activity.stations[0].id ? activity.stations[0].apiKey : activity.stations[1].apiKey));
    try {
      const bundle = await readBundle(bundleFile);
      const { views } = await readPackage(bundle.manifest, (part) => bundle.readPart(part));
      expect(views.map((each) => each.id)).toEqual(scan.manifest!.views.map((each) => each.id));
      for (const original of bundle.manifest.provenance.originals) await bundle.readPart(`originals/${original.name}`);
      seen[`originals of ${scan.id}`] = bundle.manifest.provenance.originals.map((original) => original.sha256);
    } finally {
      rmSync(bundleFile, { force: true });
    }
  }
  return seen;
}

/** Every row of every table of the public schema, as sorted JSON text per table. */
async function tableRows(service: TestService): Promise<Record<string, string[]>> {
  const database = service.app.get<Database>(DATABASE);
  const tables = (await database.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`)) as unknown as { rows: { table_name: string }[] };
  const rows: Record<string, string[]> = {};
  for (const { table_name: table } of tables.rows) {
    const result = (await database.db.execute(sql.raw(`select row_to_json(t)::text as row from "${table}" t`))) as unknown as { rows: { row: string }[] };
    rows[table] = result.rows.map((row) => row.row).sort();
  }
  return rows;
}

function s3Env(s3: TestS3): Record<string, string> {
  return { S3_ENDPOINT: s3.settings.endpoint, S3_ACCESS_KEY: s3.settings.accessKey, S3_SECRET_KEY: s3.settings.secretKey, S3_BUCKET: s3.settings.bucket };
}

function s3Client(s3: TestS3): Client {
  const url = new URL(s3.settings.endpoint);
  return new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: s3.settings.accessKey, secretKey: s3.settings.secretKey, region: s3.settings.region, pathStyle: true });
}

/** `mc mirror niix/<bucket> <folder>`: every object to a file of the same key. */
async function mirrorBucketToFolder(s3: TestS3, folder: string): Promise<void> {
  const client = s3Client(s3);
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(s3.settings.bucket, '', true) as AsyncIterable<{ name?: string }>) if (item.name) keys.push(item.name);
  expect(keys.length).toBeGreaterThan(10);
  for (const key of keys) {
    mkdirSync(path.dirname(path.join(folder, key)), { recursive: true });
    await pipeline(await client.getObject(s3.settings.bucket, key), createWriteStream(path.join(folder, key)));
  }
}

/** `mc mb niix/<bucket> && mc mirror <folder> niix/<bucket>`. */
async function mirrorFolderToBucket(folder: string, s3: TestS3): Promise<void> {
  const client = s3Client(s3);
  await client.makeBucket(s3.settings.bucket);
  const files = (readdirSync(folder, { recursive: true }) as string[]).filter((file) => statSync(path.join(folder, file)).isFile());
  for (const file of files) await client.fPutObject(s3.settings.bucket, file.split(path.sep).join('/'), path.join(folder, file));
}

async function redisCli(command: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', `redis-cli -u ${TEST_REDIS_URL} ${command}`]);
  return stdout.trim();
}
