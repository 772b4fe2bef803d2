import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { DicosAdapter } from '../libs/scanner-adapters/src/dicos/dicos.adapter.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { type ServiceProcess, startServiceProcess } from './service-process.js';
import { percentile, seconds } from './stats.js';

/**
 * niix benchmarks: the built service runs as its own process on its embedded defaults (PGlite, files,
 * Redis); this process plays the stations. Results go to docs/benchmarks.md with the machine described.
 *   npm run bench            (about 3 minutes on 2 cores)
 */

const WIDTH = Number(process.env.BENCH_WIDTH ?? 8000);
const HEIGHT = Number(process.env.BENCH_HEIGHT ?? 2500);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 20);
const STATIONS = 4;
const PER_STATION = Number(process.env.BENCH_PER_STATION ?? 8);
const ADMIN_PASSWORD = 'bench-admin-password';
const DICOM_FIXTURES = path.resolve('libs/scanner-adapters/src/dicos/fixtures');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface UploadResult {
  ackMs: number;
  queuedMs: number;
  status: string;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

class Bench {
  constructor(private readonly service: ServiceProcess) {}

  async login(): Promise<string> {
    const { body } = await json<{ token: string }>(`${this.service.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    return body.token;
  }

  async station(token: string, name: string): Promise<string> {
    const { status, body } = await json<{ apiKey: string }>(`${this.service.url}/api/v1/stations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name, country: 'EE' }),
    });
    if (status !== 201) throw new Error(`creating station ${name}: ${status}`);
    return body.apiKey;
  }

  /** Uploads one scan and measures the acknowledgement; `queued` resolves when the scan is queued or failed. */
  async upload(apiKey: string, files: { name: string; data: Buffer }[]): Promise<{ ackMs: number; queued: Promise<UploadResult> }> {
    const form = new FormData();
    for (const file of files) form.append('file', new Blob([Uint8Array.prototype.slice.call(file.data)]), file.name);
    const started = performance.now();
    const { status, body } = await json<{ id: string }>(`${this.service.url}/api/v1/scans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
      body: form,
    });
    const ackMs = performance.now() - started;
    if (status !== 202) throw new Error(`upload answered ${status}: ${JSON.stringify(body)}`);
    const queued = (async () => {
      for (;;) {
        const scan = await json<{ status: string }>(`${this.service.url}/api/v1/scans/${body.id}`, { headers: { authorization: `Bearer ${apiKey}` } });
        if (scan.body.status === 'queued' || scan.body.status === 'failed') {
          return { ackMs, queuedMs: performance.now() - started, status: scan.body.status };
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return { ackMs, queued };
  }
}

/** A distinct upload of the same pixels: the Aurora header's acquisition time differs, so the content differs. */
function variant(template: { name: string; data: Buffer }[], n: number): { name: string; data: Buffer }[] {
  return template.map((file) => {
    const data = Buffer.from(file.data);
    data.writeBigUInt64LE(BigInt(1_760_000_000 + n), 16);
    return { name: file.name.replace(/(\.\w+)$/, `-${n}$1`), data };
  });
}

function machine(): string {
  const cpus = os.cpus();
  let disk = '';
  try {
    disk = execSync('df -h --output=size,avail / | tail -1').toString().trim();
  } catch {
    disk = 'unknown';
  }
  return [
    `- CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores (os.cpus)`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}; Node ${process.version}`,
    `- Disk of / (size, free): ${disk}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-'));
  const prefix = `niixbench${randomBytes(3).toString('hex')}`;
  const log = (line: string) => console.log(`[bench] ${line}`);
  log(`generating a ${WIDTH} x ${HEIGHT} dual-energy scan`);
  const generatedAt = performance.now();
  const scan = generateScan({ seed: 2026, kind: 'container', width: WIDTH, height: HEIGHT, concealed: 2 });
  const generateMs = performance.now() - generatedAt;
  const template = await writeScannerInput('raw:aurora-ax6', scan);
  const uploadBytes = template.reduce((sum, file) => sum + file.data.length, 0);

  log('starting the service (embedded PGlite, files, Redis)');
  const service = await startServiceProcess({
    NIIX_DATA_DIR: dataDir,
    REDIS_URL,
    NIIX_REDIS_PREFIX: prefix,
    NIIX_ADMIN_PASSWORD: ADMIN_PASSWORD,
    NIIX_LOG_LEVEL: 'warn',
  });
  const results: string[] = [];
  try {
    const bench = new Bench(service);
    const token = await bench.login();
    const keys: string[] = [];
    for (let s = 0; s < STATIONS; s++) keys.push(await bench.station(token, `Bench lane ${s + 1}`));
    let n = 0;

    log('warming up');
    for (let i = 0; i < 2; i++) await (await bench.upload(keys[0], variant(template, n++))).queued;

    log(`${SEQUENTIAL} uploads one after another`);
    const sequential: UploadResult[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const { queued } = await bench.upload(keys[i % STATIONS], variant(template, n++));
      sequential.push(await queued);
    }

    log(`${STATIONS} stations uploading ${PER_STATION} scans each at once`);
    const loadStarted = performance.now();
    const pending: Promise<UploadResult>[] = [];
    await Promise.all(
      keys.map(async (key) => {
        for (let i = 0; i < PER_STATION; i++) {
          const { queued } = await bench.upload(key, variant(template, n++));
          pending.push(queued);
        }
      }),
    );
    const underLoad = await Promise.all(pending);
    const loadMs = performance.now() - loadStarted;
    const perMinute = (underLoad.length / loadMs) * 60_000;
    const peakRss = service.peakRss();

    log('DICOM fixture set through the service');
    const fixtures = readdirSync(DICOM_FIXTURES).filter((name) => name.endsWith('.dcm'));
    const dicomStarted = performance.now();
    const dicomUploads = await Promise.all(
      fixtures.map(async (name, i) => {
        const data = readFileSync(path.join(DICOM_FIXTURES, name));
        const response = await fetch(`${service.url}/api/v1/scans`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keys[i % STATIONS]}` },
          body: (() => {
            const form = new FormData();
            form.append('file', new Blob([new Uint8Array(data)]), name);
            return form;
          })(),
        });
        const body = (await response.json()) as { id?: string };
        if (response.status !== 202 || !body.id) return 'refused';
        for (;;) {
          const scan = await json<{ status: string }>(`${service.url}/api/v1/scans/${body.id}`, { headers: { authorization: `Bearer ${keys[i % STATIONS]}` } });
          if (scan.body.status === 'queued' || scan.body.status === 'failed') return scan.body.status;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    const dicomServiceMs = performance.now() - dicomStarted;

    log('DICOM fixture set through the adapter alone');
    const adapter = new DicosAdapter();
    const rounds = 3;
    let converted = 0;
    const adapterStarted = performance.now();
    for (let round = 0; round < rounds; round++) {
      for (const name of fixtures) {
        const file = path.join(DICOM_FIXTURES, name);
        try {
          await adapter.convert({ files: [{ name, path: file, size: readFileSync(file).length }], limits: { maxPixelsPerPlane: 400_000_000 } });
        } catch {
          // the broken fixtures are part of the set: rejecting them is work too
        }
        converted++;
      }
    }
    const adapterMs = performance.now() - adapterStarted;

    const seqAck = sequential.map((r) => r.ackMs);
    const seqQueued = sequential.map((r) => r.queuedMs);
    const loadQueued = underLoad.map((r) => r.queuedMs);
    const failures = [...sequential, ...underLoad].filter((r) => r.status !== 'queued').length;
    const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
    results.push(
      `| upload acknowledgement (202), one at a time | p50 ${seconds(percentile(seqAck, 50))} s, p95 ${seconds(percentile(seqAck, 95))} s | | |`,
      `| upload → \`queued\`, one at a time (${SEQUENTIAL} scans) | p50 ${seconds(percentile(seqQueued, 50))} s, p95 ${seconds(percentile(seqQueued, 95))} s | p95 ≤ 3 s | ${mark(percentile(seqQueued, 95) <= 3000)} |`,
      `| upload → \`queued\` with ${STATIONS} stations at once (${underLoad.length} scans) | p50 ${seconds(percentile(loadQueued, 50))} s, p95 ${seconds(percentile(loadQueued, 95))} s | | |`,
      `| scans per minute, ${STATIONS} stations at once | ${perMinute.toFixed(1)} | ≥ 20 | ${mark(perMinute >= 20)} |`,
      `| peak memory (RSS) of the service process | ${(peakRss / 1024 ** 2).toFixed(0)} MB | < 1.5 GB | ${mark(peakRss < 1.5 * 1024 ** 3)} |`,
      `| scans that did not reach \`queued\` | ${failures} | 0 | ${mark(failures === 0)} |`,
      `| DICOM fixture set (${fixtures.length} files), adapter alone | ${((converted / adapterMs) * 1000).toFixed(1)} files/s | | |`,
      `| DICOM fixture set through the service (upload → queued/failed, all at once) | ${((fixtures.length / dicomServiceMs) * 1000).toFixed(1)} files/s (${dicomUploads.filter((s) => s === 'queued').length} queued, ${dicomUploads.filter((s) => s === 'failed').length} failed, ${dicomUploads.filter((s) => s === 'refused').length} refused at upload) | | |`,
    );
    const report = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}. The built service runs as its own
