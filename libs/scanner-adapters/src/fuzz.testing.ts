import { appendFileSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import {
  CHECK_BYTES,
  ConversionError,
  type Conversion,
  type ConversionErrorCode,
  type ConversionLimits,
  type InputFile,
  MAX_CONVERSION_MESSAGE,
  type ScannerAdapter,
  SNIFF_BYTES,
} from './adapter.js';

/**
 * Property-based fuzzing of the scanner adapters with fast-check (test helper, not used by production code).
 *
 * Each case is a set of input files: real fixtures and generated files, mutated (bit flips, byte edits, truncations,
 * insertions, deletions, repeated regions, header fields set to extreme values), or random bytes after a real file's
 * first bytes. For every case: `sniff` returns a verdict without throwing, `check` throws nothing but a
 * ConversionError, and `convert` either converts (every plane width x height 16-bit values within the limits) or
 * rejects with a ConversionError with a known code and a readable message. Never a TypeError, RangeError or other raw
 * error; never longer than CASE_TIMEOUT_MS; never more than CASE_MEMORY_BUDGET of resident memory on top of what the
 * process held when the case began (sampled by a watchdog thread, which also ends the process, naming the case, when
 * a case blocks the event loop for HANG_MS).
 *
 * Sizes: NIIX_FUZZ_RUNS cases per property (default DEFAULT_RUNS, the CI size); NIIX_FUZZ_SEED (default a fixed seed,
 * `random` for a new one each run) and NIIX_FUZZ_PATH replay a failure that fast-check reported.
 */

export const DEFAULT_RUNS = 250;
const DEFAULT_SEED = 20261210;

/** Bound on one case (sniff, check and convert of its files). */
export const CASE_TIMEOUT_MS = 15_000;
/** A case that keeps the event loop busy this long is taken as hung: the watchdog names it and ends the process. */
const HANG_MS = 60_000;
/** Resident memory a single case may add while it runs. */
export const CASE_MEMORY_BUDGET = 256 * 1024 * 1024;
/**
 * Resident memory a whole property may add (a leak grows with the cases): the V8 heap and the wasm codecs' memories
 * (which never shrink) settle well below it.
 */
export const RUN_MEMORY_BUDGET = 512 * 1024 * 1024;

/** Small enough that a bomb stands out; large enough for every real fixture (MR2_J2KR is 1024 x 1024). */
export const FUZZ_LIMITS: ConversionLimits = { maxPixelsPerPlane: 1_100_000, maxPixelsPerScan: 4_400_000 };

const CODES: ConversionErrorCode[] = ['malformed_input', 'unsupported_variant', 'too_many_pixels', 'incomplete_scan'];
/** A ConversionError message is one line for a person, codec errors included. */
const MAX_MESSAGE_LENGTH = MAX_CONVERSION_MESSAGE;

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`NIIX_FUZZ_RUNS: expected a positive integer, not ${text}`);
  return n;
}

/** A seed as fast-check prints it (any 32-bit integer), `random`, or the fixed default. */
function seedFrom(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_SEED;
  if (text === 'random') return Date.now() % 2 ** 31;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`NIIX_FUZZ_SEED: expected an integer or random, not ${text}`);
  return n;
}

/** Runs per property, seed and replay path from the environment. */
export const FUZZ = {
  runs: positiveInteger(process.env.NIIX_FUZZ_RUNS) ?? DEFAULT_RUNS,
  seed: seedFrom(process.env.NIIX_FUZZ_SEED),
  path: process.env.NIIX_FUZZ_PATH || undefined,
  /** A file that gets one line per case (adapter, outcome, time, message, case): to see how deep the cases reach. */
  log: process.env.NIIX_FUZZ_LOG || undefined,
};

/** A jest timeout for a property of FUZZ.runs cases (a generous bound: the cases themselves are bounded). */
export function fuzzTimeout(runs = FUZZ.runs): number {
  return Math.max(120_000, runs * 2_000);
}

// ---------------------------------------------------------------------------------------------------------------
// Cases and mutations

export interface FuzzFile {
  name: string;
  data: Buffer;
}

