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
import { blackPng, jpegFields, pngChunk, pngFields } from '../hostile-files.testing.js';
import { syntheticScan } from '../raw-profile/synthetic-scan.testing.js';
import { ImageAdapter } from './image.adapter.js';
import { writeImages } from './image.writer.js';

/** Fuzzing of the PNG/JPEG image adapter (see fuzz.testing.ts; NIIX_FUZZ_RUNS sets the size). */

function base(label: string, files: FuzzFile[]): FuzzBase {
  const numeric = files.flatMap((file, i) => (file.data[0] === 0x89 ? pngFields(file.data, i) : jpegFields(file.data, i)));
  return { label, files, numeric, text: [] };
}

/** An 8-bit RGB PNG with an alpha channel (colour type 6), 20 x 12. */
function rgbaPng(): Buffer {
  const width = 20;
  const height = 12;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let i = 0; i < rows.length; i++) rows[i] = i % (1 + width * 4) === 0 ? i % 5 : (i * 31) & 0xff;
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0))]);
}

describe(`${ImageAdapter.name} fuzzing`, () => {
  const adapter = new ImageAdapter();
  const runner = new FuzzRunner(adapter);
  let bases: FuzzBase[] = [];

  beforeAll(async () => {
    const fixtures = join(__dirname, 'fixtures');
    const scan = syntheticScan({ width: 120, height: 60, views: [{ id: 'top', energies: ['single'] }, { id: 'side', energies: ['single'] }] });
    const [png16, png16Side] = await writeImages(scan, { format: 'png16' });
    const [jpeg] = await writeImages(scan, { format: 'jpeg', quality: 80 });
    const [png8] = await writeImages(scan, { format: 'png8' });
    bases = [
      ...readdirSync(fixtures)
        .sort()
        .map((folder) => base(`fixtures/${folder}`, fixtureFolderFiles(join(fixtures, folder)))),
      base('generated 16-bit PNG, two views', [png16, png16Side]),
      base('generated JPEG', [jpeg]),
      base('generated 8-bit PNG', [png8]),
      base('generated PNG and JPEG', [png16, jpeg]),
      base('RGBA PNG', [{ name: 'rgba.png', data: rgbaPng() }]),
      base('black 16-bit PNG', [{ name: 'black16.png', data: blackPng(50, 40, 16) }]),
      base('black 8-bit PNG', [{ name: 'black8.png', data: blackPng(50, 40, 8) }]),
    ];
    await runner.start();
  });

  afterAll(async () => {
    await runner.stop();
    console.log(runner.summary());
  });

  it(
    'converts or refuses with a ConversionError every mutated file, in bounded time and memory',
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
