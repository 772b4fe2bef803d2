import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Energy } from '../../../exchange-format/src/manifest.js';
import {
  ConversionError,
  type Conversion,
  type ConversionInput,
  type ConversionLimits,
  type InputFile,
  type ScanToWrite,
  type ScannerAdapter,
} from '../adapter.js';

/**
 * Test helpers shared by the adapter specs (not used by production code): small synthetic scans, plane
 * checksums and temporary input files.
 */

/** What the writers take: the shape `convert` returns, without warnings. */
export type SyntheticScan = ScanToWrite;

/**
 * A deterministic plane: air near the top with a gentle gradient, a container wall band and a few dense
 * rectangles (cargo). `energy` changes the contrast as a real dual-energy pair would.
 */
export function syntheticPlane(width: number, height: number, energy: Energy, seed = 0): Uint16Array {
  const data = new Uint16Array(width * height);
  const contrast = energy === 'low' ? 1.35 : 1;
  const boxes = [
    { x0: 0.1, y0: 0.2, x1: 0.3, y1: 0.8, a: 0.45 },
    { x0: 0.35, y0: 0.1, x1: 0.6, y1: 0.5, a: 0.7 },
    { x0: 0.5, y0: 0.55, x1: 0.9, y1: 0.9, a: 0.25 },
    { x0: 0.7, y0: 0.15, x1: 0.75, y1: 0.3, a: 0.95 },
  ];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let t = 62000 - Math.floor((x * 1500) / width) - Math.floor((y * 700) / height) - seed * 11;
      if (y < height * 0.05 || y > height * 0.95) t *= 0.8;
      for (const b of boxes) {
        if (x >= b.x0 * width && x < b.x1 * width && y >= b.y0 * height && y < b.y1 * height) {
          t *= 1 - Math.min(0.99, b.a * contrast);
        }
      }
      data[y * width + x] = Math.max(0, Math.min(65535, Math.round(t + ((x * 7 + y * 13 + seed) % 17))));
    }
  }
  return data;
}

export function syntheticScan(options: {
  width: number;
  height: number;
  views: { id: string; energies: Energy[] }[];
  airValue?: number;
}): SyntheticScan {
  return {
    scanner: { vendor: 'Synthetic Scanners', model: 'SX-1', serial: 'SN-0042' },
    acquiredAt: '2026-03-14T09:26:53Z',
    views: options.views.map((view, v) => ({
      id: view.id,
      width: options.width,
      height: options.height,
      pixelSpacingMm: { x: 4, y: 2.5 },
      airValue: options.airValue ?? 62000,
      planes: view.energies.map((energy) => ({ energy, data: syntheticPlane(options.width, options.height, energy, v) })),
    })),
  };
}

/** sha-256 of a plane's values as little-endian uint16 bytes (how planes are checksummed in fixtures). */
export function planeSha256(data: Uint16Array): string {
  const bytes = Buffer.alloc(data.length * 2);
  for (let i = 0; i < data.length; i++) bytes.writeUInt16LE(data[i], i * 2);
  return createHash('sha256').update(bytes).digest('hex');
}

/** Limits large enough for every fixture and synthetic scan of the specs. */
export const TEST_LIMITS: ConversionLimits = { maxPixelsPerPlane: 50_000_000, maxPixelsPerScan: 200_000_000 };

/** Writes files into a fresh temporary folder, runs `fn` with them as a ConversionInput, then removes them. */
export async function withInputFiles<T>(
  files: { name: string; data: Buffer }[],
  fn: (input: ConversionInput) => Promise<T>,
  limits: ConversionLimits = TEST_LIMITS,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'niix-adapter-'));
  try {
    const inputs: InputFile[] = [];
    for (const file of files) {
      const path = join(dir, file.name);
      await writeFile(path, file.data);
      inputs.push({ name: file.name, path, size: file.data.length });
    }
    return await fn({ files: inputs, limits });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The facts a golden fixture pins: the conversion without pixels, and a sha-256 per plane. */
export function goldenFacts(adapter: ScannerAdapter, conversion: Conversion): unknown {
  return {
    adapter: adapter.id,
    version: adapter.version,
    scanner: conversion.scanner,
    acquiredAt: conversion.acquiredAt,
    warnings: conversion.warnings,
    views: conversion.views.map((view) => ({
      id: view.id,
      width: view.width,
      height: view.height,
      pixelSpacingMm: view.pixelSpacingMm,
      airValue: view.airValue,
      planes: view.planes.map((plane) => ({ energy: plane.energy, nominalEnergy: plane.nominalEnergy ?? null, sha256: planeSha256(plane.data) })),
    })),
  };
}

export interface GoldenCase {
  /** Folder name under fixtures/. */
  name: string;
  adapter: ScannerAdapter;
  /** Makes the input files (only run with UPDATE_GOLDEN=1). */
  make: () => Promise<{ name: string; data: Buffer }[]>;
}

/**
 * Golden fixtures: `fixtures/<case>/` holds the input files and `expected.json`. A normal run converts the
 * stored files and compares with expected.json; `UPDATE_GOLDEN=1 npx jest <folder>` rewrites them from the
 * writers (deterministic synthetic planes).
 */
export function describeGolden(fixturesDir: string, cases: GoldenCase[]): void {
  const update = process.env.UPDATE_GOLDEN === '1';
  for (const golden of cases) {
    it(`converts fixtures/${golden.name} to the expected facts and plane checksums`, async () => {
      const dir = join(fixturesDir, golden.name);
      if (update) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        const made = await golden.make();
        for (const file of made) await writeFile(join(dir, file.name), file.data);
        const conversion = await withInputFiles(made, (input) => golden.adapter.convert(input));
        await writeFile(join(dir, EXPECTED), `${JSON.stringify({ inputs: made.map((f) => f.name), ...(goldenFacts(golden.adapter, conversion) as object) }, null, 2)}\n`);
      }
      const expected = JSON.parse(await readFile(join(dir, EXPECTED), 'utf8')) as { inputs: string[] };
      const files = await Promise.all(expected.inputs.map(async (name) => ({ name, data: await readFile(join(dir, name)) })));
      const conversion = await withInputFiles(files, (input) => golden.adapter.convert(input));
      expect({ inputs: expected.inputs, ...(goldenFacts(golden.adapter, conversion) as object) }).toEqual(expected);
    });
  }
}

const EXPECTED = 'expected.json';

/** The ConversionError a conversion rejects with (fails the test when it resolves or throws something else). */
export async function conversionFailure(promise: Promise<unknown>): Promise<ConversionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConversionError);
  return error as ConversionError;
}
