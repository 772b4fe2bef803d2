import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { DicosAdapter } from '../libs/scanner-adapters/src/dicos/dicos.adapter.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { type ServiceProcess, startServiceProcess } from '../test/processes.js';
import { benchConversionMemory, conversionMemorySection } from './conversion-memory.js';
import { benchLoad, type LoadResult, loadOptionsFromEnv, loadSection } from './load.js';
import { benchTraining, trainingSection } from './training.js';
import { benchViewer } from './ui.js';
import { benchWorklist } from './worklist.js';
import { percentile, seconds } from './stats.js';
import { deleteRedisKeys } from '../test/redis.js';

/**
 * niix benchmarks: the built service runs as its own process (embedded defaults for ingest, PostgreSQL for the
 * work pool); this process plays the stations, the analysts and (through headless Chromium) the workstation.
 * Results go to docs/benchmarks.md with the machine described.
 *   npm run bench            (about 25 minutes on 2 cores, the load part 10 minutes of them plus its drain)
 *   BENCH_ONLY=training node dist/bench/run.js   (after npm run build: only the training part; replaces the
 *                            "## Training" section of docs/benchmarks.md and keeps the rest of the file)
 *   BENCH_ONLY=load node dist/bench/run.js       (after npm run build: only the load part, bench/load.ts; replaces
 *                            the "## Load" section the same way; BENCH_LOAD_* settings are described there)
 * Sizes: BENCH_WIDTH, BENCH_HEIGHT (scan), BENCH_TRAINING_CASES, BENCH_TRAINING_PROJECTED (training set).
 */