/** A binary header field that `number` mutations set to extreme values. */
export interface NumericField {
  file: number;
  offset: number;
  size: 1 | 2 | 4 | 8;
  little: boolean;
}

/** A text field (DICOM IS/DS/UI/CS values, tar octal fields, JSON numbers) that `text` mutations rewrite. */
export interface TextField {
  file: number;
  offset: number;
  length: number;
  /** Byte that pads a shorter text in place (DICOM UI: NUL, other DICOM text: space). */
  pad: number;
  /**
   * The length field that counts the text (a DICOM element's value length): a resized text updates it, padded to an
   * even length as DICOM wants, so the edit reaches the code that reads the value rather than breaking the parse.
   */
  lengthField?: NumericField;
}

/** Files to mutate and the fields worth editing in them. */
export interface FuzzBase {
  label: string;
  files: FuzzFile[];
  numeric: NumericField[];
  text: TextField[];
}

type Position = { from: 'start' | 'end' | 'any'; n: number };

export type Mutation =
  | { kind: 'flip'; file: number; at: Position; bit: number }
  | { kind: 'byte'; file: number; at: Position; value: number }
  | { kind: 'truncate'; file: number; at: Position }
  | { kind: 'insert'; file: number; at: Position; bytes: Uint8Array }
  | { kind: 'delete'; file: number; at: Position; count: number }
  | { kind: 'repeat'; file: number; at: Position; count: number; times: number }
  | { kind: 'number'; field: number; value: number }
  | { kind: 'text'; field: number; text: string; resize: boolean };

/** Values that break size arithmetic: zero, one, powers of two and their neighbours, sign bits, all ones. */
const EXTREME_NUMBERS = [
  0, 1, 2, 3, 4, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe,
  0xffff, 0x10000, 0xfffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

/** Texts for numbers, UIDs, code strings and octal sizes. */
const EXTREME_TEXTS = [
  '', ' ', '0', '1', '-1', '2', '3', '8', '10', '12', '16', '64', '65', '1000', '65535', '65536', '99999999', '2147483648',
  '4294967296', '1e308', '1e999', '-1e999', 'NaN', 'Infinity', '1.5', '-0', '0x10', '77777777777', '00000000000',
  '7777777', '1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.5.1.4.1.1.501.1', '1.2.840.10008.5.1.4.1.1.501.3', 'MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL',
  'YBR_FULL_422', 'PALETTE COLOR', 'HIGH', 'LOW', 'TOP', 'SIDE', 'null', 'true', '[]', '{}', '"x"',
];

const position = fc.oneof(
  { weight: 4, arbitrary: fc.record({ from: fc.constant('start' as const), n: fc.nat({ max: 2047 }) }) },
  { weight: 2, arbitrary: fc.record({ from: fc.constant('any' as const), n: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ from: fc.constant('end' as const), n: fc.nat({ max: 1023 }) }) },
);

const fileIndex = fc.nat({ max: 15 });

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), file: fileIndex, at: position, bit: fc.nat({ max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('byte' as const), file: fileIndex, at: position, value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), file: fileIndex, at: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), file: fileIndex, at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), file: fileIndex, at: position, count: fc.integer({ min: 1, max: 256 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('repeat' as const),
      file: fileIndex,
      at: position,
      count: fc.integer({ min: 1, max: 512 }),
      times: fc.integer({ min: 1, max: 64 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('number' as const),
      field: fc.nat(),
      value: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...EXTREME_NUMBERS) }, { weight: 1, arbitrary: fc.nat() }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      field: fc.nat(),
      text: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...EXTREME_TEXTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 24 }) }),
      resize: fc.boolean(),
    }),
  },
);

/** The input files of a golden fixture folder (`expected.json` lists them), in upload order. */
export function fixtureFolderFiles(dir: string): FuzzFile[] {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { inputs: string[] };
  return expected.inputs.map((name) => ({ name, data: readFileSync(join(dir, name)) }));
}

/** A case: which base, and the mutations applied to it in order. */
export interface MutatedCase {
  base: number;
  mutations: Mutation[];
}

export function mutatedCaseArbitrary(bases: FuzzBase[], maxMutations = 3): fc.Arbitrary<MutatedCase> {
  return fc.record({
    base: fc.nat({ max: bases.length - 1 }),
    mutations: fc.array(mutationArbitrary, { minLength: 1, maxLength: maxMutations }),
  });
}

