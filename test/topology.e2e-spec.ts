import { readFileSync, readdirSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import pg from 'pg';
import { parse } from 'yaml';
import { parseManifest, readPackage } from '../libs/exchange-format/src/package.js';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { CONFIG_VARIABLES, PROCESS_ROLES } from '../src/config/config.js';
import { verifyWebhook } from '../src/delivery/webhook-signature.js';
import { JobName, QueueName, jobId } from '../src/queue/jobs.js';
import type { ResultBody } from '../src/results/result-body.js';
import { scanObjects } from '../src/scans/scan-objects.js';
import { S3Storage } from '../src/storage/s3.storage.js';
import { createTestPostgres } from './postgres.js';
import { type ProcessRequest, type ServiceProcess, ensureServiceBuilt, requestProcess, startServiceProcess } from './processes.js';
import { deleteRedisKeys } from './redis.js';
import { type TestS3, startS3rver } from './s3.js';
import { scanForm } from './service.harness.js';
import { until } from './until.js';

const COMPOSE_FILE = 'docker/compose.yaml';
const DOCKERFILE = 'docker/Dockerfile';
const REDIS_URL = process.env.NIIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** What the operator exports before `docker compose up` (the file's ${...} references). */
const OPERATOR_ENV: Record<string, string> = { NIIX_ADMIN_PASSWORD: 'admin-password-for-tests', MINIO_ROOT_PASSWORD: 'minio-password-for-tests' };

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  deploy?: { replicas?: number };
  depends_on?: string[] | Record<string, unknown>;
}

/** A niix service of the compose file: one image, started `replicas` times with the same environment. */
interface NiixService {
  name: string;
  roles: string[];
  replicas: number;
  /** As written in the file, ${...} resolved from OPERATOR_ENV. */
  environment: Record<string, string>;
  dependsOn: string[];
}

/** Resolves ${NAME}, ${NAME:?message}, ${NAME:-default} and $$ the way compose does, from `env`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([?-])([^}]*))?\}/g, (match, name: string | undefined, kind?: string, rest?: string) => {
    if (match === '$$') return '$';
    const found = env[name!];
    if (found) return found;
    if (kind === '-') return rest ?? '';
    throw new Error(`${COMPOSE_FILE} needs ${name} from the operator: ${rest ?? ''}`);
  });
}

/** The services of the compose file built from docker/Dockerfile, with their roles, replicas and environment. */
function readComposeFile(): { niix: NiixService[]; others: string[] } {
  const file = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const composeDir = path.dirname(path.resolve(COMPOSE_FILE));
  const niix: NiixService[] = [];
  const others: string[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    const build = typeof service.build === 'string' ? { context: service.build } : service.build;
    const dockerfile = build ? path.resolve(composeDir, build.context ?? '.', build.dockerfile ?? 'Dockerfile') : undefined;
    if (dockerfile !== path.resolve(DOCKERFILE)) {
      others.push(name);
      continue;
    }
    const entries = Array.isArray(service.environment)
      ? service.environment.map((item) => [item.split('=')[0], item.includes('=') ? item.slice(item.indexOf('=') + 1) : (OPERATOR_ENV[item] ?? '')])
      : Object.entries(service.environment ?? {}).map(([key, value]) => [key, value === null ? (OPERATOR_ENV[key] ?? '') : String(value)]);
    const environment = Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value, OPERATOR_ENV)]));
    niix.push({
      name,
      roles: (environment.NIIX_ROLES ?? 'all').split(',').map((role) => role.trim()),
      replicas: service.deploy?.replicas ?? 1,
      environment,
      dependsOn: Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {}),
    });
  }
  return { niix, others };
}

/**
 * The one-host installation of docker/compose.yaml, as OS processes on this machine: every niix service of the
 * file is started as `node dist/src/main.js` with the same roles, number of replicas and environment variable
 * names (values pointed at the local PostgreSQL, Redis and an s3rver in MinIO's place), in the file's start
 * order. Then a scan goes the whole way (upload → converted → claimed → verdict → webhook and pull), and a
 * converter killed in the middle of a conversion loses nothing and duplicates nothing.
 */
