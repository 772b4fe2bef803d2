import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openAsBlob, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, open, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import pg from 'pg';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { Prng } from '../libs/imaging/src/synthetic/prng.js';
import { THREAT_CATEGORIES } from '../libs/exchange-format/src/verdict.js';
import { BUILT_IN_PROFILE_DIR } from '../libs/scanner-adapters/src/index.js';
import { writeField } from '../libs/scanner-adapters/src/raw-profile/raw-profile.codec.js';
import { loadProfiles } from '../libs/scanner-adapters/src/raw-profile/raw-profile.loader.js';
import type { RawProfile } from '../libs/scanner-adapters/src/raw-profile/raw-profile.schema.js';
import { type ScannerInputFormat, writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { verifyWebhook } from '../src/delivery/webhook-signature.js';
import { createTestPostgres } from '../test/postgres.js';
import { ensureServiceBuilt, type ServiceProcess, startServiceProcess } from '../test/processes.js';
import { deleteRedisKeys } from '../test/redis.js';
import { peakOverlap, type Spread, spread } from './stats.js';

/**
 * The load benchmark: the built service as its own process (all roles, PostgreSQL in a fresh database, Redis under
 * a private prefix, local object storage) with, on loopback, stations uploading a mix of formats and sizes at a
 * scanner's pace, analysts claiming, looking (fetching the first-paint tiles as the workstation does, with
 * heartbeats) and deciding, and the results going back by webhook or pull. A load phase of BENCH_LOAD_MINUTES,
 * then a drain phase until every uploaded scan is decided and its result has reached its station, bounded by
 * BENCH_LOAD_DRAIN_MINUTES. Every random choice (pace, look time, decision) comes from one seed.
 *
 * Environment: BENCH_LOAD_MINUTES (10), BENCH_LOAD_STATIONS (16: the first N of the plan below), BENCH_LOAD_ANALYSTS
 * (20), BENCH_LOAD_DRAIN_MINUTES (10), BENCH_LOAD_PACE (seconds between a station's scans, "20-60"), BENCH_LOAD_LOOK
 * (an analyst's look in seconds, "5-30"), BENCH_LOAD_IMAGES (1: analysts fetch tiles; 0: they do not),
 * BENCH_LOAD_SEED (2026), BENCH_LOAD_TRACE (a file to write every scan's timeline and the samples to, as JSON);
 * NIIX_CONVERT_CONCURRENCY is passed on to the service when set.
 */

const ADMIN_PASSWORD = 'bench-admin-password';
const ANALYST_PASSWORD = 'bench-analyst-password';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DICOM_FIXTURES = path.resolve('libs/scanner-adapters/src/dicos/fixtures');
/** The workstation's viewer pane: tiles are fetched at the coarsest level at least this wide (or the full view). */
const PANE_WIDTH = 1920;
/** Concurrent tile requests of one workstation (the viewer's MAX_FETCHES). */
const TILE_FETCHES = 6;
/** How often a pull station asks for its results. */
const PULL_SECONDS = 5;
/** An analyst who found the pool empty tries again after this many seconds (uniform). */
const IDLE_SECONDS: [number, number] = [2, 5];
/** Process sampling period. */
const SAMPLE_MS = 1000;
/** CPU peaks are reported over windows of this length. */
const CPU_WINDOW_MS = 10_000;
/** How often the service's liveness route is timed (a stalled event loop shows as a slow answer). */
const PROBE_MS = 1000;

export interface LoadOptions {
  minutes: number;
  stations: number;
  analysts: number;
  drainMinutes: number;
  paceSeconds: [number, number];
  lookSeconds: [number, number];
  images: boolean;
  seed: number;
}

function range(text: string | undefined, fallback: [number, number]): [number, number] {
  if (!text) return fallback;
  const match = /^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!match || Number(match[1]) > Number(match[2])) throw new Error(`expected a range like 20-60, not "${text}"`);
  return [Number(match[1]), Number(match[2])];
}

