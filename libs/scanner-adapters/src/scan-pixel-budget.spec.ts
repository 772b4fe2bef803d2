import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { deflateRawSync } from 'node:zlib';
import { writeTar } from '../../exchange-format/src/bundle.js';
import { buildPackage, serialiseManifest, sha256Hex } from '../../exchange-format/src/package.js';
import { sampleBuildInput } from '../../exchange-format/src/sample-package.testing.js';
import { CHECK_BYTES, ConversionError, type ConversionLimits, type InputFile, type ScannerAdapter } from './adapter.js';
import { TRANSFER_SYNTAX } from './dicos/dicom-uids.js';
import { DicosAdapter } from './dicos/dicos.adapter.js';
import { withMemoryWatch } from './fuzz.testing.js';
import { blackPng, deflateRawZeros, dicomFile, tiffFile, zlibZeros } from './hostile-files.testing.js';
import { ImageAdapter } from './image/image.adapter.js';
import { NiixBundleAdapter } from './niix-bundle/niix-bundle.adapter.js';
import { checkOutcome, headOf } from './raw-profile/head-check.testing.js';
import { RawProfileAdapter } from './raw-profile/raw-profile.adapter.js';
import { loadProfiles } from './raw-profile/raw-profile.loader.js';
import { writeRawProfile } from './raw-profile/raw-profile.writer.js';
import { syntheticScan, withInputFiles } from './raw-profile/synthetic-scan.testing.js';
import { TiffSidecarAdapter } from './tiff-sidecar/tiff-sidecar.adapter.js';

/**
 * The per-scan pixel budget, adapter by adapter: scans whose every plane is within the per-plane limit but whose planes
 * together exceed the per-scan limit are refused as `too_many_pixels` by `check` (from the first bytes of each file)
 * and by `convert`, before any plane is decoded. Two kinds of proof that nothing was decoded: files whose pixel data
 * is cut short after a valid header (decoding them would fail as malformed_input, so too_many_pixels shows the refusal
 * came first), and files whose planes really hold 8000 x 6000 16-bit pixels (96 MB each once decoded) while the
 * resident memory the refusal adds stays far below one plane.
 */

/** 100 million pixels per plane and per scan: an 8000 x 6000 plane fits, three of them do not. */
const LIMITS: ConversionLimits = { maxPixelsPerPlane: 100_000_000, maxPixelsPerScan: 100_000_000 };
/** Half of one decoded 8000 x 6000 16-bit plane: a refusal before decoding stays well below it. */
const MEMORY_BUDGET = 48 * 1024 * 1024;
const WIDTH = 8000;
const HEIGHT = 6000;
const PLANE_BYTES = WIDTH * HEIGHT * 2;
const THREE_PLANES = /the scan has 3 planes of 8000 x 6000 = 144,000,000 pixels in all; this service accepts at most 100,000,000 per scan \(NIIX_MAX_PIXELS_PER_SCAN\)/;

interface FileSpec {
  name: string;
  data: Buffer;
  /** The file's size on disk when larger than `data`: the rest is zeros, written as a sparse file. */
  size?: number;
}