process on its embedded defaults (PGlite, local object storage, Redis); the benchmark process plays the stations
over HTTP on loopback. Speed targets live here, not in tests.

## Machine
${machine()}

## Scan
A generated ${WIDTH} x ${HEIGHT} container scan, dual energy (high and low planes, 16 bits), sent as the Aurora AX6 raw
format: ${(uploadBytes / 1024 ** 2).toFixed(1)} MB per upload. Each upload changes the header's acquisition time so no two
uploads are duplicates. Generating the scan took ${seconds(generateMs)} s (not part of any figure below).
Upload → \`queued\` covers: streaming to storage with sha-256, header check, conversion, lossless 16-bit PNG planes,
display image, thumbnail, deep-zoom pyramid and material map with its pyramid.

## Results
| measure | result | target | |
|---|---|---|---|
${results.join('\n')}

## How to read them
- "One at a time" is the latency one lane sees when the service is otherwise idle.
- With ${STATIONS} stations at once, scans wait for a free converter, so their latency includes queueing; the
  throughput line is the capacity of one instance with the default convert concurrency of 1 per image job type.
- Scale out by running more \`convert\` instances (docs/operations.md).
`;
    writeFileSync(path.resolve('docs/benchmarks.md'), report);
    log('wrote docs/benchmarks.md');
    console.log(report);
  } finally {
    await service.stop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