export function loadOptionsFromEnv(): LoadOptions {
  const stations = Number(process.env.BENCH_LOAD_STATIONS ?? STATION_PLAN.length);
  if (!Number.isInteger(stations) || stations < 1 || stations > STATION_PLAN.length) {
    throw new Error(`BENCH_LOAD_STATIONS must be 1..${STATION_PLAN.length}`);
  }
  return {
    minutes: Number(process.env.BENCH_LOAD_MINUTES ?? 10),
    stations,
    analysts: Number(process.env.BENCH_LOAD_ANALYSTS ?? 20),
    drainMinutes: Number(process.env.BENCH_LOAD_DRAIN_MINUTES ?? 10),
    paceSeconds: range(process.env.BENCH_LOAD_PACE, [20, 60]),
    lookSeconds: range(process.env.BENCH_LOAD_LOOK, [5, 30]),
    images: process.env.BENCH_LOAD_IMAGES !== '0',
    seed: Number(process.env.BENCH_LOAD_SEED ?? 2026),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The mix

type SizeClass = 'L' | 'M' | 'M2' | 'S' | 'I' | 'D';

/** What a station's scanner produces. `D` is the real DICOM fixture set, whatever its sizes. */
const SIZES: Record<Exclude<SizeClass, 'D'>, { width: number; height: number; views: ('top' | 'side')[]; dual: boolean; what: string }> = {
  L: { width: 8000, height: 2500, views: ['side'], dual: true, what: '8000 x 2500, side view, dual energy (a container on a trailer)' },
  M: { width: 5000, height: 1600, views: ['side'], dual: true, what: '5000 x 1600, side view, dual energy (a truck)' },
  M2: { width: 3000, height: 1000, views: ['top', 'side'], dual: true, what: '3000 x 1000, top and side views, dual energy (a dual-view portal)' },
  S: { width: 2000, height: 700, views: ['side'], dual: true, what: '2000 x 700, side view, dual energy (a van)' },
  I: { width: 1600, height: 500, views: ['side'], dual: false, what: '1600 x 500, one single-energy view (a legacy export)' },
};

interface StationPlan {
  name: string;
  format: ScannerInputFormat | 'dicom-fixtures';
  size: SizeClass;
  kind: 'container' | 'truck';
}

/**
 * Sixteen stations, one scanner each. Ordered so that the first N of them (BENCH_LOAD_STATIONS) still mix formats
 * and sizes; odd positions (1st, 3rd, ...) receive their results by webhook, even ones pull them.
 */
const STATION_PLAN: StationPlan[] = [
  { name: 'Port lane 1', format: 'raw:aurora-ax6', size: 'L', kind: 'container' },
  { name: 'Road lane 1', format: 'dicos', size: 'M', kind: 'truck' },
  { name: 'Van lane 1', format: 'tiff-json', size: 'S', kind: 'truck' },
  { name: 'DICOM gateway 1', format: 'dicom-fixtures', size: 'D', kind: 'truck' },
  { name: 'Portal 1', format: 'raw:borealis-de', size: 'M2', kind: 'truck' },
  { name: 'Legacy PNG', format: 'png16', size: 'I', kind: 'container' },
  { name: 'Portal 2', format: 'tiff-xml', size: 'M2', kind: 'truck' },
  { name: 'Legacy JPEG', format: 'jpeg', size: 'I', kind: 'truck' },
  { name: 'Port lane 2', format: 'raw:aurora-ax6', size: 'L', kind: 'container' },
  { name: 'Road lane 2', format: 'dicos', size: 'M', kind: 'container' },
  { name: 'Port lane 3', format: 'tiff-json', size: 'L', kind: 'container' },
  { name: 'DICOM gateway 2', format: 'dicom-fixtures', size: 'D', kind: 'truck' },
  { name: 'Road lane 3', format: 'raw:borealis-de', size: 'M', kind: 'truck' },
  { name: 'Van lane 2', format: 'dicos', size: 'S', kind: 'truck' },
  { name: 'Portal 3', format: 'raw:aurora-ax6', size: 'M2', kind: 'container' },
  { name: 'Van lane 3', format: 'tiff-json', size: 'S', kind: 'truck' },
];

/** The fixtures that convert (golden.json has no error for them); the corrupt ones are the ingest benchmark's. */
function goodDicomFixtures(): string[] {
  const golden = JSON.parse(readFileSync(path.join(DICOM_FIXTURES, 'golden.json'), 'utf8')) as Record<string, { error?: string }>;
  return Object.keys(golden)
    .filter((name) => !golden[name].error)
    .sort();
}

interface Upload {
  files: { name: string; path: string; size: number }[];
  /** Copies made for this upload only, removed once it is sent. */
  temporary: string[];
  metadata: Record<string, unknown>;
  /** Size class actually sent (a fixture station that has sent every fixture goes on with small DICOS). */
  size: SizeClass;
}

/** One file of a station's template scan, on disk, with the bytes an upload may change kept in memory. */
interface TemplateFile {
  name: string;
  path: string;
  size: number;
  /** The first bytes (headers); a variant rewrites them. */
  head: Buffer;
  /** The last bytes (a PNG's comment chunk and IEND). */
  tail: Buffer;
}

/** The implementation class UID niix's DICOS writer puts in every file: kept as it is. */
const NIIX_IMPLEMENTATION_UID = '2.25.160964839637931003212470587916458470245';
/** Bytes of a file's start and end kept per template file: every header a variant changes fits. */
const HEAD_BYTES = 4096;
const TAIL_BYTES = 256;
/** The fixed-length comment a PNG or JPEG template carries, rewritten per upload. */
const COMMENT_LENGTH = 64;

/**
 * What one station sends. The scan is generated and written once, before the service starts, into files on disk;
 * an upload is a copy of them (a kernel copy, no pixels through JavaScript) whose header bytes are rewritten so
 * that no two uploads are alike: a new acquisition time in a raw header or a sidecar, new UIDs and acquisition time
 * in DICOS, a new comment in a PNG or JPEG. The upload then streams from disk, as a station sends its files.
 */
class StationSource {
  private templates: TemplateFile[] = [];
  private fixtures: string[] = [];
  private fallback?: StationSource;
  private templateAcquiredAt = '';
  private metadataBase: Record<string, unknown> = {};
  private profile?: RawProfile;
  bytes = 0;

  constructor(
    readonly plan: StationPlan,
    readonly index: number,
    private readonly rng: Prng,
    private readonly dir: string,
  ) {}

  async prepare(seed: number): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    if (this.plan.format === 'dicom-fixtures') {
      // each fixture once per station (a repeat would be a duplicate), in a seeded order
      const names = goodDicomFixtures();
      for (let i = names.length - 1; i > 0; i--) {
        const j = this.rng.int(0, i);
        [names[i], names[j]] = [names[j], names[i]];
      }
      this.fixtures = names;
      this.bytes = names.reduce((sum, name) => sum + statSync(path.join(DICOM_FIXTURES, name)).size, 0) / names.length;
      this.fallback = new StationSource({ ...this.plan, format: 'dicos', size: 'S' }, this.index, this.rng, path.join(this.dir, 'fallback'));
      await this.fallback.prepare(seed + 1);
      return;
    }
    const size = SIZES[this.plan.size as Exclude<SizeClass, 'D'>];
    const scan = generateScan({ seed, kind: this.plan.kind, width: size.width, height: size.height, views: size.views, dualEnergy: size.dual, concealed: this.rng.int(0, 2) });
    let files = await writeScannerInput(this.plan.format as ScannerInputFormat, scan);
    const placeholder = '-'.repeat(COMMENT_LENGTH);
    if (this.plan.format === 'png16') files = files.map((file) => ({ name: file.name, data: withPngComment(file.data, placeholder) }));
    if (this.plan.format === 'jpeg') files = files.map((file) => ({ name: file.name, data: withJpegComment(file.data, placeholder) }));
    this.templates = files.map((file) => {
      const target = path.join(this.dir, file.name);
      writeFileSync(target, file.data);
      return {
        name: file.name,
        path: target,
        size: file.data.length,
        head: Buffer.from(file.data.subarray(0, HEAD_BYTES)),
        tail: Buffer.from(file.data.subarray(Math.max(0, file.data.length - TAIL_BYTES))),
      };
    });
    this.bytes = files.reduce((sum, file) => sum + file.data.length, 0);
    this.templateAcquiredAt = scan.acquiredAt;
    if (this.plan.format.startsWith('raw:')) {
      const id = this.plan.format.slice('raw:'.length);
      this.profile = loadProfiles([BUILT_IN_PROFILE_DIR]).find((candidate) => candidate.id === id)!;
    }
    const { containers, licencePlates, declarations, declaredGoods, riskScore } = scan.metadata;
    this.metadataBase = {
      ...(containers.length ? { containers } : {}),
      licencePlates,
      declarations,
      declaredGoods: declaredGoods.slice(0, 200),
      riskScore: Math.round(riskScore * 100),
    };
  }

  /** The `seq`-th upload of this station, acquired at `at`. */
  async next(seq: number, at: Date, reference: string): Promise<Upload> {
    if (this.plan.format === 'dicom-fixtures') {
      const name = this.fixtures[seq];
      if (!name) return this.fallback!.next(seq - this.fixtures.length, at, reference);
      const file = path.join(DICOM_FIXTURES, name);
      return { files: [{ name, path: file, size: statSync(file).size }], temporary: [], metadata: { reference, riskScore: this.rng.int(5, 60) }, size: 'D' };
    }
    const metadata = { ...this.metadataBase, reference };
    const uids = new Map<string, string>(); // one study: a UID shared by two files gets one replacement
    const upload: Upload = { files: [], temporary: [], metadata, size: this.plan.size };
    for (const template of this.templates) {
      if (/\.(json|xml)$/.test(template.name)) {
        // the sidecar: rewritten whole (it is small); the TIFF planes it names go unchanged
        const text = readFileSync(template.path, 'utf8');
        if (!text.includes(this.templateAcquiredAt)) throw new Error(`the sidecar ${template.name} does not hold ${this.templateAcquiredAt}`);
        const target = path.join(this.dir, `${seq}-${template.name}`);
        const data = Buffer.from(text.replace(this.templateAcquiredAt, at.toISOString()));
        await writeFile(target, data);
        upload.files.push({ name: template.name, path: target, size: data.length });
        upload.temporary.push(target);
        continue;
      }
      if (this.plan.format.startsWith('tiff-')) {
        upload.files.push({ name: template.name, path: template.path, size: template.size });
        continue;
      }
      const target = path.join(this.dir, `${seq}-${template.name}`);
      await copyFile(template.path, target);
      upload.temporary.push(target);
      const handle = await open(target, 'r+');
      try {
        if (this.plan.format === 'png16') {
          const tail = withPngCommentText(template.tail, comment(reference, at));
          await handle.write(tail, 0, tail.length, template.size - tail.length);
        } else {
          const head = Buffer.from(template.head);
          if (this.profile) writeField(head, this.profile.timestamp!, this.profile.endianness, Math.floor(at.getTime() / 1000));
          else if (this.plan.format === 'dicos') patchDicosHead(head, at, uids, this.rng);
          else if (this.plan.format === 'jpeg') head.write(comment(reference, at), 6, 'latin1');
          else throw new Error(`no variant for ${this.plan.format}`);
          await handle.write(head, 0, head.length, 0);
        }
      } finally {
        await handle.close();
      }
      upload.files.push({ name: template.name, path: target, size: template.size });
    }
    return upload;
  }
}

function comment(reference: string, at: Date): string {
  return `${reference} ${at.toISOString()}`.slice(0, COMMENT_LENGTH).padEnd(COMMENT_LENGTH, ' ');
}

/** The PNG with a tEXt chunk (keyword Comment) before its IEND. */
function withPngComment(png: Buffer, text: string): Buffer {
  const iend = png.length - 12;
  if (png.toString('latin1', iend + 4, iend + 8) !== 'IEND') throw new Error('the PNG does not end with IEND');
  const payload = Buffer.from(`tEXtComment\0${text}`, 'latin1');
  const chunk = Buffer.alloc(8 + payload.length);
  chunk.writeUInt32BE(payload.length - 4, 0);
  payload.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(payload), 4 + payload.length);
  return Buffer.concat([png.subarray(0, iend), chunk, png.subarray(iend)]);
}

/** The tail of a PNG made by withPngComment, with another comment of the same length (and its CRC). */
function withPngCommentText(tail: Buffer, text: string): Buffer {
  const patched = Buffer.from(tail);
  const start = patched.lastIndexOf('tEXtComment\0', undefined, 'latin1');
  if (start < 0) throw new Error('the PNG template has no comment chunk');
  const textAt = start + 'tEXtComment\0'.length;
  patched.write(text, textAt, 'latin1');
  patched.writeUInt32BE(crc32(patched.subarray(start, textAt + text.length)), textAt + text.length);
  return patched;
}