function resolve(at: Position, length: number): number {
  if (at.from === 'start') return Math.min(at.n, length);
  if (at.from === 'end') return Math.max(0, length - at.n);
  return length === 0 ? 0 : at.n % (length + 1);
}

function writeNumber(data: Buffer, field: NumericField, value: number): void {
  if (field.offset + field.size > data.length) return;
  const v = value >>> 0;
  switch (field.size) {
    case 1:
      data.writeUInt8(v & 0xff, field.offset);
      return;
    case 2:
      if (field.little) data.writeUInt16LE(v & 0xffff, field.offset);
      else data.writeUInt16BE(v & 0xffff, field.offset);
      return;
    case 4:
      if (field.little) data.writeUInt32LE(v, field.offset);
      else data.writeUInt32BE(v, field.offset);
      return;
    case 8:
      if (field.little) data.writeBigUInt64LE(BigInt(value), field.offset);
      else data.writeBigUInt64BE(BigInt(value), field.offset);
  }
}

/** Applies the mutations to copies of the base's files. Field offsets refer to the unmutated files. */
export function applyMutations(base: FuzzBase, mutations: Mutation[]): FuzzFile[] {
  const files = base.files.map((f) => ({ name: f.name, data: Buffer.from(f.data) }));
  for (const m of mutations) {
    if (m.kind === 'number') {
      if (base.numeric.length === 0) continue;
      const field = base.numeric[m.field % base.numeric.length];
      writeNumber(files[field.file].data, field, m.value);
      continue;
    }
    if (m.kind === 'text') {
      if (base.text.length === 0) continue;
      const field = base.text[m.field % base.text.length];
      const file = files[field.file];
      if (field.offset + field.length > file.data.length) continue;
      let text = Buffer.from(m.text, 'latin1');
      if (m.resize && field.lengthField) {
        if (text.length % 2) text = Buffer.concat([text, Buffer.from([field.pad])]);
        writeNumber(file.data, field.lengthField, text.length);
      }
      if (m.resize) {
        file.data = Buffer.concat([file.data.subarray(0, field.offset), text, file.data.subarray(field.offset + field.length)]);
      } else {
        const value = Buffer.alloc(field.length, field.pad);
        text.copy(value, 0, 0, Math.min(text.length, field.length));
        value.copy(file.data, field.offset);
      }
      continue;
    }
    const file = files[m.file % files.length];
    const data = file.data;
    const at = resolve(m.at, data.length);
    switch (m.kind) {
      case 'flip':
        if (at < data.length) data[at] ^= 1 << m.bit;
        break;
      case 'byte':
        if (at < data.length) data[at] = m.value;
        break;
      case 'truncate':
        file.data = data.subarray(0, at);
        break;
      case 'insert':
        file.data = Buffer.concat([data.subarray(0, at), m.bytes, data.subarray(at)]);
        break;
      case 'delete':
        file.data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + m.count))]);
        break;
      case 'repeat': {
        const region = data.subarray(at, Math.min(data.length, at + m.count));
        file.data = Buffer.concat([data.subarray(0, at), ...Array.from({ length: m.times + 1 }, () => region), data.subarray(at + region.length)]);
        break;
      }
    }
  }
  return files;
}

/** A case of random bytes: the first `keep` bytes of a base file (its magic, its header) and then random bytes. */
export interface RandomCase {
  base: number;
  file: number;
  keep: number;
  tail: Uint8Array;
}

export function randomCaseArbitrary(bases: FuzzBase[]): fc.Arbitrary<RandomCase> {
  return fc.record({
    base: fc.nat({ max: bases.length - 1 }),
    file: fileIndex,
    keep: fc.oneof(fc.constant(0), fc.nat({ max: 16 }), fc.nat({ max: 1024 })),
    tail: fc.uint8Array({ maxLength: 4096 }),
  });
}

/** The base's files with one of them replaced by its first bytes and random ones. */
export function applyRandom(base: FuzzBase, c: RandomCase): FuzzFile[] {
  const files = base.files.map((f) => ({ ...f }));
  const target = files[c.file % files.length];
  target.data = Buffer.concat([target.data.subarray(0, c.keep), c.tail]);
  return files;
}