/** Writes the files (sparse where `size` says) into a temporary folder and runs `fn` with them as input files. */
async function withFiles<T>(files: FileSpec[], fn: (inputs: InputFile[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'niix-budget-'));
  try {
    const inputs: InputFile[] = [];
    for (const file of files) {
      const path = join(dir, file.name);
      await writeFile(path, file.data);
      if (file.size !== undefined) await truncate(path, file.size);
      inputs.push({ name: file.name, path, size: file.size ?? file.data.length });
    }
    return await fn(inputs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** convert's ConversionError (undefined if it converted) and the resident memory it added at its peak. */
async function convertWatched(adapter: ScannerAdapter, files: FileSpec[], limits = LIMITS): Promise<{ error: ConversionError | undefined; growth: number }> {
  const { error, growth } = await withMemoryWatch(() => withFiles(files, (inputs) => adapter.convert({ files: inputs, limits })));
  if (error !== undefined && !(error instanceof ConversionError)) throw error;
  return { error, growth };
}

/** check on the first bytes of each file, as the upload sees them. */
function checked(adapter: ScannerAdapter, files: FileSpec[], limits = LIMITS): ConversionError | undefined {
  return checkOutcome(
    adapter,
    files.map((file) => headOf({ name: file.name, data: file.data }, file.size ?? file.data.length)),
    limits,
  );
}

/** A tiff-sidecar sidecar: a dual-energy top view in two files and a single-energy side view. */
function tiffSidecar(names: [string, string, string]): FileSpec {
  const [high, low, side] = names;
  const sidecar = {
    kind: 'tiff-sidecar',
    version: 1,
    scanner: { vendor: 'Budget Test' },
    airValue: 60000,
    files: [
      { name: high, view: 'top', energy: 'high' },
      { name: low, view: 'top', energy: 'low' },
      { name: side, view: 'side', energy: 'single' },
    ],
  };
  return { name: 'sidecar.json', data: Buffer.from(JSON.stringify(sidecar)) };
}

describe('the per-scan pixel budget', () => {
  describe('image (PNG, JPEG)', () => {
    const adapter = new ImageAdapter();
    const names = ['a.png', 'b.png', 'c.png'];

    it('refuses three 8000 x 6000 PNGs (each within the plane limit) in check and convert, before decoding', async () => {
      const files = names.map((name) => ({ name, data: blackPng(WIDTH, HEIGHT, 16) }));
      expect(files[0].data.length).toBeLessThan(200_000);
      const fromHeads = checked(adapter, files);
      expect(fromHeads?.code).toBe('too_many_pixels');
      expect(fromHeads?.message).toMatch(THREE_PLANES);

      const { error, growth } = await convertWatched(adapter, files);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(THREE_PLANES);
      expect(growth).toBeLessThan(MEMORY_BUDGET);
    });

    it('refuses PNGs whose image data is cut short as too_many_pixels, not malformed_input: nothing was decoded', async () => {
      const files = names.map((name) => ({ name, data: blackPng(WIDTH, HEIGHT, 16, { idatRows: 1 }) }));
      expect(checked(adapter, files)?.code).toBe('too_many_pixels');
      expect((await convertWatched(adapter, files)).error?.code).toBe('too_many_pixels');
      // Within the budget, such a file fails when it is decoded.
      expect((await convertWatched(adapter, [{ name: 'small.png', data: blackPng(800, 600, 16, { idatRows: 1 }) }])).error?.code).toBe('malformed_input');
    });
  });

  describe('tiff-sidecar', () => {
    const adapter = new TiffSidecarAdapter();
    const names: [string, string, string] = ['top-high.tif', 'top-low.tif', 'side.tif'];

    it('refuses three 8000 x 6000 pages whose deflated strips are cut short, in check and convert, before decoding', async () => {
      const cut = tiffFile([{ width: WIDTH, height: HEIGHT, compression: 8, rowsPerStrip: HEIGHT, strips: [deflateRawSync(Buffer.alloc(64))] }]);
      const files = [...names.map((name) => ({ name, data: cut })), tiffSidecar(names)];
      const fromHeads = checked(adapter, files);
      expect(fromHeads?.code).toBe('too_many_pixels');
      expect(fromHeads?.message).toMatch(THREE_PLANES);
      const { error } = await convertWatched(adapter, files);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(THREE_PLANES);
    });

    it('refuses three 8000 x 6000 16-bit pages (96 MB each decoded) in convert with flat memory', async () => {
      const tif = tiffFile([{ width: WIDTH, height: HEIGHT, compression: 8, rowsPerStrip: HEIGHT, strips: [zlibZeros(new Uint8Array(0), PLANE_BYTES)] }]);
      expect(tif.length).toBeLessThan(200_000);
      const { error, growth } = await convertWatched(adapter, [...names.map((name) => ({ name, data: tif })), tiffSidecar(names)]);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(THREE_PLANES);
      expect(growth).toBeLessThan(MEMORY_BUDGET);
    });
  });

  describe('raw profile', () => {
    const [aurora] = loadProfiles([join(process.cwd(), 'libs/scanner-adapters/profiles')]);
    const adapter = new RawProfileAdapter(aurora);
    const FOUR_PLANES = /the scan has 4 planes of 8000 x 6000 = 192,000,000 pixels in all; this service accepts at most 100,000,000/;

    /** Aurora files (a dual-energy view each, 64-byte header) declaring 8000 x 6000: the header alone. */
    function headers(): FileSpec[] {
      const small = writeRawProfile(aurora, syntheticScan({ width: 30, height: 12, views: ['top', 'side'].map((id) => ({ id, energies: ['high', 'low'] })) }));
      return small.map((file) => {
        const header = Buffer.from(file.data.subarray(0, 64));
        header.writeUInt32LE(WIDTH, 8);
        header.writeUInt32LE(HEIGHT, 12);
        return { name: file.name, data: header };
      });
    }

    it('refuses two files of 8000 x 6000 x 2 planes cut short after their headers as too_many_pixels, not malformed_input', async () => {
      const files = headers();
      const fromHeads = checked(adapter, files);
      expect(fromHeads?.code).toBe('too_many_pixels');
      expect(fromHeads?.message).toMatch(FOUR_PLANES);
      const { error } = await convertWatched(adapter, files);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(FOUR_PLANES);
      // One of them alone is within the budget: then its missing bytes are what is wrong.
      expect((await convertWatched(adapter, files.slice(0, 1))).error?.code).toBe('malformed_input');
    });

    it('refuses the same two files at their full size (192 MB each) in check and convert with flat memory', async () => {
      // As uploaded: the first CHECK_BYTES of each file (header, then zeros), the rest sparse.
      const files = headers().map((file) => ({ ...file, data: Buffer.concat([file.data, Buffer.alloc(CHECK_BYTES - 64)]), size: 64 + 2 * PLANE_BYTES }));
      expect(checked(adapter, files)?.code).toBe('too_many_pixels');
      const { error, growth } = await convertWatched(adapter, files);
      expect(error?.code).toBe('too_many_pixels');
      expect(growth).toBeLessThan(MEMORY_BUDGET);
    });
  });

  describe('dicos', () => {
    const adapter = new DicosAdapter();
    const names = ['1.dcm', '2.dcm', '3.dcm'];

    /** A native 16-bit DICOM file of 8000 x 6000: its header, with the pixel data element declaring every byte. */
    function nativeHeader(): { data: Buffer; size: number } {
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: HEIGHT, columns: WIDTH, pixels: { native: Buffer.alloc(0) } });
      file.writeUInt32LE(PLANE_BYTES, file.length - 4);
      return { data: file, size: file.length + PLANE_BYTES };
    }

    it('refuses three 8000 x 6000 native files (96 MB each) in check and convert before reading their pixels', async () => {
      const files = names.map((name) => ({ name, ...nativeHeader() }));
      const fromHeads = checked(adapter, files);
      expect(fromHeads?.code).toBe('too_many_pixels');
      expect(fromHeads?.message).toMatch(THREE_PLANES);
      const { error, growth } = await convertWatched(adapter, files);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(THREE_PLANES);
      expect(growth).toBeLessThan(MEMORY_BUDGET);
    });

    it('refuses three 8000 x 6000 RLE files whose frames are garbage as too_many_pixels, not malformed_input', async () => {
      const files = names.map((name) => ({
        name,
        data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.rle, rows: HEIGHT, columns: WIDTH, pixels: { fragments: [Buffer.alloc(64, 0xff)] } }),
      }));
      expect(checked(adapter, files)?.code).toBe('too_many_pixels');
      expect((await convertWatched(adapter, files)).error?.code).toBe('too_many_pixels');
      // Within the budget, such a file fails when it is decoded.
      const small = dicomFile({ transferSyntax: TRANSFER_SYNTAX.rle, rows: 600, columns: 800, pixels: { fragments: [Buffer.alloc(64, 0xff)] } });
      expect((await convertWatched(adapter, [{ name: 'small.dcm', data: small }])).error?.code).toBe('malformed_input');
    });

    it('checks the sum again on the full parse, for deflated files whose heads cannot tell', async () => {
      // Deflated data sets: the head shows nothing; each file inflates to its 1000 x 1000 16-bit pixels.
      const deflated = (): Buffer => {
        const plain = dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: 1000, columns: 1000, pixels: { native: Buffer.alloc(0) } });
        plain.writeUInt32LE(2_000_000, plain.length - 4);
        // The data set after the file meta group (whose length is the value of its first element, at byte 140).
        const dataSet = plain.subarray(144 + plain.readUInt32LE(140));
        const body = deflateRawZeros(dataSet, 2_000_000);
        return dicomFile({ transferSyntax: TRANSFER_SYNTAX.deflatedExplicitLittle, rows: 1000, columns: 1000, pixels: { native: Buffer.alloc(0) }, deflatedBody: body });
      };
      const limits = { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 2_500_000 };
      const files = names.map((name) => ({ name, data: deflated() }));
      expect(checked(adapter, files, limits)).toBeUndefined();
      const { error } = await convertWatched(adapter, files, limits);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(/3 planes of 1000 x 1000 = 3,000,000 pixels in all; this service accepts at most 2,500,000/);
    });
  });

  describe('niix-bundle', () => {
    const adapter = new NiixBundleAdapter();

    /** A bundle whose manifest gives its views the sizes asked for, with these plane PNGs (checksums matching). */
    async function bundle(size: { width: number; height: number }, png: (path: string) => Buffer): Promise<FileSpec> {
      const built = await buildPackage(sampleBuildInput());
      const manifest = JSON.parse(serialiseManifest(built.manifest).toString('utf8')) as typeof built.manifest;
      const parts = built.parts.map((part) => ({ path: part.path, data: png(part.path) }));
      for (const view of manifest.views) {
        Object.assign(view, size);
        for (const plane of view.planes) plane.sha256 = sha256Hex(parts.find((p) => p.path === plane.path)!.data);
      }
      const tar = await buffer(writeTar([{ path: 'manifest.json', data: serialiseManifest(manifest) }, ...parts], { mtime: new Date('2026-11-20T06:16:02Z') }));
      return { name: 'export.niix.tar', data: tar };
    }

    it('refuses a manifest of three 8000 x 6000 planes in check and convert, before reading any plane', async () => {
      const file = await bundle({ width: WIDTH, height: HEIGHT }, () => blackPng(WIDTH, HEIGHT, 16));
      const fromHeads = checked(adapter, [file]);
      expect(fromHeads?.code).toBe('too_many_pixels');
      expect(fromHeads?.message).toMatch(THREE_PLANES);
      const { error, growth } = await convertWatched(adapter, [file]);
      expect(error?.code).toBe('too_many_pixels');
      expect(error?.message).toMatch(THREE_PLANES);
      expect(growth).toBeLessThan(MEMORY_BUDGET);
    });

    it('refuses the same manifest with plane PNGs cut short as too_many_pixels, not malformed_input', async () => {
      const file = await bundle({ width: WIDTH, height: HEIGHT }, () => blackPng(WIDTH, HEIGHT, 16, { idatRows: 1 }));
      expect((await convertWatched(adapter, [file])).error?.code).toBe('too_many_pixels');
    });

    it('refuses a 16000 x 16000 plane PNG inside a bundle whose manifest declares small planes, without decoding it', async () => {
      const bomb = blackPng(16_000, 16_000, 16);
      const file = await bundle({ width: 40, height: 24 }, (path) => (path === 'views/top/high.png' ? bomb : blackPng(40, 24, 16)));
      // The manifest's sizes pass: only the PNG's own header tells.
      expect(checked(adapter, [file])).toBeUndefined();
      // Over the plane limit: too_many_pixels.
      const overLimit = await convertWatched(adapter, [file]);
      expect(overLimit.error?.code).toBe('too_many_pixels');
      expect(overLimit.error?.message).toMatch(/views\/top\/high\.png declares a plane of 16000 x 16000 pixels/);
      expect(overLimit.growth).toBeLessThan(MEMORY_BUDGET);
      // Within generous limits, still refused from IHDR: it is not the size the manifest says (512 MB if decoded).
      const generous = { maxPixelsPerPlane: 268_402_689, maxPixelsPerScan: 1_000_000_000 };
      const mismatch = await convertWatched(adapter, [file], generous);
      expect(mismatch.error?.code).toBe('malformed_input');
      expect(mismatch.error?.message).toMatch(/views\/top\/high\.png is 16000 x 16000 pixels, the manifest says 40 x 24/);
      expect(mismatch.growth).toBeLessThan(MEMORY_BUDGET);
    });
  });

  it('decodes a scan within both limits as before', async () => {
    const [aurora] = loadProfiles([join(process.cwd(), 'libs/scanner-adapters/profiles')]);
    const files = writeRawProfile(aurora, syntheticScan({ width: 50, height: 20, views: ['top', 'side'].map((id) => ({ id, energies: ['high', 'low'] })) }));
    // 4 planes of 50 x 20 = 4000 pixels: exactly the limit passes.
    const conversion = await withInputFiles(files, (input) => new RawProfileAdapter(aurora).convert(input), { maxPixelsPerPlane: 1000, maxPixelsPerScan: 4000 });
    expect(conversion.views.map((view) => view.planes.length)).toEqual([2, 2]);
    const over = await withInputFiles(files, (input) => new RawProfileAdapter(aurora).convert(input), { maxPixelsPerPlane: 1000, maxPixelsPerScan: 3999 }).catch((e: unknown) => e);
    expect(over).toMatchObject({ code: 'too_many_pixels' });
  });
});