/** The JPEG with a COM segment right after its SOI. */
function withJpegComment(jpeg: Buffer, text: string): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const body = Buffer.from(text, 'latin1');
  const segment = Buffer.alloc(4 + body.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(body.length + 2, 2);
  body.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/**
 * A DICOS file's header (the bytes before its Pixel Data) with new UIDs of the same lengths, the same replacement
 * for a UID shared by the files of one scan, and the acquisition date-time moved to `at` in its own offset.
 */
function patchDicosHead(head: Buffer, at: Date, uids: Map<string, string>, rng: Prng): void {
  const pixelData = head.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  const end = pixelData < 0 ? head.length : pixelData;
  const text = head.toString('latin1', 0, end);
  for (const match of text.matchAll(/2\.25\.\d{6,}/g)) {
    const old = match[0];
    if (old === NIIX_IMPLEMENTATION_UID) continue;
    if (!uids.has(old)) {
      let fresh = '2.25.';
      fresh += String(rng.int(1, 9));
      while (fresh.length < old.length) fresh += String(rng.int(0, 9));
      uids.set(old, fresh);
    }
    head.write(uids.get(old)!, match.index, 'latin1');
  }
  const when = /(\d{14})([+-])(\d{2})(\d{2})/.exec(text);
  if (when) {
    const offsetMs = (when[2] === '-' ? -1 : 1) * (Number(when[3]) * 60 + Number(when[4])) * 60_000;
    const local = new Date(at.getTime() + offsetMs).toISOString();
    head.write(`${local.slice(0, 4)}${local.slice(5, 7)}${local.slice(8, 10)}${local.slice(11, 13)}${local.slice(14, 16)}${local.slice(17, 19)}`, when.index, 'latin1');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP with error accounting

/** Every answer that was not the one expected, and every request that got no answer, by what was asked. */
class ErrorLog {
  readonly counts = new Map<string, number>();
  readonly samples: string[] = [];

  add(what: string, detail: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
    if (this.samples.length < 20) this.samples.push(`${new Date().toISOString()} ${what}: ${detail}`);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }
}

interface Answer {
  status: number;
  text: string;
  ms: number;
}

async function request(
  errors: ErrorLog,
  what: string,
  expected: number[],
  url: string,
  init: { method?: string; token?: string; json?: unknown; form?: FormData; headers?: Record<string, string>; binary?: boolean },
): Promise<Answer | undefined> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.form ?? (init.json !== undefined ? JSON.stringify(init.json) : undefined),
    });
    let text = '';
    if (init.binary && response.ok) await response.arrayBuffer();
    else text = await response.text();
    const answer = { status: response.status, text, ms: performance.now() - started };
    if (!expected.includes(response.status)) errors.add(what, `${response.status} ${text.slice(0, 300)}`);
    return answer;
  } catch (error) {
    errors.add(what, `no answer: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function parse<T>(answer: Answer): T {
  return JSON.parse(answer.text) as T;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

// ---------------------------------------------------------------------------------------------------------------
// Processes: CPU and memory from /proc

const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  } catch {
    return 100;
  }
})();
const PAGE_BYTES = (() => {
  try {
    return Number(execSync('getconf PAGESIZE').toString().trim()) || 4096;
  } catch {
    return 4096;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, seconds */
  own: number;
  /** cutime + cstime: children waited for, seconds */
  children: number;
  rss: number;
}

function readStat(pid: number, file = `/proc/${pid}/stat`): ProcStat | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      ppid: Number(fields[1]),
      own: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      children: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
      rss: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return undefined; // gone
  }
}

function peakOf(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The whole machine's CPU time, busy and in all, in seconds (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = values[3] + values[4];
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

interface Sample {
  at: number;
  /** CPU seconds of the service and every process below it, waited-for children included. */
  serviceCpu: number;
  /** CPU seconds of the service's main thread: its JavaScript event loop. */
  mainThreadCpu: number;
  serviceRss: number;
  processes: number;
  machineBusy: number;
  benchCpu: number;
  postgresCpu: number;
}

/**
 * Samples the service process and its descendants (conversion processes, if the service runs any) once a second:
 * CPU time (utime + stime, plus the children it has waited for, so a process that ended still counts), the sum of
 * their resident sizes, and each one's peak (VmHWM). Also the PostgreSQL backends that serve the service's
 * database (by pid from pg_stat_activity), the benchmark process itself and the whole machine, so a reader can tell
 * the service's share from everyone else's on a shared machine.
 */
class ProcessMonitor {
  readonly samples: Sample[] = [];
  private timer?: NodeJS.Timeout;
  private readonly peaks = new Map<number, number>();
  private readonly postgresSeen = new Map<number, { first: number; last: number }>();
  private postgresPids: number[] = [];
  private postgresClient?: pg.Client;
  private polling = false;
  private ticks = 0;
  private stopped = false;

  constructor(
    private readonly rootPid: number,
    private readonly databaseUrl: string,
  ) {}

  async start(): Promise<void> {
    this.postgresClient = new pg.Client({ connectionString: this.databaseUrl });
    await this.postgresClient.connect();
    await this.refreshPostgres();
    this.sample();
    this.timer = setInterval(() => {
      this.sample();
      if (++this.ticks % 5 === 0) void this.refreshPostgres();
    }, SAMPLE_MS);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.sample();
    await this.postgresClient?.end();
  }

  /** Largest VmHWM of the service process itself, and of any process below it. */
  peakRss(): { service: number; children: number } {
    let children = 0;
    for (const [pid, peak] of this.peaks) if (pid !== this.rootPid) children = Math.max(children, peak);
    return { service: this.peaks.get(this.rootPid) ?? 0, children };
  }

  /** CPU seconds of PostgreSQL backends of the service's database since the first sample that saw each. */
  postgresCpu(): number {
    let sum = 0;
    for (const { first, last } of this.postgresSeen.values()) sum += last - first;
    return sum;
  }

  private async refreshPostgres(): Promise<void> {
    if (this.polling || !this.postgresClient) return;
    this.polling = true;
    try {
      const own = (await this.postgresClient.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
      const { rows } = await this.postgresClient.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> $1', [own]);
      this.postgresPids = rows.map((row) => row.pid);
    } catch {
      // the database is going away at the end
    } finally {
      this.polling = false;
    }
  }

  private sample(): void {
    const stats = new Map<number, ProcStat>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (stat) stats.set(stat.pid, stat);
    }
    const root = stats.get(this.rootPid);
    if (!root) return; // the service has exited
    const tree = [root];
    for (let i = 0; i < tree.length; i++) {
      for (const stat of stats.values()) if (stat.ppid === tree[i].pid) tree.push(stat);
    }
    let serviceCpu = 0;
    let serviceRss = 0;
    for (const stat of tree) {
      serviceCpu += stat.own + stat.children;
      serviceRss += stat.rss;
      this.peaks.set(stat.pid, Math.max(this.peaks.get(stat.pid) ?? 0, peakOf(stat.pid)));
    }
    for (const pid of this.postgresPids) {
      const stat = stats.get(pid);
      if (!stat) continue;
      const seen = this.postgresSeen.get(pid);
      if (seen) seen.last = stat.own;
      else this.postgresSeen.set(pid, { first: stat.own, last: stat.own });
    }
    const bench = process.cpuUsage();
    const mainThread = readStat(this.rootPid, `/proc/${this.rootPid}/task/${this.rootPid}/stat`);
    this.samples.push({
      at: Date.now(),
      serviceCpu,
      mainThreadCpu: mainThread?.own ?? Number.NaN,
      serviceRss,
      processes: tree.length,
      machineBusy: machineCpu().busy,
      benchCpu: (bench.user + bench.system) / 1e6,
      postgresCpu: this.postgresCpu(),
    });
  }
}

/** New lines of the service's output since the last look (output() keeps its last 200 lines). */
class ServiceLog {
  private seen: string[] = [];
  readonly levels = new Map<string, number>();
  readonly samples: string[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly service: ServiceProcess) {}

  start(): void {
    this.timer = setInterval(() => this.read(), 500);
  }

  stop(): void {
    clearInterval(this.timer);
    this.read();
  }

  private read(): void {
    const lines = this.service.output().split('\n').filter((line) => line.length > 0);
    let overlap = Math.min(this.seen.length, lines.length);
    while (overlap > 0 && !this.seen.slice(this.seen.length - overlap).every((line, i) => line === lines[i])) overlap--;
    for (const line of lines.slice(overlap)) {
      const level = /"level":"(\w+)"/.exec(line)?.[1] ?? (line.startsWith('! ') ? 'stderr' : 'other');
      this.levels.set(level, (this.levels.get(level) ?? 0) + 1);
      if (this.samples.length < 30) this.samples.push(line.slice(0, 500));
    }
    this.seen = lines;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The run

interface ScanRecord {
  id: string;
  station: number;
  size: SizeClass;
  bytes: number;
  /** Wall-clock ms (Date.now()), client side unless said otherwise. */
  uploadStart?: number;
  ack?: number;
  /** Server side, read at the end. */
  receivedAt?: number;
  convertingAt?: number;
  queuedAt?: number;
  status?: string;
  claims: { at: number; stage: string }[];
  /** The final verdict: when it was sent and when it was answered. */
  verdictSent?: number;
  verdictDone?: number;
  /** Claim of the final verdict. */
  finalClaim?: number;
  decision?: string;
  /** The analyst's workstation had every first-paint tile. */
  openMs?: number;
  /** Time this process took to make the upload's files (not part of any figure). */
  preparedMs?: number;
  delivered?: number;
  deliveredBy?: 'webhook' | 'pull';
  resultKind?: string;
  resultDecision?: string;
  deliveries: number;
}

/** Request → answer times in ms, by call (successful answers only). */
interface RequestTimes {
  claim: number[];
  emptyClaim: number[];
  heartbeat: number[];
  verdict: number[];
  tile: number[];
  pull: number[];
}

interface StationState {
  plan: StationPlan;
  index: number;
  id: string;
  apiKey: string;
  webhookSecret: string;
  delivery: 'webhook' | 'pull';
  source: StationSource;
  uploads: number;
}

export interface LoadFigures {
  options: LoadOptions;
  convertConcurrency: string;
  stations: { name: string; format: string; size: SizeClass; delivery: string; mbPerUpload: number; uploads: number }[];
  loadMs: number;
  drainMs: number;
  drained: boolean;
  uploaded: number;
  convertedInLoad: number;
  decidedInLoad: number;
  uploadedInLoad: number;
  decided: number;
  delivered: number;
  failedScans: number;
  undelivered: number;
  duplicateDeliveries: number;
  latency: Record<
    | 'ack'
    | 'uploadToQueued'
    | 'waitForConverter'
    | 'converting'
    | 'queueWait'
    | 'system'
    | 'analyst'
    | 'uploadToDecision'
    | 'webhook'
    | 'pull'
    | 'uploadToStation'
    | 'open',
    Spread
  >;
  bySize: { size: SizeClass; scans: number; mbPerUpload: number; uploadToQueued: Spread; converting: Spread }[];
  peakConversionBacklog: number;
  peakPoolDepth: number;
  cpu: {
    serviceSeconds: number;
    serviceCores: number;
    serviceWindowPeak: number;
    mainThreadCores: number;
    mainThreadWindowPeak: number;
    postgresSeconds: number;
    benchSeconds: number;
    machineCores: number;
    cores: number;
  };
  /** Event-loop delay of this benchmark process (ms): when it is large, the benchmark's own timings are late. */
  benchLoopDelay: { p99: number; max: number };
  memory: { servicePeakMb: number; childPeakMb: number; treeSampledPeakMb: number; maxProcesses: number };
  storageMb: number;
  errors: { total: number; byWhat: Record<string, number>; samples: string[] };
  serviceLog: { levels: Record<string, number>; samples: string[] };
  claims: { empty: number; made: number; heartbeats: number; lapsed: number; overtaken: number };
  tiles: number;
  /** Request → answer of the analysts' and stations' calls under load, in ms. */
  requests: Record<keyof RequestTimes, Spread>;
  /** GET /health/live timed once a second, in ms. */
  liveness: Spread & { overOneSecond: number };
}

export interface LoadResult {
  figures: LoadFigures;
  section: string;
  /** Why the run does not pass (errors, failed or undelivered scans, a drain past its bound); empty when it does. */
  failures: string[];
}

function dirBytes(dir: string): number {
  let sum = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) sum += dirBytes(file);
    else if (entry.isFile()) sum += statSync(file).size;
  }
  return sum;
}

/** Deep Zoom geometry of a descriptor. */
function parseDzi(xml: string): { tileSize: number; format: string; width: number; height: number } | undefined {
  const attr = (name: string) => new RegExp(`${name}="([^"]+)"`).exec(xml)?.[1];
  const tileSize = Number(attr('TileSize'));
  const width = Number(attr('Width'));
  const height = Number(attr('Height'));
  if (!tileSize || !width || !height) return undefined;
  return { tileSize, format: attr('Format') ?? 'jpeg', width, height };
}