const WIDTH = Number(process.env.BENCH_WIDTH ?? 8000);
const HEIGHT = Number(process.env.BENCH_HEIGHT ?? 2500);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 20);
const STATIONS = 4;
const PER_STATION = Number(process.env.BENCH_PER_STATION ?? 8);
const PACE_SECONDS = 12;
const PACED_ROUNDS = Number(process.env.BENCH_PACED_ROUNDS ?? 5);
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
    // Upload → queued is the acknowledgement plus the service's own receivedAt → queuedAt, so the polling
    // below (slow, to add little load) does not blur the figure.
    const queued = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const scan = await json<{ status: string; receivedAt: string; queuedAt: string | null }>(`${this.service.url}/api/v1/scans/${body.id}`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        if (scan.body.status === 'queued' || scan.body.status === 'failed') {
          const serverMs = scan.body.queuedAt ? Date.parse(scan.body.queuedAt) - Date.parse(scan.body.receivedAt) : Number.NaN;
          return { ackMs, queuedMs: ackMs + serverMs, status: scan.body.status };
        }
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

/**
 * BENCH_ONLY=ingest runs the ingest part and prints it (for development; docs/benchmarks.md wants every part).
 * BENCH_ONLY=training runs the training part and puts its section into the existing docs/benchmarks.md.
 * BENCH_ONLY=load does the same with the load part, BENCH_ONLY=memory with the memory of one conversion.
 */
const ONLY = process.env.BENCH_ONLY;
const REPORT = path.resolve('docs/benchmarks.md');

/**
 * The report with its "## <heading>" section replaced by `section` (a section runs to the next "## " heading);
 * without one, the section goes before "## How to read them", or at the end.
 */
function withSection(report: string, heading: string, section: string): string {
  const body = section.replace(/^\n+/, '').replace(/\n*$/, '\n');
  const start = report.search(new RegExp(`^## ${heading}$`, 'm'));
  if (start !== -1) {
    const rest = report.slice(start + 1).search(/^## /m);
    const end = rest === -1 ? report.length : start + 1 + rest;
    return `${report.slice(0, start)}${body}${end < report.length ? '\n' : ''}${report.slice(end)}`;
  }
  const howTo = report.search(/^## How to read them$/m);
  if (howTo !== -1) return `${report.slice(0, howTo)}${body}\n${report.slice(howTo)}`;
  return `${report.replace(/\n*$/, '\n')}\n${body}`;
}

/** Puts one part's section into the existing report, keeping the rest. */
function writeSection(heading: string, section: string, log: (line: string) => void): void {
  const existing = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '# Benchmarks\n';
  writeFileSync(REPORT, withSection(existing, heading, section));
  log(`wrote the "## ${heading}" section of docs/benchmarks.md`);
}

/** The machine in one line, for a part run on its own. */
function machineLine(): string {
  return machine().split('\n').map((line) => line.replace(/^- /, '')).join('; ');
}

/** BENCH_ONLY=memory: the peak memory of one conversion of the largest scan the defaults allow. */
async function memoryOnly(log: (line: string) => void): Promise<void> {
  const figures = await benchConversionMemory(log);
  const section = conversionMemorySection(figures, `Run on its own (\`BENCH_ONLY=memory\`, bench/conversion-memory.ts) on ${new Date().toISOString().slice(0, 10)}; machine: ${machineLine()}.`);
  writeSection('Memory of one conversion', section, log);
  console.log(section);
}

/** BENCH_ONLY=training: the training part alone, its section written into the existing report. */
async function trainingOnly(log: (line: string) => void): Promise<void> {
  log('training: the service as its own process on its embedded defaults');
  const { figures } = await benchTraining(log);
  const date = new Date().toISOString().slice(0, 10);
  const standalone = trainingSection(figures, `Run on its own (\`BENCH_ONLY=training\`, bench/training.ts) on ${date}; machine: ${machineLine()}.`);
  writeSection('Training', standalone, log);
  console.log(standalone);
}

/** A load run that did not pass: its section is written all the same, then the benchmark fails. */
function failIfLoadFailed(load: LoadResult): void {
  if (load.failures.length === 0) return;
  console.error(`bench: the load run did not pass:\n- ${load.failures.join('\n- ')}`);
  if (load.figures.errors.samples.length) console.error(`first errors:\n${load.figures.errors.samples.join('\n')}`);
  if (load.figures.serviceLog.samples.length) console.error(`service log (warn and above):\n${load.figures.serviceLog.samples.join('\n')}`);
  process.exitCode = 1;
}

/** BENCH_ONLY=load: the load part alone, its section written into the existing report. */
async function loadOnly(log: (line: string) => void): Promise<void> {
  const options = loadOptionsFromEnv();
  const load = await benchLoad(log, options);
  const date = new Date().toISOString().slice(0, 10);
  const short = options.minutes < 10 || options.stations < 16 || options.analysts < 20;
  const note = `Run on its own (\`BENCH_ONLY=load\`) on ${date}; machine: ${machineLine()}.${short ? ` **A short run** (${options.minutes} min, ${options.stations} stations, ${options.analysts} analysts), not the full 10-minute one: its figures are indicative only.` : ''}`;
  const section = loadSection(load.figures, note);
  writeSection('Load', section, log);
  console.log(section);
  failIfLoadFailed(load);
}

async function main(): Promise<void> {
  const log = (line: string) => console.log(`[bench] ${line}`);
  if (ONLY === 'training') return trainingOnly(log);
  if (ONLY === 'load') return loadOnly(log);
  if (ONLY === 'memory') return memoryOnly(log);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-'));
  const prefix = `niixbench${randomBytes(3).toString('hex')}`;
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
  let ingestReport = '';
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

    log(`${STATIONS} stations, each sending a scan every ${PACE_SECONDS} s (${((STATIONS * 60) / PACE_SECONDS).toFixed(0)} scans a minute)`);
    const paced: Promise<UploadResult>[] = [];
    await Promise.all(
      keys.map(async (key, station) => {
        await new Promise((resolve) => setTimeout(resolve, (station * PACE_SECONDS * 1000) / STATIONS));
        for (let i = 0; i < PACED_ROUNDS; i++) {
          const sent = performance.now();
          paced.push((await bench.upload(key, variant(template, n++))).queued);
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, PACE_SECONDS * 1000 - (performance.now() - sent))));
        }
      }),
    );
    const pacedResults = await Promise.all(paced);

    log(`${STATIONS} stations uploading ${PER_STATION} scans each at once, back to back`);
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
          await adapter.convert({ files: [{ name, path: file, size: readFileSync(file).length }], limits: { maxPixelsPerPlane: 268_402_689, maxPixelsPerScan: 1_000_000_000 } });
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
    const pacedQueued = pacedResults.map((r) => r.queuedMs);
    const failures = [...sequential, ...pacedResults, ...underLoad].filter((r) => r.status !== 'queued').length;
    const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
    results.push(
      `| upload acknowledgement (202), one at a time | p50 ${seconds(percentile(seqAck, 50))} s, p95 ${seconds(percentile(seqAck, 95))} s | | |`,
      `| upload → \`queued\`, one at a time (${SEQUENTIAL} scans) | p50 ${seconds(percentile(seqQueued, 50))} s, p95 ${seconds(percentile(seqQueued, 95))} s | p95 ≤ 3 s | ${mark(percentile(seqQueued, 95) <= 3000)} |`,
      `| upload → \`queued\`, ${STATIONS} stations each sending every ${PACE_SECONDS} s = ${((STATIONS * 60) / PACE_SECONDS).toFixed(0)}/min (${pacedResults.length} scans) | p50 ${seconds(percentile(pacedQueued, 50))} s, p95 ${seconds(percentile(pacedQueued, 95))} s | p95 ≤ 3 s | ${mark(percentile(pacedQueued, 95) <= 3000)} |`,
      `| upload → \`queued\`, ${STATIONS} stations sending back to back (${underLoad.length} scans, saturation) | p50 ${seconds(percentile(loadQueued, 50))} s, p95 ${seconds(percentile(loadQueued, 95))} s | | |`,
      `| scans per minute, ${STATIONS} stations sending back to back (capacity) | ${perMinute.toFixed(1)} | ≥ 20 | ${mark(perMinute >= 20)} |`,
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
- "Every ${PACE_SECONDS} s" is ${STATIONS} lanes at the target rate of 20 scans a minute together, arriving independently.
- "Back to back" saturates the service: scans wait for a free converter, so their latency is mostly queueing;
  its scans-per-minute line is the capacity of one instance (NIIX_CONVERT_CONCURRENCY=${process.env.NIIX_CONVERT_CONCURRENCY ?? 1}).
- Upload → \`queued\` = time to the 202 plus the service's receivedAt → queuedAt.
- Scale out by running more \`convert\` instances (docs/operations.md).
`;
    ingestReport = report;
  } finally {
    await service.stop();
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    rmSync(dataDir, { recursive: true, force: true });
  }

  if (ONLY === 'ingest') {
    console.log(ingestReport);
    return;
  }
  log('work pool: PostgreSQL, Redis, the service as its own process');
  const pool = await benchWorklist(log, {
    cases: Number(process.env.BENCH_POOL_CASES ?? 10_000),
    analysts: Number(process.env.BENCH_POOL_ANALYSTS ?? 50),
    claims: Number(process.env.BENCH_POOL_CLAIMS ?? 3000),
    samples: Number(process.env.BENCH_POOL_SAMPLES ?? 60),
    thinkMs: Number(process.env.BENCH_POOL_THINK_MS ?? 1000),
  });
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  const poolReport = `
## Analyst work pool
PostgreSQL and Redis, the service as its own process with all roles. ${pool.cases.toLocaleString('en')} cases wait in one pool (random
risk and deadlines); ${pool.analysts} analysts each claim, look at the case for ${pool.thinkMs / 2}–${(pool.thinkMs * 3) / 2} ms (real analysts take
10–60 s), decide, and claim again: ${pool.claims.toLocaleString('en')} claims at ${pool.claimsPerSecond.toFixed(0)} claims a second (and as many verdicts). Then ${pool.samples} verdicts
one at a time, each timed from the verdict request to the station's webhook receiver on loopback and to the
event on the station's open result stream.

| measure | result | target | |
|---|---|---|---|
| claim latency, ${pool.analysts} analysts, ${pool.cases.toLocaleString('en')} cases waiting | p50 ${pool.claimP50.toFixed(1)} ms, p95 ${pool.claimP95.toFixed(1)} ms | p95 ≤ 25 ms | ${mark(pool.claimP95 <= 25)} |
| verdict → webhook received | p50 ${pool.webhookP50.toFixed(1)} ms, p95 ${pool.webhookP95.toFixed(1)} ms | p95 ≤ 250 ms | ${mark(pool.webhookP95 <= 250)} |
| verdict → stream event | p50 ${pool.streamP50.toFixed(1)} ms, p95 ${pool.streamP95.toFixed(1)} ms | p95 ≤ 100 ms | ${mark(pool.streamP95 <= 100)} |
| peak memory (RSS) of the service process | ${pool.peakRssMb.toFixed(0)} MB | | |
`;
  log('workstation: headless Chromium on loopback');
  const viewer = await benchViewer(log);
  log('workstation: a 20,000 px wide scan (a long train or trailer)');
  const wide = await benchViewer(log, { cases: 3, changes: 15, width: 20_000, height: 2500 });
  const viewerReport = `
## Analyst workstation
Headless Chromium (${viewer.samples.viewport}, WebGL2 on SwiftShader: software rendering, no GPU) against the built
service on loopback. ${viewer.samples.claimToFirstTiles.length} generated ${viewer.samples.width} x ${viewer.samples.height} dual-energy scans are
claimed with the N key one after another; then ${viewer.samples.windowLevelRepaint.length} window/level changes on an open case.
First tiles are the 8-bit first paint on every view; the lossless 16-bit tiles follow (the service builds a
plane's 16-bit pyramid on its first tile request). A window/level change only re-runs the shader.

| measure | result | target | |
|---|---|---|---|
| claim → first tiles drawn | p50 ${viewer.claimToFirstTilesP50.toFixed(0)} ms, p95 ${viewer.claimToFirstTilesP95.toFixed(0)} ms | p95 ≤ 800 ms | ${mark(viewer.claimToFirstTilesP95 <= 800)} |
| claim → 16-bit tiles drawn | p50 ${viewer.claimToSixteenBitP50.toFixed(0)} ms, p95 ${viewer.claimToSixteenBitP95.toFixed(0)} ms | | |
| window/level change → repaint | p50 ${viewer.windowLevelRepaintP50.toFixed(1)} ms, p95 ${viewer.windowLevelRepaintP95.toFixed(1)} ms | p95 ≤ 100 ms | ${mark(viewer.windowLevelRepaintP95 <= 100)} |
| 20,000 x 2,500 scan (${wide.samples.claimToFirstTiles.length} cases): claim → first tiles / → 16-bit tiles / window/level repaint | p95 ${wide.claimToFirstTilesP95.toFixed(0)} ms / ${wide.claimToSixteenBitP95.toFixed(0)} ms / ${wide.windowLevelRepaintP95.toFixed(1)} ms | | |
`;
  log('training: archive, a set with projected threats, a trainee, the trainer');
  const training = await benchTraining(log);
  log('memory: one conversion of the largest scan the defaults allow');
  const memory = conversionMemorySection(await benchConversionMemory(log));
  log('load: stations, analysts and results together');
  const load = await benchLoad(log, loadOptionsFromEnv());
  const report = ingestReport.replace('\n## How to read them', `${poolReport}${viewerReport}${memory}${training.section}${load.section}\n## How to read them`);
  writeFileSync(REPORT, report);
  log('wrote docs/benchmarks.md');
  console.log(report);
  failIfLoadFailed(load);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
