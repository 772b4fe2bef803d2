import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { deflateSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import { encodeGrey8 } from '../../imaging/src/raster.js';
import { writeTar } from '../../exchange-format/src/bundle.js';
import { buildPackage, serialiseManifest, sha256Hex } from '../../exchange-format/src/package.js';
import { sampleBuildInput } from '../../exchange-format/src/sample-package.testing.js';
import { ConversionError, type ConversionErrorCode, type ScannerAdapter } from './adapter.js';
import { TRANSFER_SYNTAX } from './dicos/dicom-uids.js';
import { DicosAdapter } from './dicos/dicos.adapter.js';
import { generatedDicomFiles } from './dicos/generated-dicom.testing.js';
import { decodeJpeg2000, dropCodecInstances } from './dicos/pixel-codecs.js';
import { withMemoryWatch } from './fuzz.testing.js';
import { blackPng, deflateRawZeros, dicomFile, pngChunk, resealTarChecksums, rleFrame, tiffFile, zlibZeros } from './hostile-files.testing.js';
import { ImageAdapter } from './image/image.adapter.js';
import { NiixBundleAdapter } from './niix-bundle/niix-bundle.adapter.js';
import { withInputFiles } from './raw-profile/synthetic-scan.testing.js';
import { TiffSidecarAdapter } from './tiff-sidecar/tiff-sidecar.adapter.js';

/**
 * Decompression bombs of every container the adapters read: a small file that claims a huge image, or a small
 * compressed stream that expands to hundreds of megabytes or gigabytes. Each is refused with a ConversionError before
 * the big allocation: the resident memory the conversion adds stays under MEMORY_BUDGET (sampled by a thread, so a
 * decoder holding the event loop is measured too).
 */

const MEMORY_BUDGET = 100 * 1024 * 1024;
const limits = { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 };

interface Outcome {
  error: ConversionError | undefined;
  other: unknown;
  growth: number;
}

async function convert(adapter: ScannerAdapter, files: { name: string; data: Buffer }[]): Promise<Outcome> {
  const { error, growth } = await withMemoryWatch(() => withInputFiles(files, (input) => adapter.convert(input), limits));
  return { error: error instanceof ConversionError ? error : undefined, other: error instanceof ConversionError ? undefined : error, growth };
}

/** Refused with `code` (and a message matching `message`), within the memory budget. */
function expectRefused(outcome: Outcome, code: ConversionErrorCode, message?: RegExp): void {
  expect(outcome.other).toBeUndefined();
  expect(outcome.error?.code).toBe(code);
  if (message) expect(outcome.error?.message).toMatch(message);
  expect(outcome.growth).toBeLessThan(MEMORY_BUDGET);
}

/** Converted or refused with a ConversionError, never another error, within the memory budget. */
function expectBounded(outcome: Outcome): void {
  expect(outcome.other).toBeUndefined();
  expect(outcome.growth).toBeLessThan(MEMORY_BUDGET);
}

const GIB = 1024 ** 3;

function sidecarFor(files: { name: string; pages?: number }[]): { name: string; data: Buffer } {
  const entries = files.map((f) =>
    f.pages ? { name: f.name, view: 'top', pages: [{ index: 0, energy: 'high' }, { index: 1, energy: 'low' }] } : { name: f.name, view: 'top', energy: 'single' },
  );
  return { name: 'sidecar.json', data: Buffer.from(JSON.stringify({ kind: 'tiff-sidecar', version: 1, scanner: { vendor: 'Bomb' }, airValue: 60000, files: entries })) };
}

/** Offset of the first `marker` (0xFF then `code`) in `data`, from `start`. */
function markerAt(data: Buffer, code: number, start = 0): number {
  for (let i = start; i + 1 < data.length; i++) if (data[i] === 0xff && data[i + 1] === code) return i;
  throw new Error(`no marker 0xFF${code.toString(16)}`);
}

describe('decompression bombs', () => {
  let generated: Map<string, Buffer>;

  beforeAll(async () => {
    generated = new Map((await generatedDicomFiles()).map((f) => [f.name, f.data]));
  });

  it('writes bomb streams that really expand a thousandfold', () => {
    const stream = deflateRawZeros(Buffer.from('prefix'), 10_000_000);
    expect(stream.length).toBeLessThan(12_000);
    const png = blackPng(3000, 2000, 8);
    expect(png.length).toBeLessThan(8_000);
  });

  describe('PNG', () => {
    it('refuses a 50 KB PNG claiming 20000 x 20000 pixels (400 MB of zlib zeros) as too_many_pixels', async () => {
      const png = blackPng(20_000, 20_000, 8);
      expect(png.length).toBeLessThan(500_000);
      expectRefused(await convert(new ImageAdapter(), [{ name: 'bomb.png', data: png }]), 'too_many_pixels');
    });

    it('stops at the declared image when IDAT expands to 1 GB more than the rows need', async () => {
      const rows = zlibZeros(new Uint8Array(0), GIB);
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(500, 0);
      ihdr.writeUInt32BE(400, 4);
      ihdr.set([8, 0, 0, 0, 0], 8);
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', rows), pngChunk('IEND', Buffer.alloc(0))]);
      expectBounded(await convert(new ImageAdapter(), [{ name: 'long.png', data: png }]));
    });

    it('does not expand a compressed text chunk (zTXt) of 1 GB', async () => {
      const text = Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), zlibZeros(new Uint8Array(0), GIB)]);
      const png = blackPng(64, 32, 16, { extraChunks: [pngChunk('zTXt', text)] });
      expectBounded(await convert(new ImageAdapter(), [{ name: 'text.png', data: png }]));
    });
  });

  describe('JPEG', () => {
    it('refuses a JPEG whose frame header claims 65000 x 65000 pixels as too_many_pixels', async () => {
      const jpeg = await encodeGrey8(16, 16, new Uint8Array(256).fill(90), 'jpeg');
      const sof = markerAt(jpeg, 0xc0);
      jpeg.writeUInt16BE(65_000, sof + 5);
      jpeg.writeUInt16BE(65_000, sof + 7);
      expectRefused(await convert(new ImageAdapter(), [{ name: 'bomb.jpg', data: jpeg }]), 'too_many_pixels');
    });

    it('refuses a JPEG of more than 100 scans (a pass over the whole image each) before decoding it', async () => {
      const jpeg = await encodeGrey8(64, 64, new Uint8Array(4096).fill(90), 'jpeg');
      const manyScans = (codestream: Buffer): Buffer => {
        const scan = codestream.subarray(markerAt(codestream, 0xda), codestream.length - 2);
        return Buffer.concat([codestream.subarray(0, codestream.length - 2), ...Array.from({ length: 150 }, () => scan), codestream.subarray(-2)]);
      };
      expectRefused(await convert(new ImageAdapter(), [{ name: 'scans.jpg', data: manyScans(jpeg) }]), 'unsupported_variant', /more than 100 scans/);
      const dicom = dicomFile({ transferSyntax: TRANSFER_SYNTAX.jpegBaseline, rows: 64, columns: 64, bitsAllocated: 8, pixels: { fragments: [manyScans(jpeg)] } });
      expectRefused(await convert(new DicosAdapter(), [{ name: 'scans.dcm', data: dicom }]), 'unsupported_variant', /151 scans/);
    });

    it('refuses a DICOM JPEG baseline frame whose codestream claims 60000 x 60000 pixels, before decoding', async () => {
      const file = Buffer.from(generated.get('jpeg-baseline.dcm') as Buffer);
      const sof = markerAt(file, 0xc0, 132);
      file.writeUInt16BE(60_000, sof + 5);
      file.writeUInt16BE(60_000, sof + 7);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'bomb.dcm', data: file }]), 'malformed_input', /codestream declares 60000 x 60000/);
    });

    it('refuses a 12-bit DICOM JPEG (own DCT decoder) whose codestream claims 60000 x 60000 pixels', async () => {
      const file = readFileSync(join(__dirname, 'dicos/fixtures/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm'));
      const sof = markerAt(file, 0xc1, 132);
      file.writeUInt16BE(60_000, sof + 5);
      file.writeUInt16BE(60_000, sof + 7);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'bomb.dcm', data: file }]), 'malformed_input', /codestream declares 60000 x 60000/);
    });

    it('refuses a lossless JPEG whose codestream claims 65535 x 65535 pixels (the decoder would take 8 GB)', async () => {
      const file = readFileSync(join(__dirname, 'dicos/fixtures/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm'));
      const sof = markerAt(file, 0xc3, 132);
      file.writeUInt16BE(65_535, sof + 5);
      file.writeUInt16BE(65_535, sof + 7);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'bomb.dcm', data: file }]), 'malformed_input', /codestream declares 65535 x 65535/);
    });

    it('refuses a lossless JPEG hiding a huge frame header where the decoder, not a by-length parser, finds it', async () => {
      // After SOI, an unknown marker whose "length" bytes are themselves a SOF3 marker: a by-length reader skips 65475
      // bytes to the real 512 x 512 frame header; jpeg-lossless-decoder-js steps over the unknown marker and reads the
      // hidden 65535 x 65535 frame header, the Huffman table and scan header after it, and allocates 8.6 GB.
      const source = readFileSync(join(__dirname, 'dicos/fixtures/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm'));
      const ds = dicomParser.parseDicom(new Uint8Array(source));
      const fragments = ds.elements.x7fe00010.fragments ?? [];
      const first = Buffer.from(source.subarray(fragments[0].position, fragments[0].position + fragments[0].length));
      const sof = markerAt(first, 0xc3);
      const scanEnd = markerAt(first, 0xda) + 2 + first.readUInt16BE(markerAt(first, 0xda) + 2);
      const tables = Buffer.from(first.subarray(sof, scanEnd + 4096));
      tables.writeUInt16BE(65_535, 5);
      tables.writeUInt16BE(65_535, 7);
      const hidden = Buffer.alloc(2 + 0xffc3);
      hidden.set([0xff, 0xf1]);
      tables.copy(hidden, 2);
      const codestream = Buffer.concat([first.subarray(0, 2), hidden, first.subarray(2)]);
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.jpegLosslessSv1, rows: 512, columns: 512, pixels: { fragments: [codestream] } });
      expectRefused(await convert(new DicosAdapter(), [{ name: 'hidden.dcm', data: file }]), 'malformed_input', /frame header declares 65535 x 65535/);
    });
  });

  describe('JPEG 2000 and JPEG-LS', () => {
    it('refuses a JPEG 2000 frame whose SIZ claims 20000 x 20000 pixels, before decoding', async () => {
      const file = Buffer.from(generated.get('j2k-lossless.dcm') as Buffer);
      const siz = markerAt(file, 0x51, 132);
      file.writeUInt32BE(20_000, siz + 6);
      file.writeUInt32BE(20_000, siz + 10);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'bomb.dcm', data: file }]), 'malformed_input', /codestream declares 20000 x 20000/);
    });

    it('refuses a JPEG 2000 frame of 64 x 60000 pixels in a 64 x 48 image (OpenJPEG would decode 3.8 M pixels)', async () => {
      const file = Buffer.from(generated.get('j2k-lossless.dcm') as Buffer);
      const siz = markerAt(file, 0x51, 132);
      file.writeUInt32BE(60_000, siz + 10);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'tall.dcm', data: file }]), 'malformed_input', /codestream declares 64 x 60000/);
    });

    it('refuses a JPEG-LS frame whose SOF55 claims 65535 x 65535 pixels', async () => {
      const file = Buffer.from(generated.get('jpeg-ls.dcm') as Buffer);
      const sof = markerAt(file, 0xf7, 132);
      file.writeUInt16BE(65_535, sof + 5);
      file.writeUInt16BE(65_535, sof + 7);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'bomb.dcm', data: file }]), 'malformed_input', /codestream declares 65535 x 65535/);
    });

    it('loads a codec again after it was dropped (as after a wasm abort) and still decodes', async () => {
      const file = generated.get('j2k-lossless.dcm') as Buffer;
      const ds = dicomParser.parseDicom(new Uint8Array(file));
      const [fragment] = ds.elements.x7fe00010.fragments ?? [];
      const codestream = file.subarray(fragment.position, fragment.position + fragment.length);
      await decodeJpeg2000(codestream);
      dropCodecInstances();
      const again = await decodeJpeg2000(codestream);
      expect([again.width, again.height]).toEqual([64, 48]);
    });
  });

  describe('RLE', () => {
    it('refuses an RLE file declaring 60000 x 60000 pixels as too_many_pixels', async () => {
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.rle, rows: 60_000, columns: 60_000, pixels: { fragments: [rleFrame(new Uint16Array(16))] } });
      expectRefused(await convert(new DicosAdapter(), [{ name: 'bomb.dcm', data: file }]), 'too_many_pixels');
    });

    it('refuses 64 RLE frames of a full plane each (a 90 KB file for 128 MB of pixels) as too_many_pixels', async () => {
      // PackBits repeat runs: two bytes for 128 samples. One 1000 x 1000 frame is 31 KB; 64 of them share fragments.
      const run = Buffer.alloc(2 * Math.ceil(1_000_000 / 128));
      for (let i = 0; i < run.length; i += 2) run[i] = 0x81;
      const header = Buffer.alloc(64);
      header.writeUInt32LE(2, 0);
      header.writeUInt32LE(64, 4);
      header.writeUInt32LE(64 + run.length, 8);
      const frame = Buffer.concat([header, run, run]);
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.rle, rows: 1000, columns: 1000, frames: 64, pixels: { fragments: Array.from({ length: 64 }, () => frame) } });
      expectRefused(await convert(new DicosAdapter(), [{ name: 'frames.dcm', data: file }]), 'too_many_pixels', /64 frames/);
    });
  });

  describe('DICOM frames and deflate', () => {
    it('refuses 2^31 - 1 frames of one pixel at once, without iterating them', async () => {
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: 1, columns: 1, frames: 2147483647, pixels: { native: Buffer.alloc(2) } });
      expectRefused(await convert(new DicosAdapter(), [{ name: 'frames.dcm', data: file }]), 'unsupported_variant', /2147483647 frames/);
    });

    it('refuses a frame count of 1e999 (Infinity)', async () => {
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: 1, columns: 1, pixels: { native: Buffer.alloc(2) } });
      const withFrames = dicomFile({
        transferSyntax: TRANSFER_SYNTAX.explicitLittle,
        rows: 1,
        columns: 1,
        frames: 1,
        pixels: { native: Buffer.alloc(2) },
      });
      expect(withFrames.length).toBe(file.length + 10);
      const at = withFrames.indexOf(Buffer.from([0x28, 0x00, 0x08, 0x00, 0x49, 0x53]));
      const patched = Buffer.concat([withFrames.subarray(0, at + 6), Buffer.from([6, 0]), Buffer.from('1e999 ', 'latin1'), withFrames.subarray(at + 10)]);
      expectRefused(await convert(new DicosAdapter(), [{ name: 'infinite.dcm', data: patched }]), 'unsupported_variant', /Infinity frames/);
    });

    it('stops inflating a 1 MB deflated data set that expands to 1 GB (too_many_pixels)', async () => {
      const body = deflateRawZeros(new Uint8Array(0), GIB);
      expect(body.length).toBeLessThan(1_100_000);
      const file = dicomFile({ transferSyntax: TRANSFER_SYNTAX.deflatedExplicitLittle, rows: 10, columns: 10, pixels: { native: Buffer.alloc(200) }, deflatedBody: body });
      expectRefused(await convert(new DicosAdapter(), [{ name: 'deflate.dcm', data: file }]), 'too_many_pixels', /inflates to more than/);
    });

    it('still reads a deflated data set within the limits', async () => {
      const outcome = await convert(new DicosAdapter(), [{ name: 'deflated.dcm', data: generated.get('deflated.dcm') as Buffer }]);
      expect(outcome.error).toBeUndefined();
      expect(outcome.other).toBeUndefined();
    });
  });

  describe('TIFF', () => {
    const strips = (width: number, height: number, rows: number, bytesPerSample: number): Buffer[] => {
      const out: Buffer[] = [];
      for (let y = 0; y < height; y += rows) out.push(zlibZeros(new Uint8Array(0), Math.min(rows, height - y) * width * bytesPerSample));
      return out;
    };

    it('refuses a deflated TIFF of 20000 x 20000 pixels (800 MB in a 780 KB file) as too_many_pixels', async () => {
      const tif = tiffFile([{ width: 20_000, height: 20_000, compression: 8, rowsPerStrip: 2000, strips: strips(20_000, 20_000, 2000, 2) }]);
      expect(tif.length).toBeLessThan(1_000_000);
      expectRefused(await convert(new TiffSidecarAdapter(), [{ name: 'bomb.tif', data: tif }, sidecarFor([{ name: 'bomb.tif' }])]), 'too_many_pixels');
    });

    it('refuses a small first page followed by a deflated 20000 x 20000 second page as too_many_pixels', async () => {
      const small = { width: 40, height: 20, rowsPerStrip: 20, strips: [Buffer.alloc(40 * 20 * 2)] };
      const big = { width: 20_000, height: 20_000, compression: 8, rowsPerStrip: 2000, strips: strips(20_000, 20_000, 2000, 2) };
      const tif = tiffFile([small, big]);
      expectRefused(
        await convert(new TiffSidecarAdapter(), [{ name: 'pages.tif', data: tif }, sidecarFor([{ name: 'pages.tif', pages: 2 }])]),
        'too_many_pixels',
        /20000 x 20000/,
      );
    });

    it('stops at the declared strip when a deflated strip of a 1000 x 1000 page expands to 1 GB', async () => {
      const tif = tiffFile([{ width: 1000, height: 1000, compression: 8, rowsPerStrip: 1000, strips: [zlibZeros(new Uint8Array(0), GIB)] }]);
      expectBounded(await convert(new TiffSidecarAdapter(), [{ name: 'long.tif', data: tif }, sidecarFor([{ name: 'long.tif' }])]));
    });
  });

  describe('tar (niix bundle)', () => {
    async function bundle(parts: { path: string; data: Buffer }[]): Promise<Buffer> {
      return buffer(writeTar(parts, { mtime: new Date('2026-11-20T06:16:02Z') }));
    }

    /** Offset of the tar header of `name` (a 512-byte block starting with it). */
    function headerOf(tar: Buffer, name: string): number {
      for (let at = 0; at + 512 <= tar.length; at += 512) if (tar.toString('latin1', at, at + name.length + 1) === `${name}\0`) return at;
      throw new Error(`no tar header for ${name}`);
    }

    async function samplePackage(): Promise<{ manifest: ReturnType<typeof JSON.parse>; parts: { path: string; data: Buffer }[] }> {
      const built = await buildPackage(sampleBuildInput());
      return { manifest: JSON.parse(serialiseManifest(built.manifest).toString('utf8')), parts: built.parts.map((p) => ({ path: p.path, data: p.data })) };
    }

    it('refuses an entry claiming 8 GB in a small file', async () => {
      const { manifest, parts } = await samplePackage();
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...parts]);
      const planeHeader = headerOf(tar, 'views/top/high.png');
      tar.write('77777777777\0', planeHeader + 124, 'latin1');
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: resealTarChecksums(tar) }]), 'malformed_input', /claims 8589934591 bytes/);
    });

    it('refuses a pax record giving an entry a size of 10^15 bytes', async () => {
      const { manifest, parts } = await samplePackage();
      const pax = Buffer.from('25 size=1000000000000000\n', 'latin1');
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, { path: 'paxheader', data: pax }, ...parts]);
      const paxHeader = headerOf(tar, 'paxheader');
      tar.write('x', paxHeader + 156, 'latin1');
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: resealTarChecksums(tar) }]), 'malformed_input', /claims 1000000000000000 bytes/);
    });

    it('refuses 10001 entries', async () => {
      const { manifest } = await samplePackage();
      const many = Array.from({ length: 10_001 }, (_, i) => ({ path: `x/${i}`, data: Buffer.alloc(0) }));
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...many]);
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: tar }]), 'malformed_input', /more than 10000 entries/);
    });

    it('refuses a manifest declaring a 100000 x 100000 view as too_many_pixels', async () => {
      const { manifest, parts } = await samplePackage();
      manifest.views[0].width = 100_000;
      manifest.views[0].height = 100_000;
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...parts]);
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: tar }]), 'too_many_pixels');
    });

    it('refuses a plane PNG of 20000 x 20000 pixels (800 MB, checksums resealed) before decoding it', async () => {
      const { manifest, parts } = await samplePackage();
      const bomb = blackPng(20_000, 20_000, 16);
      parts[0] = { path: parts[0].path, data: bomb };
      manifest.views[0].planes[0].sha256 = sha256Hex(bomb);
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...parts]);
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: tar }]), 'too_many_pixels', /views\/top\/high\.png declares a plane of 20000 x 20000/);
    });

    it('refuses a plane PNG larger than its view (within the limit) before decoding it', async () => {
      const { manifest, parts } = await samplePackage();
      const other = blackPng(900, 1000, 16);
      parts[0] = { path: parts[0].path, data: other };
      manifest.views[0].planes[0].sha256 = sha256Hex(other);
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...parts]);
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: tar }]), 'malformed_input', /is 900 x 1000 pixels, the manifest says 40 x 24/);
    });

    it('refuses a manifest.json over 4 MB', async () => {
      const { manifest, parts } = await samplePackage();
      manifest.padding = 'x'.repeat(5 * 1024 * 1024);
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...parts]);
      expectRefused(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: tar }]), 'malformed_input', /more than the limit/);
    });

    it('keeps a zlib stream inside a plane bounded by the plane (IDAT of 1 GB for a 40 x 24 plane)', async () => {
      const { manifest, parts } = await samplePackage();
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(40, 0);
      ihdr.writeUInt32BE(24, 4);
      ihdr.set([16, 0, 0, 0, 0], 8);
      const png = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        pngChunk('IHDR', ihdr),
        pngChunk('IDAT', zlibZeros(new Uint8Array(0), GIB)),
        pngChunk('IEND', Buffer.alloc(0)),
      ]);
      parts[0] = { path: parts[0].path, data: png };
      manifest.views[0].planes[0].sha256 = sha256Hex(png);
      const tar = await bundle([{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...parts]);
      expectBounded(await convert(new NiixBundleAdapter(), [{ name: 'b.tar', data: tar }]));
    });
  });

  it('keeps deflateSync-made and hand-made zlib streams equivalent (sanity of the bomb writer)', () => {
    const made = zlibZeros(Buffer.from([1, 2, 3]), 5000);
    const reference = deflateSync(Buffer.concat([Buffer.from([1, 2, 3]), Buffer.alloc(5000)]));
    expect(made.subarray(-4)).toEqual(reference.subarray(-4));
  });
});