/** The tiles of the coarsest level at least PANE_WIDTH wide (or the full size): what a fitted first paint needs. */
function firstPaintTiles(dzi: { tileSize: number; width: number; height: number }): { level: number; cols: number; rows: number } {
  const max = Math.ceil(Math.log2(Math.max(dzi.width, dzi.height)));
  let level = max;
  while (level > 0 && Math.ceil(dzi.width / 2 ** (max - level + 1)) >= PANE_WIDTH) level--;
  const scale = 2 ** (max - level);
  return { level, cols: Math.ceil(Math.ceil(dzi.width / scale) / dzi.tileSize), rows: Math.ceil(Math.ceil(dzi.height / scale) / dzi.tileSize) };
}

export async function benchLoad(log: (line: string) => void, options: LoadOptions = loadOptionsFromEnv()): Promise<LoadResult> {
  const sourceDir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-load-stations-'));
  try {
    const master = new Prng(options.seed);
    const plans = STATION_PLAN.slice(0, options.stations);
    log(`load: generating what ${plans.length} stations send`);
    const sources: StationSource[] = [];
    for (const [index, plan] of plans.entries()) {
      const source = new StationSource(plan, index, master.fork(index + 1), path.join(sourceDir, String(index)));
      await source.prepare(options.seed * 100 + index);
      sources.push(source);
    }
    return await runLoad(log, options, master, sources);
  } finally {
    rmSync(sourceDir, { recursive: true, force: true });
  }
}

