import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import {
  fixtureFolderFiles,
  FuzzRunner,
  fuzzTimeout,
  type FuzzBase,
  type FuzzFile,
} from '../fuzz.testing.js';
import { textNumberFields, tiffFields, tiffFile } from '../hostile-files.testing.js';
import { syntheticScan } from '../raw-profile/synthetic-scan.testing.js';
import { isTiff, TiffSidecarAdapter } from './tiff-sidecar.adapter.js';
import { writeTiffSidecar } from './tiff-sidecar.writer.js';

/** Fuzzing of the TIFF + sidecar adapter (see fuzz.testing.ts; NIIX_FUZZ_RUNS sets the size). */

function base(label: string, files: FuzzFile[]): FuzzBase {
  const numeric = files.flatMap((file, i) => (isTiff(file.data) ? tiffFields(file.data, i) : []));
  const text = files.flatMap((file, i) => (isTiff(file.data) ? [] : textNumberFields(file.data, i)));
  return { label, files, numeric, text };
}

function sidecar(files: { name: string; view: string; energy?: string; pages?: { index: number; energy: string }[] }[]): FuzzFile {
  const json = { kind: 'tiff-sidecar', version: 1, scanner: { vendor: 'Hostile Input Ltd' }, airValue: 60000, files };
  return { name: 'sidecar.json', data: Buffer.from(JSON.stringify(json, null, 2)) };
}

/** A 16-bit page of `width` x `height` in strips of `rows` rows, deflated (8), PackBits-free raw (1). */
function page(width: number, height: number, rows: number, compression: 1 | 8, bits: 8 | 16 = 16): Parameters<typeof tiffFile>[0][number] {
  const strips: Buffer[] = [];
  for (let y = 0; y < height; y += rows) {
    const n = Math.min(rows, height - y) * width * (bits / 8);
    const raw = Buffer.alloc(n);
    for (let i = 0; i < n; i++) raw[i] = (i * 7 + y) & 0xff;
    strips.push(compression === 8 ? deflateSync(raw) : raw);
  }
  return { width, height, bitsPerSample: bits, compression, strips, rowsPerStrip: rows };
}

describe(`${TiffSidecarAdapter.name} fuzzing`, () => {
  const adapter = new TiffSidecarAdapter();
  const runner = new FuzzRunner(adapter);
  let bases: FuzzBase[] = [];

  beforeAll(async () => {
    const fixtures = join(__dirname, 'fixtures');
    const scan = syntheticScan({ width: 60, height: 30, views: [{ id: 'top', energies: ['high', 'low'] }] });
    bases = [
      ...readdirSync(fixtures)
        .sort()
        .map((folder) => base(`fixtures/${folder}`, fixtureFolderFiles(join(fixtures, folder)))),
      base('generated json, one deflated TIFF per plane', await writeTiffSidecar(scan, { sidecar: 'json' })),
      base('generated xml, multi-page', await writeTiffSidecar(scan, { sidecar: 'xml', multiPage: true })),
      base('deflated strips', [
        { name: 'strips.tif', data: tiffFile([page(40, 20, 6, 8)]) },
        sidecar([{ name: 'strips.tif', view: 'top', energy: 'single' }]),
      ]),
      base('two pages in strips, raw and deflated', [
        { name: 'pages.tif', data: tiffFile([page(40, 20, 7, 1), page(40, 20, 5, 8)]) },
        sidecar([{ name: 'pages.tif', view: 'top', pages: [{ index: 0, energy: 'high' }, { index: 1, energy: 'low' }] }]),
      ]),
      base('8-bit TIFF', [{ name: 'eight.tif', data: tiffFile([page(30, 10, 10, 1, 8)]) }, sidecar([{ name: 'eight.tif', view: 'side', energy: 'single' }])]),
    ];
    await runner.start();
  });

  afterAll(async () => {
    await runner.stop();
    console.log(runner.summary());
  });

  it(
    'converts or refuses with a ConversionError every mutated TIFF or sidecar, in bounded time and memory',
    async () => {
      await runner.mutatedProperty(bases);
    },
    fuzzTimeout(),
  );

  it(
    'converts or refuses with a ConversionError random bytes after the first bytes of a real file',
    async () => {
      await runner.randomProperty(bases);
    },
    fuzzTimeout(),
  );
});