// ---------------------------------------------------------------------------------------------------------------
// Running one case

/** Why a case failed the property: what was thrown or returned, in words. */
export class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzFailure';
  }
}

function explain(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack ?? ''}`;
  return `${typeof error}: ${String(error)}`;
}

function assertConversionError(error: unknown, step: string): void {
  if (!(error instanceof ConversionError)) throw new FuzzFailure(`${step} threw something other than a ConversionError: ${explain(error)}`);
  if (!CODES.includes(error.code)) throw new FuzzFailure(`${step} threw a ConversionError with the unknown code ${String(error.code)}`);
  if (typeof error.message !== 'string' || error.message.trim() === '' || error.message.length > MAX_MESSAGE_LENGTH || /[\r\n]/.test(error.message)) {
    throw new FuzzFailure(`${step} threw a ConversionError (${error.code}) without a readable message: ${JSON.stringify(error.message.slice(0, 300))}... (${error.message.length} characters)`);
  }
}

function assertConversion(conversion: Conversion, limits: ConversionLimits): void {
  if (!Array.isArray(conversion.views) || conversion.views.length === 0) throw new FuzzFailure('convert returned no views');
  const total = conversion.views.reduce((sum, view) => sum + view.planes.length * view.width * view.height, 0);
  if (total > limits.maxPixelsPerScan) {
    throw new FuzzFailure(`convert returned ${total} pixels in all (limit ${limits.maxPixelsPerScan} per scan)`);
  }
  for (const view of conversion.views) {
    const { width, height } = view;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width * height > limits.maxPixelsPerPlane) {
      throw new FuzzFailure(`convert returned view ${view.id} of ${width} x ${height} pixels (limit ${limits.maxPixelsPerPlane})`);
    }
    if (!Number.isFinite(view.airValue) || view.airValue < 0 || view.airValue > 65535) {
      throw new FuzzFailure(`convert returned view ${view.id} with air value ${view.airValue}`);
    }
    if (view.planes.length === 0) throw new FuzzFailure(`convert returned view ${view.id} without planes`);
    for (const plane of view.planes) {
      if (!(plane.data instanceof Uint16Array) || plane.data.length !== width * height) {
        throw new FuzzFailure(`convert returned a ${plane.energy} plane of view ${view.id} with ${plane.data?.length} values for ${width} x ${height} pixels`);
      }
    }
  }
}

/**
 * The fuzz property of one adapter: sniff, check and convert of each generated case, within time and memory. One
 * temporary folder per property (files are rewritten for every case); a watchdog thread samples memory and hangs.
 */
export class FuzzRunner {
  private dir = '';
  private readonly watch = new Watchdog();
  private cases = 0;
  /** Largest resident memory a case added (reported at the end, to keep the budget honest). */
  peakGrowth = 0;
  /** How the cases ended: `converted` or the ConversionError code of convert. */
  readonly outcomes = new Map<string, number>();
  /** Resident memory when the runner started. */
  private startRss = 0;
  /** Largest resident memory the properties had added by their end, since the runner started. */
  private runGrowth = 0;

  constructor(
    private readonly adapter: ScannerAdapter,
    private readonly limits: ConversionLimits = FUZZ_LIMITS,
  ) {}

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), `niix-fuzz-${this.adapter.id.replace(/[^a-z0-9-]/gi, '-')}-`));
    this.watch.start();
    this.startRss = process.memoryUsage.rss();
  }

  /**
   * Runs a property of FUZZ.runs cases (fast-check prints seed, path and the shrunk case of a failure), then checks
   * the resident memory added since the runner started against RUN_MEMORY_BUDGET (a leak grows with the cases).
   */
  async property<T>(
    arbitrary: fc.Arbitrary<T>,
    toCase: (c: T) => Promise<{ files: FuzzFile[]; label: string }> | { files: FuzzFile[]; label: string },
  ): Promise<void> {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (c) => {
        const { files, label } = await toCase(c);
        await this.run(files, label);
      }),
      fuzzParameters(),
    );
    const growth = process.memoryUsage.rss() - this.startRss;
    this.runGrowth = Math.max(this.runGrowth, growth);
    if (growth > RUN_MEMORY_BUDGET) {
      throw new FuzzFailure(`the ${this.adapter.id} property added ${Math.round(growth / 2 ** 20)} MB of resident memory over its run (budget ${RUN_MEMORY_BUDGET / 2 ** 20} MB)`);
    }
  }

  /** The property over `bases` with up to a few mutations each (the shared first property of every adapter's fuzzing). */
  mutatedProperty(bases: FuzzBase[]): Promise<void> {
    return this.property(mutatedCaseArbitrary(bases), (c) => ({ files: applyMutations(bases[c.base], c.mutations), label: describeMutated(bases[c.base], c) }));
  }

  /** The property of random bytes after the first bytes of one of `bases`. */
  randomProperty(bases: FuzzBase[]): Promise<void> {
    return this.property(randomCaseArbitrary(bases), (c) => ({ files: applyRandom(bases[c.base], c), label: describeRandom(bases[c.base], c) }));
  }

  async stop(): Promise<void> {
    await this.watch.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs one case; throws FuzzFailure when the adapter breaks its contract. */
  async run(files: FuzzFile[], label: string): Promise<void> {
    const caseNumber = ++this.cases;
    const caseDir = join(this.dir, 'case');
    await rm(caseDir, { recursive: true, force: true });
    await mkdir(caseDir);
    const inputs: InputFile[] = [];
    for (const [i, file] of files.entries()) {
      // Names as uploaded, made unique and safe for the file system.
      const path = join(caseDir, `${i}-${file.name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
      await writeFile(path, file.data);
      inputs.push({ name: file.name, path, size: file.data.length });
    }
    this.watch.begin(`${this.adapter.id} case ${caseNumber}: ${label} (files in ${caseDir})`);
    const started = Date.now();
    let failure: unknown;
    try {
      await this.exercise(files, inputs, label, started);
    } catch (error) {
      failure = error;
    }
    const growth = this.watch.end();
    this.peakGrowth = Math.max(this.peakGrowth, growth);
    const elapsed = Date.now() - started;
    if (failure !== undefined) throw failure;
    if (growth > CASE_MEMORY_BUDGET) {
      throw new FuzzFailure(`the case added ${Math.round(growth / 2 ** 20)} MB of resident memory (budget ${CASE_MEMORY_BUDGET / 2 ** 20} MB)`);
    }
    if (elapsed > CASE_TIMEOUT_MS) throw new FuzzFailure(`the case took ${elapsed} ms (bound ${CASE_TIMEOUT_MS} ms)`);
  }

  /** sniff, check and convert of one case's files, each held to its contract. */
  private async exercise(files: FuzzFile[], inputs: InputFile[], label: string, started: number): Promise<void> {
    for (const file of files) {
      let verdict: unknown;
      try {
        verdict = this.adapter.sniff(file.data.subarray(0, SNIFF_BYTES), file.name);
      } catch (error) {
        throw new FuzzFailure(`sniff threw: ${explain(error)}`);
      }
      if (verdict !== 'primary' && verdict !== 'companion' && verdict !== null) throw new FuzzFailure(`sniff returned ${String(verdict)}`);
    }
    try {
      this.adapter.check?.(
        files.map((f) => ({ name: f.name, size: f.data.length, head: f.data.subarray(0, CHECK_BYTES) })),
        this.limits,
      );
    } catch (error) {
      assertConversionError(error, 'check');
    }
    let conversion: Conversion | undefined;
    let outcome = 'converted';
    let message = '';
    try {
      conversion = await this.adapter.convert({ files: inputs, limits: this.limits });
    } catch (error) {
      assertConversionError(error, 'convert');
      outcome = (error as ConversionError).code;
      message = (error as Error).message;
    }
    if (conversion) assertConversion(conversion, this.limits);
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    if (FUZZ.log) {
      appendFileSync(FUZZ.log, `${this.adapter.id}\t${outcome}\t${Date.now() - started} ms\t${message.slice(0, 200)}\t${label.slice(0, 300)}\n`);
    }
  }

  /** One line for the log: cases run, how they ended, the largest memory growth of a case. */
  summary(): string {
    const outcomes = [...this.outcomes].map(([k, n]) => `${k} ${n}`).join(', ');
    const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
    return `${this.adapter.id} fuzzing (seed ${FUZZ.seed}, ${FUZZ.runs} cases per property): ${this.cases} cases (${outcomes}); memory growth: largest of a case ${mb(this.peakGrowth)} MB, of a run ${mb(this.runGrowth)} MB`;
  }
}