async function runLoad(log: (line: string) => void, options: LoadOptions, master: Prng, sources: StationSource[]): Promise<LoadResult> {
  await ensureServiceBuilt();
  const database = await createTestPostgres();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-load-'));
  const prefix = `niixbench${randomBytes(3).toString('hex')}`;
  const errors = new ErrorLog();
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  const scans = new Map<string, ScanRecord>();
  const record = (id: string, station: number): ScanRecord => {
    let found = scans.get(id);
    if (!found) {
      found = { id, station, size: 'D', bytes: 0, claims: [], deliveries: 0 };
      scans.set(id, found);
    }
    return found;
  };
  const stations: StationState[] = [];
  const delivered = (station: StationState, body: { scanId: string; kind: string; decision?: string }, by: 'webhook' | 'pull') => {
    const scan = record(body.scanId, station.index);
    scan.deliveries++;
    if (scan.delivered !== undefined) return;
    scan.delivered = Date.now();
    scan.deliveredBy = by;
    scan.resultKind = body.kind;
    scan.resultDecision = body.decision;
    if (body.kind !== 'verdict') errors.add('scan failed', `${body.scanId}: ${JSON.stringify(body).slice(0, 300)}`);
  };

  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const station = stations[Number(/^\/hook\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1)];
      const body = Buffer.concat(chunks).toString('utf8');
      if (!station || !verifyWebhook(station.webhookSecret, body, String(req.headers['x-niix-signature'] ?? ''))) {
        errors.add('webhook signature', `${req.url} ${String(req.headers['x-niix-signature'])}`);
        res.writeHead(401).end();
        return;
      }
      delivered(station, JSON.parse(body) as { scanId: string; kind: string; decision?: string }, 'webhook');
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const cleanUp = async () => {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await database.drop();
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    rmSync(dataDir, { recursive: true, force: true });
  };

  log('load: starting the service (all roles, PostgreSQL, Redis, local storage)');
  let service: ServiceProcess;
  try {
    service = await startServiceProcess({
      DATABASE_URL: database.url,
      REDIS_URL,
      NIIX_REDIS_PREFIX: prefix,
      NIIX_DATA_DIR: dataDir,
      NIIX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NIIX_LOG_LEVEL: 'warn',
      ...(process.env.NIIX_CONVERT_CONCURRENCY ? { NIIX_CONVERT_CONCURRENCY: process.env.NIIX_CONVERT_CONCURRENCY } : {}),
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const api = (route: string) => `${service.url}/api/v1${route}`;
  const monitor = new ProcessMonitor(service.pid, database.url);
  const serviceLog = new ServiceLog(service);
  serviceLog.start();
  let storageBytes = 0;
  try {
    const login = async (username: string, password: string) => {
      const answer = await request(errors, 'login', [200, 201], api('/auth/login'), { method: 'POST', json: { username, password } });
      if (!answer || answer.status >= 300) throw new Error(`login of ${username} failed`);
      return parse<{ token: string }>(answer).token;
    };
    const admin = await login('admin', ADMIN_PASSWORD);
    for (const [index, source] of sources.entries()) {
      const delivery = index % 2 === 0 ? 'webhook' : 'pull';
      const answer = await request(errors, 'create station', [201], api('/stations'), {
        method: 'POST',
        token: admin,
        json: { name: source.plan.name, country: 'EE', vendor: source.plan.format, ...(delivery === 'webhook' ? { callbackUrl: `${hookBase}/${index}` } : {}) },
      });
      if (!answer || answer.status !== 201) throw new Error(`creating station ${source.plan.name} failed`);
      const body = parse<{ id: string; apiKey: string; webhookSecret: string }>(answer);
      stations.push({ plan: source.plan, index, id: body.id, apiKey: body.apiKey, webhookSecret: body.webhookSecret, delivery, source, uploads: 0 });
    }
    const analystTokens: string[] = [];
    for (let i = 0; i < options.analysts; i++) {
      const username = `analyst${String(i + 1).padStart(2, '0')}`;
      await request(errors, 'create user', [201], api('/users'), { method: 'POST', token: admin, json: { username, password: ANALYST_PASSWORD, roles: ['analyst'] } });
      analystTokens.push(await login(username, ANALYST_PASSWORD));
    }

    await monitor.start();
    loopDelay.enable();
    // the benchmark's own stalls, with when they happened, for the trace
    const stalls: { at: number; ms: number }[] = [];
    let tick = Date.now();
    const stallTimer = setInterval(() => {
      const late = Date.now() - tick - 50;
      if (late > 200) stalls.push({ at: tick + 50, ms: late });
      tick = Date.now();
    }, 50);
    const loadStart = Date.now();
    const loadEnd = loadStart + options.minutes * 60_000;
    let finished = false;
    const counters = { empty: 0, made: 0, heartbeats: 0, lapsed: 0, tiles: 0, overtaken: 0 };
    const requestMs: RequestTimes = { claim: [], emptyClaim: [], heartbeat: [], verdict: [], tile: [], pull: [] };
    const probes: { at: number; ms: number }[] = [];
    const probeLoop = async () => {
      while (!finished) {
        const at = Date.now();
        const answer = await request(errors, 'health/live', [200], `${service.url}/health/live`, {});
        if (answer) probes.push({ at, ms: answer.ms });
        await sleep(at + PROBE_MS - Date.now());
      }
    };
    log(
      `load: ${stations.length} stations (a scan every ${options.paceSeconds.join('–')} s each), ${options.analysts} analysts (${options.lookSeconds.join('–')} s a case), ${options.minutes} min`,
    );

    const stationLoop = async (station: StationState) => {
      const rng = master.fork(100 + station.index);
      let due = loadStart + rng.range(0, options.paceSeconds[1]) * 1000;
      for (let seq = 0; due < loadEnd; seq++) {
        await sleep(due - Date.now());
        const reference = `${station.plan.name.toLowerCase().replace(/\W+/g, '-')}/${String(seq + 1).padStart(4, '0')}`;
        const preparing = Date.now();
        const upload = await station.source.next(seq, new Date(), reference);
        const preparedMs = Date.now() - preparing;
        const form = new FormData();
        form.append('metadata', JSON.stringify(upload.metadata));
        // file-backed: the body streams from disk
        for (const file of upload.files) form.append('file', await openAsBlob(file.path), file.name);
        const bytes = upload.files.reduce((sum, file) => sum + file.size, 0);
        const started = Date.now();
        const answer = await request(errors, 'upload', [202], api('/scans'), { method: 'POST', token: station.apiKey, form, headers: { 'idempotency-key': reference.replace('/', '-') } });
        station.uploads++;
        await Promise.all(upload.temporary.map((file) => rm(file, { force: true })));
        if (answer?.status === 202) {
          const scan = record(parse<{ id: string }>(answer).id, station.index);
          Object.assign(scan, { size: upload.size, bytes, uploadStart: started, ack: Date.now(), preparedMs });
        }
        due += rng.range(options.paceSeconds[0], options.paceSeconds[1]) * 1000;
      }
    };

    const pullLoop = async (station: StationState) => {
      let cursor: string | undefined;
      while (!finished) {
        for (;;) {
          const answer = await request(errors, 'pull results', [200], api(`/station/results?limit=100${cursor ? `&after=${cursor}` : ''}`), { token: station.apiKey });
          if (answer?.status !== 200) break;
          requestMs.pull.push(answer.ms);
          const page = parse<{ results: { resultId: string; scanId: string; kind: string; decision?: string }[]; next: string }>(answer);
          for (const result of page.results) {
            delivered(station, result, 'pull');
            await request(errors, 'acknowledge result', [204], api(`/station/results/${result.resultId}/ack`), { method: 'POST', token: station.apiKey });
          }
          cursor = page.next;
          if (page.results.length < 100) break;
        }
        await sleep(PULL_SECONDS * 1000);
      }
    };

    /** What the workstation fetches when a case opens: per view, the 8-bit grey and the 16-bit first-paint tiles. */
    const openCase = async (token: string, scanId: string, manifest: { views?: { id: string; planes?: { energy: string }[] }[] }) => {
      const urls: string[] = [];
      for (const view of manifest.views ?? []) {
        const base = api(`/scans/${scanId}/views/${encodeURIComponent(view.id)}`);
        const energy = view.planes?.some((plane) => plane.energy === 'high') ? 'high' : 'single';
        for (const layer of [`${base}/tiles`, `${base}/planes/${energy}/tiles`]) {
          const answer = await request(errors, 'tiles.dzi', [200], `${layer}.dzi`, { token });
          const dzi = answer?.status === 200 ? parseDzi(answer.text) : undefined;
          if (!dzi) continue;
          const { level, cols, rows } = firstPaintTiles(dzi);
          for (let row = 0; row < rows; row++) for (let col = 0; col < cols; col++) urls.push(`${layer}_files/${level}/${col}_${row}.${dzi.format}`);
        }
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: TILE_FETCHES }, async () => {
          while (next < urls.length) {
            const url = urls[next++];
            const tile = await request(errors, 'tile', [200], url, { token, binary: true });
            if (tile?.status === 200) requestMs.tile.push(tile.ms);
            counters.tiles++;
          }
        }),
      );
    };

    const analystLoop = async (token: string, index: number) => {
      const rng = master.fork(1000 + index);
      await sleep(rng.range(0, IDLE_SECONDS[1]) * 1000);
      while (!finished) {
        const answer = await request(errors, 'claim', [200, 204], api('/worklist/claim'), { method: 'POST', token });
        if (answer?.status !== 200) {
          if (answer?.status === 204) {
            counters.empty++;
            requestMs.emptyClaim.push(answer.ms);
          }
          await sleep(rng.range(IDLE_SECONDS[0], IDLE_SECONDS[1]) * 1000);
          continue;
        }
        counters.made++;
        requestMs.claim.push(answer.ms);
        const claimAt = Date.now();
        const claim = parse<{ claimId: string; lockExpiresAt: string; scan: { id: string; stage: string; stationId: string; manifest: { views?: { id: string; width: number; height: number; planes?: { energy: string }[] }[] } } }>(answer);
        const station = stations.find((candidate) => candidate.id === claim.scan.stationId);
        const scan = record(claim.scan.id, station?.index ?? -1);
        scan.claims.push({ at: claimAt, stage: claim.scan.stage });
        const lookMs = rng.range(options.lookSeconds[0], options.lookSeconds[1]) * 1000;
        let lost = false;
        let verdictSent = false;
        const lockMs = Math.max(3000, Date.parse(claim.lockExpiresAt) - claimAt);
        const heartbeat = setInterval(() => {
          void request(errors, 'heartbeat', [200, 409], api(`/worklist/claims/${claim.claimId}/heartbeat`), { method: 'POST', token }).then((beat) => {
            counters.heartbeats++;
            if (beat?.status === 200) requestMs.heartbeat.push(beat.ms);
            if (beat?.status !== 409) return;
            // a heartbeat sent before the verdict and answered after it finds the case decided: overtaken, not lost
            if (verdictSent) counters.overtaken++;
            else {
              lost = true;
              errors.add('heartbeat', `409 ${beat.text.slice(0, 300)}`);
            }
          });
        }, Math.max(1000, Math.floor(lockMs / 3)));
        try {
          if (options.images) {
            await openCase(token, claim.scan.id, claim.scan.manifest);
            if (scan.openMs === undefined) scan.openMs = Date.now() - claimAt;
          }
          await sleep(claimAt + lookMs - Date.now());
        } finally {
          clearInterval(heartbeat);
        }
        if (lost) {
          counters.lapsed++;
          continue;
        }
        const roll = rng.next();
        const decision = roll < 0.85 ? 'clear' : roll < 0.97 ? 'inspect' : 'inconclusive';
        const view = claim.scan.manifest.views?.[0];
        const regions =
          decision === 'inspect' && view
            ? [
                (() => {
                  const width = Math.max(1, Math.floor(view.width * rng.range(0.05, 0.3)));
                  const height = Math.max(1, Math.floor(view.height * rng.range(0.05, 0.3)));
                  return { view: view.id, x: rng.int(0, view.width - width), y: rng.int(0, view.height - height), width, height, category: rng.pick(THREAT_CATEGORIES), note: '' };
                })(),
              ]
            : [];
        const sent = Date.now();
        verdictSent = true;
        const verdict = await request(errors, 'verdict', [201], api(`/scans/${claim.scan.id}/verdict`), {
          method: 'POST',
          token,
          json: { claimId: claim.claimId, decision, regions, comment: decision === 'clear' ? '' : 'bench' },
        });
        if (verdict?.status === 201) requestMs.verdict.push(verdict.ms);
        if (verdict?.status === 201 && parse<{ final: boolean }>(verdict).final) {
          Object.assign(scan, { verdictSent: sent, verdictDone: Date.now(), finalClaim: claimAt, decision });
        }
      }
    };

    const progress = setInterval(() => {
      const all = [...scans.values()].filter((scan) => scan.uploadStart !== undefined);
      const last = monitor.samples[monitor.samples.length - 1];
      log(
        `load: ${Math.round((Date.now() - loadStart) / 1000)} s: ${all.length} uploaded, ${all.filter((s) => s.claims.length).length} claimed, ${all.filter((s) => s.verdictDone).length} decided, ${all.filter((s) => s.delivered).length} at their station; errors ${errors.total}; service RSS ${Math.round((last?.serviceRss ?? 0) / 1024 ** 2)} MB`,
      );
    }, 30_000);

    const uploading = Promise.all(stations.map(stationLoop));
    const others = Promise.all([...stations.filter((s) => s.delivery === 'pull').map(pullLoop), ...analystTokens.map(analystLoop), probeLoop()]);
    await uploading;
    const drainStart = Date.now();
    log(`load: uploads stopped after ${((drainStart - loadStart) / 60_000).toFixed(1)} min; draining (at most ${options.drainMinutes} min)`);
    const drainDeadline = drainStart + options.drainMinutes * 60_000;
    const uploaded = () => [...scans.values()].filter((scan) => scan.uploadStart !== undefined);
    let drained = false;
    while (Date.now() < drainDeadline) {
      if (uploaded().every((scan) => scan.delivered !== undefined)) {
        drained = true;
        break;
      }
      await sleep(500);
    }
    const drainEnd = Date.now();
    finished = true;
    loopDelay.disable();
    clearInterval(stallTimer);
    clearInterval(progress);
    await monitor.stop();
    await others;

    log('load: reading every scan back');
    for (const scan of uploaded()) {
      const station = stations[scan.station];
      const answer = await request(errors, 'scan status', [200], api(`/scans/${scan.id}`), { token: station.apiKey });
      if (answer?.status !== 200) continue;
      const body = parse<{ status: string; receivedAt: string; convertingAt: string | null; queuedAt: string | null }>(answer);
      scan.status = body.status;
      scan.receivedAt = Date.parse(body.receivedAt);
      scan.convertingAt = body.convertingAt ? Date.parse(body.convertingAt) : undefined;
      scan.queuedAt = body.queuedAt ? Date.parse(body.queuedAt) : undefined;
      if (body.status === 'failed') errors.add('scan failed', `${scan.id} (${stations[scan.station].plan.name})`);
    }
    for (const scan of uploaded()) {
      if (scan.resultDecision !== undefined && scan.decision !== undefined && scan.resultDecision !== scan.decision) {
        errors.add('result differs from the verdict', `${scan.id}: verdict ${scan.decision}, result ${scan.resultDecision}`);
      }
    }
    serviceLog.stop();
    storageBytes = dirBytes(dataDir);

    const figures = summarise({
      options,
      stations,
      scans: uploaded(),
      loadStart,
      loadEnd: drainStart,
      drainEnd,
      drained,
      monitor,
      errors,
      serviceLog,
      counters,
      storageBytes,
      probes,
      requestMs,
      loopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    });
    if (process.env.BENCH_LOAD_TRACE) {
      writeFileSync(
        process.env.BENCH_LOAD_TRACE,
        JSON.stringify({ loadStart, drainStart, drainEnd, stations: figures.stations, scans: uploaded(), samples: monitor.samples, probes, stalls, errors: errors.samples, serviceLog: serviceLog.samples }, null, 1),
      );
      log(`load: wrote the trace to ${process.env.BENCH_LOAD_TRACE}`);
    }
    const failures: string[] = [];
    if (!drained) failures.push(`the drain did not finish within ${options.drainMinutes} min: ${figures.undelivered} scans had no result at their station`);
    if (figures.errors.total) failures.push(`${figures.errors.total} errors: ${JSON.stringify(figures.errors.byWhat)}`);
    if (figures.failedScans) failures.push(`${figures.failedScans} scans failed`);
    return { figures, section: loadSection(figures), failures };
  } finally {
    serviceLog.stop();
    await monitor.stop().catch(() => undefined);
    await service.stop();
    await cleanUp();
  }
}

function summarise(run: {
  options: LoadOptions;
  stations: StationState[];
  scans: ScanRecord[];
  loadStart: number;
  loadEnd: number;
  drainEnd: number;
  drained: boolean;
  monitor: ProcessMonitor;
  errors: ErrorLog;
  serviceLog: ServiceLog;
  counters: { empty: number; made: number; heartbeats: number; lapsed: number; tiles: number; overtaken: number };
  storageBytes: number;
  probes: { at: number; ms: number }[];
  requestMs: RequestTimes;
  loopDelay: { p99: number; max: number };
}): LoadFigures {
  const { scans, loadStart, loadEnd, drainEnd, monitor } = run;
  const between = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? [b - a] : []);
  const of = (pick: (scan: ScanRecord) => number[], subset = scans) => spread(subset.flatMap(pick));
  const firstClaim = (scan: ScanRecord) => scan.claims[0]?.at;
  const inLoad = (at: number | undefined) => at !== undefined && at >= loadStart && at < loadEnd;
  const sizes = [...new Set(scans.map((scan) => scan.size))].sort((a, b) => 'LMM2SID'.indexOf(a) - 'LMM2SID'.indexOf(b));

  const samples = monitor.samples;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const wallSeconds = (last.at - first.at) / 1000;
  const windowPeak = (cpu: (sample: Sample) => number) => {
    let peak = 0;
    for (let i = 0, j = 0; i < samples.length; i++) {
      while (samples[i].at - samples[j].at > CPU_WINDOW_MS) j++;
      const span = (samples[i].at - samples[j].at) / 1000;
      if (span >= CPU_WINDOW_MS / 2000) peak = Math.max(peak, (cpu(samples[i]) - cpu(samples[j])) / span);
    }
    return peak;
  };
  const peaks = monitor.peakRss();
  const mb = (bytes: number) => bytes / 1024 ** 2;

  return {
    options: run.options,
    convertConcurrency: process.env.NIIX_CONVERT_CONCURRENCY ?? '1 (default)',
    stations: run.stations.map((station) => ({
      name: station.plan.name,
      format: station.plan.format,
      size: station.plan.size,
      delivery: station.delivery,
      mbPerUpload: mb(station.source.bytes),
      uploads: station.uploads,
    })),
    loadMs: loadEnd - loadStart,
    drainMs: drainEnd - loadEnd,
    drained: run.drained,
    uploaded: scans.length,
    uploadedInLoad: scans.filter((scan) => inLoad(scan.uploadStart)).length,
    convertedInLoad: scans.filter((scan) => inLoad(scan.queuedAt)).length,
    decidedInLoad: scans.filter((scan) => inLoad(scan.verdictDone)).length,
    decided: scans.filter((scan) => scan.verdictDone !== undefined).length,
    delivered: scans.filter((scan) => scan.delivered !== undefined).length,
    failedScans: scans.filter((scan) => scan.status === 'failed' || (scan.resultKind !== undefined && scan.resultKind !== 'verdict')).length,
    undelivered: scans.filter((scan) => scan.delivered === undefined).length,
    duplicateDeliveries: scans.reduce((sum, scan) => sum + Math.max(0, scan.deliveries - 1), 0),
    latency: {
      ack: of((s) => between(s.uploadStart, s.ack)),
      uploadToQueued: of((s) => between(s.uploadStart, s.queuedAt)),
      waitForConverter: of((s) => between(s.receivedAt, s.convertingAt)),
      converting: of((s) => between(s.convertingAt, s.queuedAt)),
      queueWait: of((s) => between(s.queuedAt, firstClaim(s))),
      system: of((s) => between(s.uploadStart, firstClaim(s))),
      analyst: of((s) => between(s.finalClaim, s.verdictDone)),
      uploadToDecision: of((s) => between(s.uploadStart, s.verdictDone)),
      webhook: of((s) => (s.deliveredBy === 'webhook' ? between(s.verdictSent, s.delivered) : [])),
      pull: of((s) => (s.deliveredBy === 'pull' ? between(s.verdictSent, s.delivered) : [])),
      uploadToStation: of((s) => between(s.uploadStart, s.delivered)),
      open: of((s) => (s.openMs !== undefined ? [s.openMs] : [])),
    },
    bySize: sizes.map((size) => {
      const subset = scans.filter((scan) => scan.size === size);
      return {
        size,
        scans: subset.length,
        mbPerUpload: mb(subset.reduce((sum, scan) => sum + scan.bytes, 0) / Math.max(1, subset.length)),
        uploadToQueued: of((s) => between(s.uploadStart, s.queuedAt), subset),
        converting: of((s) => between(s.convertingAt, s.queuedAt), subset),
      };
    }),
    peakConversionBacklog: peakOverlap(
      scans.filter((scan) => scan.uploadStart !== undefined).map((scan) => ({ start: scan.uploadStart!, end: scan.queuedAt })),
      drainEnd,
    ),
    peakPoolDepth: peakOverlap(
      scans.filter((scan) => scan.queuedAt !== undefined).map((scan) => ({ start: scan.queuedAt!, end: firstClaim(scan) })),
      drainEnd,
    ),
    cpu: {
      serviceSeconds: last.serviceCpu - first.serviceCpu,
      serviceCores: (last.serviceCpu - first.serviceCpu) / wallSeconds,
      serviceWindowPeak: windowPeak((sample) => sample.serviceCpu),
      mainThreadCores: (last.mainThreadCpu - first.mainThreadCpu) / wallSeconds,
      mainThreadWindowPeak: windowPeak((sample) => sample.mainThreadCpu),
      postgresSeconds: last.postgresCpu - first.postgresCpu,
      benchSeconds: last.benchCpu - first.benchCpu,
      machineCores: (last.machineBusy - first.machineBusy) / wallSeconds,
      cores: os.cpus().length,
    },
    memory: {
      servicePeakMb: mb(peaks.service),
      childPeakMb: mb(peaks.children),
      treeSampledPeakMb: mb(samples.reduce((peak, sample) => Math.max(peak, sample.serviceRss), 0)),
      maxProcesses: samples.reduce((peak, sample) => Math.max(peak, sample.processes), 0),
    },
    storageMb: mb(run.storageBytes),
    benchLoopDelay: run.loopDelay,
    requests: Object.fromEntries(Object.entries(run.requestMs).map(([what, values]) => [what, spread(values)])) as Record<keyof RequestTimes, Spread>,
    errors: { total: run.errors.total, byWhat: Object.fromEntries(run.errors.counts), samples: run.errors.samples },
    serviceLog: { levels: Object.fromEntries(run.serviceLog.levels), samples: run.serviceLog.samples },
    claims: { empty: run.counters.empty, made: run.counters.made, heartbeats: run.counters.heartbeats, lapsed: run.counters.lapsed, overtaken: run.counters.overtaken },
    tiles: run.counters.tiles,
    liveness: { ...spread(run.probes.map((probe) => probe.ms)), overOneSecond: run.probes.filter((probe) => probe.ms > 1000).length },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The report

const FORMAT_NAMES: Record<StationPlan['format'], string> = {
  'raw:aurora-ax6': 'Aurora AX6 raw (`.axr`)',
  'raw:borealis-de': 'Borealis DE raw (`.bde`)',
  dicos: 'DICOS DX, one file per plane',
  'tiff-json': '16-bit TIFF + JSON sidecar',
  'tiff-xml': '16-bit TIFF + XML sidecar',
  png16: '16-bit PNG',
  jpeg: 'JPEG (8-bit, lossy)',
  'dicom-fixtures': 'real DICOM files (fixtures)',
};

function s(ms: number): string {
  return Number.isNaN(ms) ? '–' : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}

function msRow(what: string, figures: Spread): string {
  const ms = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(value < 100 ? 1 : 0));
  return `| ${what} | ${figures.n} | ${ms(figures.p50)} | ${ms(figures.p95)} | ${ms(figures.max)} |`;
}

function row(what: string, figures: Spread): string {
  return `| ${what} | ${figures.n} | ${s(figures.p50)} | ${s(figures.p95)} | ${s(figures.max)} |`;
}

/** The "## Load" section of docs/benchmarks.md (starts with a newline, as the other inserted sections). */
export function loadSection(figures: LoadFigures, note = ''): string {
  const { options, latency, cpu, memory } = figures;
  const loadMin = figures.loadMs / 60_000;
  const perMin = (count: number) => (count / loadMin).toFixed(1);
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  const mixRows = figures.stations.map(
    (station, i) =>
      `| ${i + 1} | ${station.name} | ${FORMAT_NAMES[station.format as StationPlan['format']]} | ${station.size === 'D' ? `the ${goodDicomFixtures().length} DICOM fixtures that convert (16 x 16 to 1955 x 1841, 1–10 frames), each once, then ${SIZES.S.width} x ${SIZES.S.height} DICOS` : SIZES[station.size].what} | ${station.mbPerUpload.toFixed(station.mbPerUpload < 1 ? 2 : 1)} | ${station.delivery} | ${station.uploads} |`,
  );
  const sizeRows = figures.bySize.map(
    (size) =>
      `| ${size.size === 'D' ? 'DICOM fixtures' : `${SIZES[size.size].width} x ${SIZES[size.size].height}${SIZES[size.size].views.length > 1 ? ' x 2 views' : ''}${SIZES[size.size].dual ? ' dual' : ' single'}`} | ${size.scans} | ${size.mbPerUpload.toFixed(size.mbPerUpload < 1 ? 2 : 1)} | ${s(size.uploadToQueued.p50)} / ${s(size.uploadToQueued.p95)} / ${s(size.uploadToQueued.max)} | ${s(size.converting.p50)} / ${s(size.converting.p95)} / ${s(size.converting.max)} |`,
  );
  const errorList = Object.entries(figures.errors.byWhat)
    .map(([what, count]) => `${what} ${count}`)
    .join(', ');
  const logList = Object.entries(figures.serviceLog.levels)
    .map(([level, count]) => `${level} ${count}`)
    .join(', ');
  return `
## Load
${note ? `${note}\n\n` : ''}bench/load.ts (\`BENCH_ONLY=load\`): the built service as its own process with all roles (api, convert,
deliver; NIIX_CONVERT_CONCURRENCY=${figures.convertConcurrency}), on PostgreSQL (a fresh database), Redis (a private key prefix) and
local object storage; the benchmark process plays every station, analyst and receiver over loopback.

- **Stations**: ${figures.stations.length}, each a scanner of one format sending one scan every ${options.paceSeconds[0]}–${options.paceSeconds[1]} s (uniform,
  first one within the first ${options.paceSeconds[1]} s; ${(((figures.stations.length * 60) / ((options.paceSeconds[0] + options.paceSeconds[1]) / 2))).toFixed(0)} scans a minute expected together) for ${options.minutes} min. Each upload
  carries metadata (reference, containers, plates, declarations, risk) and an Idempotency-Key; it is made distinct
  without re-encoding (a new acquisition time in the raw header or the sidecar, new DICOS UIDs, a comment in the
  PNG or JPEG). Odd-numbered stations get their results by webhook (signature verified), even ones pull them
  every ${PULL_SECONDS} s and acknowledge each.
- **Analysts**: ${options.analysts}, each claiming the next case, opening it as the workstation does${options.images ? ` (per view, \`tiles.dzi\` and every tile of
  the first-paint level, at least ${PANE_WIDTH} px wide, of the 8-bit grey pyramid and of the 16-bit high/single plane, ${TILE_FETCHES} requests at once)` : ''},
  looking at it for ${options.lookSeconds[0]}–${options.lookSeconds[1]} s (uniform) with a heartbeat every third of the claim lock, then deciding: 85 % clear, 12 %
  inspect with one marked region, 3 % inconclusive. An analyst who finds the pool empty tries again after
  ${IDLE_SECONDS[0]}–${IDLE_SECONDS[1]} s. Every random draw comes from seed ${options.seed}.
- **Drain**: after the load phase no station uploads; the run waits (at most ${options.drainMinutes} min) until every uploaded scan
  is decided and its result has reached its station.

| # | station | format | scan | MB per upload | results | uploads |
|---|---|---|---|---|---|---|
${mixRows.join('\n')}

| measure | result | target | |
|---|---|---|---|
| scans uploaded / converted / decided per minute, load phase (${loadMin.toFixed(1)} min) | ${perMin(figures.uploadedInLoad)} / ${perMin(figures.convertedInLoad)} / ${perMin(figures.decidedInLoad)} | | |
| scans uploaded, decided, at their station | ${figures.uploaded}, ${figures.decided}, ${figures.delivered} | all | ${mark(figures.delivered === figures.uploaded && figures.decided === figures.uploaded)} |
| drain: last result at its station after the load phase | ${figures.drained ? `${s(figures.drainMs)} s` : `not within ${options.drainMinutes} min`} | ≤ ${options.drainMinutes} min | ${mark(figures.drained)} |
| most scans at once between upload and \`queued\` / between \`queued\` and a claim | ${figures.peakConversionBacklog} / ${figures.peakPoolDepth} | | |
| errors: answers other than the expected 2xx, requests without an answer, results unlike their verdict | ${figures.errors.total}${errorList ? ` (${errorList})` : ''} | 0 | ${mark(figures.errors.total === 0)} |
| failed scans | ${figures.failedScans} | 0 | ${mark(figures.failedScans === 0)} |
| CPU of the service (process and children), load + drain | ${cpu.serviceSeconds.toFixed(0)} s = ${cpu.serviceCores.toFixed(2)} cores on average, ${cpu.serviceWindowPeak.toFixed(2)} at most over ${CPU_WINDOW_MS / 1000} s | | |
| CPU of the service's main thread (its event loop) | ${cpu.mainThreadCores.toFixed(2)} cores on average, ${cpu.mainThreadWindowPeak.toFixed(2)} at most over ${CPU_WINDOW_MS / 1000} s | | |
| CPU of the rest (PostgreSQL backends of the service's database / this benchmark process / the whole machine) | ${cpu.postgresSeconds.toFixed(1)} s / ${cpu.benchSeconds.toFixed(0)} s / ${cpu.machineCores.toFixed(2)} of ${cpu.cores} cores busy on average | | |
| peak memory (VmHWM) of the service process / of a child process | ${memory.servicePeakMb.toFixed(0)} MB / ${memory.childPeakMb ? `${memory.childPeakMb.toFixed(0)} MB` : 'none ran'} | | |
| peak RSS of the service and its children together (sampled every ${SAMPLE_MS / 1000} s; at most ${memory.maxProcesses} processes) | ${memory.treeSampledPeakMb.toFixed(0)} MB | | |
| object storage at the end | ${(figures.storageMb / 1024).toFixed(1)} GB | | |
| claims made / found the pool empty; heartbeats (of them answered 409 after the verdict had overtaken them); claims lost; tiles fetched | ${figures.claims.made} / ${figures.claims.empty}; ${figures.claims.heartbeats} (${figures.claims.overtaken}); ${figures.claims.lapsed}; ${figures.tiles} | | |
| results delivered twice (a repeat the station ignores) | ${figures.duplicateDeliveries} | | |
| service log lines at warn and above | ${logList || '0'} | | |
| event-loop delay of this benchmark process (its own timings are late by as much): p99 / max | ${figures.benchLoopDelay.p99.toFixed(0)} / ${figures.benchLoopDelay.max.toFixed(0)} ms | | |
| \`GET /health/live\` once a second (${figures.liveness.n} times): p50 / p95 / max; answers over 1 s | ${figures.liveness.p50.toFixed(0)} / ${figures.liveness.p95.toFixed(0)} / ${figures.liveness.max.toFixed(0)} ms; ${figures.liveness.overOneSecond} | | |

Latency in seconds per scan (n scans); system time is upload → claimed, analyst time claim → verdict answered.

| from → to | n | p50 | p95 | max |
|---|---|---|---|---|
${row('upload → 202 answered', latency.ack)}
${row('upload → `queued` (converted)', latency.uploadToQueued)}
${row('&nbsp;&nbsp;of which received → conversion started (waiting for a converter)', latency.waitForConverter)}
${row('&nbsp;&nbsp;of which conversion started → `queued`', latency.converting)}
${row('`queued` → claimed (waiting in the pool)', latency.queueWait)}
${row('**system time**: upload → claimed', latency.system)}
${row('**analyst time**: claim → verdict answered', latency.analyst)}
${row('claim → workstation has its first-paint tiles', latency.open)}
${row('upload → verdict answered', latency.uploadToDecision)}
${row('verdict sent → webhook received', latency.webhook)}
${row(`verdict sent → pulled (every ${PULL_SECONDS} s)`, latency.pull)}
${row('upload → result at its station', latency.uploadToStation)}

Requests under load, request → answer in milliseconds:

| request | n | p50 | p95 | max |
|---|---|---|---|---|
${msRow('POST /worklist/claim, a case (200)', figures.requests.claim)}
${msRow('POST /worklist/claim, pool empty (204)', figures.requests.emptyClaim)}
${msRow('POST /worklist/claims/{id}/heartbeat', figures.requests.heartbeat)}
${msRow('POST /scans/{id}/verdict', figures.requests.verdict)}
${msRow('GET a first-paint tile (8-bit or 16-bit; the first 16-bit tile of a plane builds its pyramid)', figures.requests.tile)}
${msRow('GET /station/results (a pull)', figures.requests.pull)}

By scan size: upload → \`queued\` and conversion started → \`queued\`, p50 / p95 / max in seconds.

| scan | scans | MB per upload | upload → queued | converting |
|---|---|---|---|---|
${sizeRows.join('\n')}

How to read them:
- The per-minute figures count what happened inside the load phase; a scan uploaded near its end is converted and
  decided in the drain. Converted and decided keep up with uploaded only when the service keeps up; the drain time
  says how far behind it was when the stations stopped.
- Server times (received, conversion started, \`queued\`) are the scan's own timestamps, read back at the end; the
  others are taken by this process on the same clock. A convert process runs NIIX_CONVERT_CONCURRENCY conversions
  at once, first come first served: "waiting for a converter" is the queue in front of it.
- Pulled results wait for the station's next pull (every ${PULL_SECONDS} s); webhooks go out as the result is recorded.
- CPU is process time from /proc (utime + stime; the service's children, such as conversion processes, included).
  The whole machine's line shows how much else ran on it: when it is near all cores, every figure above is slower.
- A benchmark process that stalls delays its own timings; its event-loop delay is reported so such a run can be
  told apart from a slow service, and \`GET /health/live\` shows when the service itself answered late.
`;
}