describe('the one-host installation (docker/compose.yaml) as processes', () => {
  const compose = readComposeFile();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'niix-topology-'));
  const prefix = `niixtopo${randomBytes(4).toString('hex')}`;
  const processes = new Map<string, ServiceProcess>();
  const deliveries: { id: string; signature: string | undefined; body: string }[] = [];
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let s3: TestS3 | undefined;
  let storage: S3Storage;
  let bucket: string;
  let db: pg.Client | undefined;
  let receiver: http.Server | undefined;
  let receiverUrl: string;
  let api: ServiceProcess;
  let adminToken: string;
  let station: { id: string; apiKey: string; webhookSecret: string };
  let analystToken: string;

  /** Where each process's environment points instead of the compose network's hosts. */
  function localEnvironment(service: NiixService, replica: string): Record<string, string> {
    const local: Record<string, string> = {
      DATABASE_URL: database!.url,
      REDIS_URL,
      S3_ENDPOINT: s3!.settings.endpoint,
      S3_ACCESS_KEY: s3!.settings.accessKey,
      S3_SECRET_KEY: s3!.settings.secretKey,
    };
    const env = Object.fromEntries(Object.entries(service.environment).map(([name, value]) => [name, local[name] ?? value]));
    for (const [name, value] of Object.entries(env)) {
      const host = [...compose.others, ...compose.niix.map((other) => other.name)].find((other) => new RegExp(`//([^/@]*@)?${other}[:/]`).test(value));
      if (host) throw new Error(`${COMPOSE_FILE} points ${name} of ${service.name} at ${host}: map it to a local service in this test`);
    }
    // What differs between this machine and the containers: one Redis shared with other tests (a key prefix),
    // each container's own /data and /tmp (a folder per process), and a free port per process.
    const own = path.join(workDir, replica);
    mkdirSync(path.join(own, 'tmp'), { recursive: true });
    // A short job lock makes the killed converter's job found within seconds rather than a minute.
    return { ...env, NIIX_REDIS_PREFIX: prefix, NIIX_DATA_DIR: path.join(own, 'data'), TMPDIR: path.join(own, 'tmp'), NIIX_JOB_LOCK_SECONDS: '6' };
  }

  async function startReplica(service: NiixService, replica: string): Promise<ServiceProcess> {
    const started = await startServiceProcess(localEnvironment(service, replica), { name: replica });
    processes.set(replica, started);
    return started;
  }

  const request = <T>(method: string, route: string, init: ProcessRequest = {}) => requestProcess<T>(api, method, route, init);

  async function upload(width: number, height: number, seed: number): Promise<string> {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed, kind: 'container', width, height }));
    const metadata = { reference: `topology-${seed}`, containers: ['CSQU3054383'], declarations: [`26EE${seed}`] };
    const accepted = await request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files, metadata) });
    expect(accepted.status).toBe(202);
    return accepted.body.id;
  }

  /** The analyst's next case: a scan shows `queued` a moment before its case is in the pool. */
  const claimNext = () =>
    until(async () => {
      const claim = await request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: analystToken });
      return claim.status === 200 ? claim.body : undefined;
    }, 'a case to claim');

  const scanStatus = async (id: string) => (await request<{ status: string }>('GET', `/api/v1/scans/${id}`, { token: station.apiKey })).body.status;

  beforeAll(async () => {
    receiver = http.createServer((incoming, response) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const signature = incoming.headers['x-niix-signature'];
        deliveries.push({ id: String(incoming.headers['x-niix-delivery']), signature: typeof signature === 'string' ? signature : undefined, body: Buffer.concat(chunks).toString() });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/niix/results`;

    const [, postgres, server] = await Promise.all([ensureServiceBuilt(), createTestPostgres(), startS3rver(path.join(workDir, 's3'))]);
    database = postgres;
    s3 = server;
    bucket = compose.niix[0]?.environment.S3_BUCKET ?? s3.settings.bucket;
    storage = new S3Storage({ ...s3.settings, bucket });
    db = new pg.Client({ connectionString: database.url });
    await db.connect();

    // compose's order: a service starts when the niix services it depends on are healthy; replicas start together
    const started = new Set<string>();
    while (started.size < compose.niix.length) {
      const ready = compose.niix.filter((service) => !started.has(service.name) && service.dependsOn.every((name) => started.has(name) || compose.others.includes(name)));
      if (ready.length === 0) throw new Error(`${COMPOSE_FILE}: the depends_on of ${compose.niix.map((service) => service.name).join(', ')} form a cycle`);
      await Promise.all(
        ready.flatMap((service) => Array.from({ length: service.replicas }, (_, i) => startReplica(service, `${service.name}-${i + 1}`))),
      );
      for (const service of ready) started.add(service.name);
    }
    const apiService = compose.niix.find((service) => service.roles.includes('api') || service.roles.includes('all'));
    api = processes.get(`${apiService!.name}-1`)!;

    adminToken = (await request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'admin', password: OPERATOR_ENV.NIIX_ADMIN_PASSWORD } })).body.token;
    const created = await request<typeof station>('POST', '/api/v1/stations', { token: adminToken, json: { name: 'Koidula rail 1', country: 'EE', callbackUrl: receiverUrl } });
    expect(created.status).toBe(201);
    station = created.body;
    await request('POST', '/api/v1/users', { token: adminToken, json: { username: 'analyst1', password: 'password-of-tests', roles: ['analyst'] } });
    analystToken = (await request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'analyst1', password: 'password-of-tests' } })).body.token;
  }, 240_000);

  afterAll(async () => {
    await Promise.all([...processes.values()].map((service) => service.stop()));
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
    await db?.end();
    await database?.drop();
    await s3?.close();
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('has a process for every role, and sets only variables the configuration reads', () => {
    expect(compose.niix.length).toBeGreaterThan(0);
    const roles = new Set(compose.niix.flatMap((service) => service.roles).flatMap((role) => (role === 'all' ? [...PROCESS_ROLES] : [role])));
    expect([...roles].sort()).toEqual([...PROCESS_ROLES].sort());
    const names = [...new Set(compose.niix.flatMap((service) => Object.keys(service.environment)))];
    expect(names.filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
    // each process got every variable its service sets in the file
    for (const service of compose.niix) {
      for (let i = 1; i <= service.replicas; i++) {
        expect(Object.keys(processes.get(`${service.name}-${i}`)!.env)).toEqual(expect.arrayContaining(Object.keys(service.environment)));
      }
    }
  });

  it('takes a scan from upload to a signed webhook and a pulled result', async () => {
    const scanId = await upload(640, 200, 1);
    await until(async () => (await scanStatus(scanId)) === 'queued', `scan ${scanId} queued`, 90_000);

    const claim = await claimNext();
    expect(claim.scan.id).toBe(scanId);
    const verdict = await request<{ final: boolean }>('POST', `/api/v1/scans/${scanId}/verdict`, {
      token: analystToken,
      json: { claimId: claim.claimId, decision: 'clear', regions: [], comment: 'nothing concealed' },
    });
    expect(verdict.status).toBe(201);
    expect(verdict.body.final).toBe(true);

    const delivery = await until(async () => deliveries.find((item) => (JSON.parse(item.body) as ResultBody).scanId === scanId), `the webhook of scan ${scanId}`, 60_000);
    expect(delivery.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(station.webhookSecret, delivery.body, delivery.signature!)).toBe(true);
    const sent = JSON.parse(delivery.body) as ResultBody;
    expect(sent).toMatchObject({ kind: 'verdict', decision: 'clear', reference: 'topology-1', containers: ['CSQU3054383'] });
    expect(delivery.id).toBe(sent.resultId);

    const pulled = await request<{ results: ResultBody[] }>('GET', '/api/v1/station/results', { token: station.apiKey });
    expect(pulled.status).toBe(200);
    expect(pulled.body.results.filter((result) => result.scanId === scanId)).toEqual([expect.objectContaining({ resultId: sent.resultId, decision: 'clear' })]);
  });

  it('converts a scan exactly once when its converter is killed in the middle of the conversion', async () => {
    const converter = compose.niix.find((service) => service.roles.includes('convert'))!;
    expect(converter.replicas).toBeGreaterThanOrEqual(2); // one to kill, one to take the work over
    const replicas = Array.from({ length: converter.replicas }, (_, i) => `${converter.name}-${i + 1}`);
    const queue = new Queue(QueueName.Convert, { connection: { url: REDIS_URL }, prefix });
    try {
      // 8000 x 2500 dual-energy: long enough to be caught converting (a few seconds of one core)
      const scanId = await upload(8000, 2500, 2);
      const job = jobId(JobName.ConvertScan, { scanId });

      // the converter that holds the job has downloaded the original into its own temporary folder and is converting it
      const holder = await until(
        async () => {
          for (const replica of replicas) {
            const tmp = processes.get(replica)!.env.TMPDIR;
            const work = readdirSync(tmp).find((entry) => entry.startsWith(`niix-convert-${scanId}-`));
            if (work && readdirSync(path.join(tmp, work)).some((file) => !file.endsWith('.partial'))) return replica;
          }
          return undefined;
        },
        `a converter working on scan ${scanId}`,
        60_000,
      );
      expect(await scanStatus(scanId)).toBe('converting');
      expect(await (await queue.getJob(job))!.getState()).toBe('active');
      const killedAt = Date.now();
      await processes.get(holder)!.kill();
      const packagedBeforeKill = (await db!.query<{ packaged: boolean }>('select manifest is not null as packaged from scans where id = $1', [scanId])).rows[0].packaged;
      expect(packagedBeforeKill).toBe(false);

      // compose's restart policy starts the container again: its reconciliation at start must not add a second job
      await startReplica(converter, holder);

      await until(async () => (await scanStatus(scanId)) === 'queued', `scan ${scanId} queued after its converter was killed`, 180_000);
      const recoveredSeconds = (Date.now() - killedAt) / 1000;

      const scan = (await db!.query<{ status: string; manifest: unknown; failure_code: string | null }>('select status, manifest, failure_code from scans where id = $1', [scanId])).rows[0];
      expect(scan).toMatchObject({ status: 'queued', failure_code: null });
      // one package: the stored manifest is the recorded one, every part matches its checksum, nothing else is there
      const stored = JSON.parse((await storage.get(scanObjects.packagePart(scanId, 'manifest.json'))).toString()) as unknown;
      expect(stored).toEqual(scan.manifest);
      await readPackage(scan.manifest, (part) => storage.get(scanObjects.packagePart(scanId, part)));
      const expected = ['manifest.json', ...parseManifest(scan.manifest).views.flatMap((view) => view.planes.map((plane) => plane.path))].sort();
      const listed: string[] = [];
      for await (const item of storage.client.listObjectsV2(bucket, scanObjects.packagePart(scanId, ''), true) as AsyncIterable<{ name?: string }>) {
        if (item.name) listed.push(item.name.slice(scanObjects.packagePart(scanId, '').length));
      }
      expect(listed.sort()).toEqual(expected);

      // one review case: the analyst gets it once, and nothing else waits
      expect((await claimNext()).scan.id).toBe(scanId);
      expect((await request('POST', '/api/v1/worklist/claim', { token: analystToken })).status).toBe(204);
      // the pipeline put it into the pool once (recorded before the case was added, so it is there by now)
      const audit = await db!.query<{ action: string }>("select action from audit_events where scan_id = $1 and actor_id = 'pipeline' order by id", [scanId]);
      expect(audit.rows.map((row) => row.action)).toEqual(['scan.queued']);
      expect(await queue.getJob(job)).toBeUndefined(); // completed (and removed), not failed

      console.log(`topology: converter ${holder} killed while converting; scan ${scanId} queued ${recoveredSeconds.toFixed(1)} s later`);
    } finally {
      await queue.close();
    }
  }, 300_000);
});