/** fast-check parameters from the environment for a property of `runs` cases. */
export function fuzzParameters<T>(runs = FUZZ.runs): fc.Parameters<T> {
  return {
    numRuns: runs,
    seed: FUZZ.seed,
    ...(FUZZ.path ? { path: FUZZ.path } : {}),
    timeout: CASE_TIMEOUT_MS,
    markInterruptAsFailure: true,
    // fast-check prints the seed and path of a failure (and the shrunk case): NIIX_FUZZ_SEED / NIIX_FUZZ_PATH replay it.
    endOnFailure: false,
  };
}

/** A short, replayable description of a mutated case for the watchdog's message. */
export function describeMutated(base: FuzzBase, c: MutatedCase): string {
  return `${base.label}; ${JSON.stringify(c.mutations, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : v))}`.slice(0, 2000);
}

export function describeRandom(base: FuzzBase, c: RandomCase): string {
  return `${base.label}; file ${c.file % base.files.length}: first ${c.keep} bytes then ${c.tail.length} random bytes`;
}

/**
 * Runs `fn` while the watchdog thread samples resident memory; returns its result or what it threw, and the resident
 * memory it added at its peak. For specs that assert a refusal happened before a big allocation.
 */
export async function withMemoryWatch<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; growth: number }> {
  const watch = new Watchdog();
  watch.start();
  watch.begin('memory watch');
  try {
    const result = await fn();
    return { result, growth: watch.end() };
  } catch (error) {
    return { error, growth: watch.end() };
  } finally {
    await watch.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Watchdog: a thread that samples resident memory every few milliseconds (also while a decoder blocks the event
// loop) and ends the process when one case has run for HANG_MS, after naming it on stderr.

const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const state = new Float64Array(workerData.state);
const sleep = new Int32Array(new SharedArrayBuffer(4));
const text = new Uint8Array(workerData.text);
for (;;) {
  if (state[3] === 1) break;
  const rss = process.memoryUsage.rss();
  if (rss > state[2]) state[2] = rss;
  const began = state[1];
  if (began > 0 && Date.now() - began > workerData.hangMs) {
    const end = text.indexOf(0);
    const label = Buffer.from(text.subarray(0, end < 0 ? text.length : end)).toString('utf8');
    writeSync(2, '\\nniix fuzz watchdog: a case has run for ' + workerData.hangMs + ' ms without returning (a hang): ' + label + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
  Atomics.wait(sleep, 0, 0, 5);
}
`;

class Watchdog {
  private worker: Worker | undefined;
  /** [0] unused, [1] start of the running case (ms, 0 when idle), [2] peak rss since the case began, [3] stop flag. */
  private readonly state = new Float64Array(new SharedArrayBuffer(4 * 8));
  private readonly text = new Uint8Array(new SharedArrayBuffer(4096));
  private baseline = 0;

  start(): void {
    this.worker = new Worker(WATCHDOG_SOURCE, {
      eval: true,
      workerData: { state: this.state.buffer, text: this.text.buffer, hangMs: HANG_MS },
    });
    this.worker.unref();
  }

  async stop(): Promise<void> {
    this.state[3] = 1;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  begin(label: string): void {
    this.text.fill(0);
    this.text.set(Buffer.from(label, 'utf8').subarray(0, this.text.length - 1));
    this.baseline = process.memoryUsage.rss();
    this.state[2] = this.baseline;
    this.state[1] = Date.now();
  }

  /** Ends the case; returns the resident memory it added at its peak. */
  end(): number {
    this.state[1] = 0;
    const peak = Math.max(this.state[2], process.memoryUsage.rss());
    return peak - this.baseline;
  }
}
