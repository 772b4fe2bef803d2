import { crc32, deflateRawSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { encodeDataSet, encodeElement, element, type DicomElement } from './dicos/dicom-writer.js';
import { DICOS_SOP_CLASS, TRANSFER_SYNTAX } from './dicos/dicom-uids.js';
import type { FuzzFile, NumericField, TextField } from './fuzz.testing.js';
import type { HeaderField, RawProfile } from './raw-profile/raw-profile.schema.js';
import { FIELD_SIZES } from './raw-profile/raw-profile.schema.js';

/**
 * Builders of hostile input files for the fuzz and decompression-bomb specs (test helpers, not used by production
 * code): deflate streams that expand a thousandfold, PNG, TIFF and DICOM files built byte by byte, and the header
 * fields of each format that the fuzzer sets to extreme values.
 */

// ---------------------------------------------------------------------------------------------------------------
// Deflate streams of zeros, written directly (no need to hold the expanded bytes to make them)

class BitWriter {
  private readonly chunks: Buffer[] = [];
  private buffer = Buffer.alloc(1 << 16);
  private at = 0;
  private bits = 0;
  private count = 0;

  /** `count` bits of `value`, least significant first (deflate's header fields and extra bits). */
  put(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.bit((value >>> i) & 1);
  }

  /** A Huffman code, most significant bit first. */
  code(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bit((code >>> i) & 1);
  }

  private bit(b: number): void {
    this.bits |= b << this.count;
    if (++this.count === 8) {
      if (this.at === this.buffer.length) {
        this.chunks.push(this.buffer);
        this.buffer = Buffer.alloc(this.buffer.length);
        this.at = 0;
      }
      this.buffer[this.at++] = this.bits;
      this.bits = 0;
      this.count = 0;
    }
  }

  finish(): Buffer {
    if (this.count > 0) this.put(0, 8 - this.count);
    return Buffer.concat([...this.chunks, this.buffer.subarray(0, this.at)]);
  }
}

/** Fixed-Huffman code of a literal byte or end-of-block (RFC 1951 3.2.6). */
function literal(w: BitWriter, value: number): void {
  if (value < 144) w.code(0x30 + value, 8);
  else if (value < 256) w.code(0x190 + value - 144, 9);
  else w.code(value - 256, 7);
}

/**
 * A raw deflate stream of `prefix` followed by `zeros` zero bytes: the prefix in a fixed-Huffman block, then one
 * dynamic-Huffman block whose only codes are a zero literal, end-of-block and "258 bytes at distance 1" (one bit for the
 * length, one for the distance): 2 bits per 258 bytes, the deflate maximum of about 1000:1. A 1 MB stream inflates to
 * 1 GB, and writing it takes a fraction of a second (the expanded bytes are never held).
 */
export function deflateRawZeros(prefix: Uint8Array, zeros: number): Buffer {
  const w = new BitWriter();
  if (prefix.length > 0) {
    w.put(0, 1); // not the final block
    w.put(1, 2); // fixed Huffman
    for (const byte of prefix) literal(w, byte);
    literal(w, 256);
  }
  w.put(1, 1); // final block
  w.put(2, 2); // dynamic Huffman
  w.put(286 - 257, 5); // HLIT: literal/length codes 0..285
  w.put(0, 5); // HDIST: one distance code
  w.put(18 - 4, 4); // HCLEN: code length codes up to the 18th in the permuted order
  // Code length code lengths in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1: symbol 18 one bit, 1 and 2 two.
  for (const length of [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2]) w.put(length, 3);
  // Canonical codes: 18 -> 0, 1 -> 10, 2 -> 11. Lengths: literal 0: 2, 1..255: 0, 256: 2, 257..284: 0, 285: 1; distance 0: 1.
  const two = (): void => w.code(0b11, 2);
  const one = (): void => w.code(0b10, 2);
  const zerosRun = (n: number): void => {
    w.code(0, 1);
    w.put(n - 11, 7);
  };
  two();
  zerosRun(138);
  zerosRun(117);
  two();
  zerosRun(28);
  one();
  one();
  // Literal/length codes: 285 -> 0, literal 0 -> 10, end-of-block -> 11; distance code 0 -> 0.
  let left = zeros;
  if (left > 0) {
    w.code(0b10, 2);
    left--;
  }
  for (; left >= 258; left -= 258) w.code(0b00, 2);
  for (; left > 0; left--) w.code(0b10, 2);
  w.code(0b11, 2);
  return w.finish();
}

/** The same as a zlib stream (RFC 1950): header, raw deflate, Adler-32 of the expanded bytes. */
export function zlibZeros(prefix: Uint8Array, zeros: number): Buffer {
  let a = 1;
  let b = 0;
  for (const byte of prefix) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  b = (b + a * (zeros % 65521)) % 65521;
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0, 0);
  return Buffer.concat([Buffer.from([0x78, 0x01]), deflateRawZeros(prefix, zeros), adler]);
}

// ---------------------------------------------------------------------------------------------------------------
// PNG

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * A greyscale PNG whose IDAT is the zlib stream of an all-black image (filter byte 0 and zero samples on every row),
 * written without expanding it: a 30000 x 30000 16-bit PNG is under 2 MB. `idatRows` < height cuts the data short.
 */
export function blackPng(width: number, height: number, bitDepth: 8 | 16, options: { idatRows?: number; extraChunks?: Buffer[] } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, 0, 0, 0, 0], 8);
  const rows = options.idatRows ?? height;
  const idat = zlibZeros(new Uint8Array(0), rows * (1 + (width * bitDepth) / 8));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), ...(options.extraChunks ?? []), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Chunk length fields and the IHDR fields of a PNG. */
export function pngFields(data: Buffer, file = 0): NumericField[] {
  const fields: NumericField[] = [];
  let at = 8;
  for (let n = 0; at + 8 <= data.length && n < 64; n++) {
    const length = data.readUInt32BE(at);
    fields.push({ file, offset: at, size: 4, little: false });
    const type = data.toString('latin1', at + 4, at + 8);
    if (type === 'IHDR') {
      fields.push({ file, offset: at + 8, size: 4, little: false }, { file, offset: at + 12, size: 4, little: false });
      for (let i = 16; i < 21; i++) fields.push({ file, offset: at + 8 + i - 8, size: 1, little: false });
    }
    if (type === 'IDAT' && n < 8) fields.push({ file, offset: at + 8, size: 1, little: false }, { file, offset: at + 9, size: 1, little: false });
    at += 12 + length;
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG

/** Marker segment lengths and the frame, scan, table and restart fields of a JPEG codestream at `start`. */
export function jpegFields(data: Uint8Array, file = 0, start = 0): NumericField[] {
  const fields: NumericField[] = [];
  const be = (offset: number, size: 1 | 2): NumericField => ({ file, offset, size, little: false });
  if (data[start] !== 0xff || data[start + 1] !== 0xd8) return fields;
  let at = start + 2;
  for (let n = 0; at + 4 <= data.length && n < 64; n++) {
    if (data[at] !== 0xff) break;
    const marker = data[at + 1];
    if (marker === 0xd9) break;
    const length = (data[at + 2] << 8) | data[at + 3];
    fields.push(be(at + 2, 2));
    const body = at + 4;
    if ((marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7) {
      // P, Y, X, Nf, then per component: id, sampling factors, table
      fields.push(be(body, 1), be(body + 1, 2), be(body + 3, 2), be(body + 5, 1));
      for (let c = 0; c < 4 && body + 6 + 3 * c + 2 < data.length; c++) fields.push(be(body + 7 + 3 * c, 1), be(body + 8 + 3 * c, 1));
    } else if (marker === 0xc4) {
      fields.push(be(body, 1));
      for (let i = 1; i <= 16; i += 3) fields.push(be(body + i, 1));
    } else if (marker === 0xdd) {
      fields.push(be(body, 2));
    } else if (marker === 0xda) {
      fields.push(be(body, 1), be(body + 2, 1), be(length + at - 1, 1), be(length + at, 1));
      break;
    } else if (marker === 0xdb) {
      fields.push(be(body, 1));
    }
    at += 2 + length;
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG 2000

/** The SIZ and COD fields of a JPEG 2000 codestream at `start`. */
export function j2kFields(data: Uint8Array, file = 0, start = 0): NumericField[] {
  const fields: NumericField[] = [];
  const be = (offset: number, size: 1 | 2 | 4): NumericField => ({ file, offset, size, little: false });
  const limit = Math.min(data.length - 4, start + 4096);
  for (let at = start; at < limit; at++) {
    if (data[at] !== 0xff) continue;
    if (data[at + 1] === 0x51) {
      // Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz Ssiz XRsiz YRsiz
      fields.push(be(at + 2, 2), be(at + 4, 2));
      for (let i = 0; i < 8; i++) fields.push(be(at + 6 + 4 * i, 4));
      fields.push(be(at + 38, 2), be(at + 40, 1), be(at + 41, 1), be(at + 42, 1));
    } else if (data[at + 1] === 0x52) {
      // Lcod Scod progression layers(2) MCT levels cbw cbh cbstyle transform
      fields.push(be(at + 2, 2), be(at + 4, 1), be(at + 5, 1), be(at + 6, 2), be(at + 8, 1), be(at + 9, 1), be(at + 10, 1), be(at + 11, 1), be(at + 13, 1));
    } else if (data[at + 1] === 0x90) {
      // SOT: Lsot Isot Psot TPsot TNsot
      fields.push(be(at + 2, 2), be(at + 4, 2), be(at + 6, 4), be(at + 10, 1), be(at + 11, 1));
      break;
    }
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------------------
// TIFF

export interface TiffPage {
  width: number;
  height: number;
  bitsPerSample?: number;
  samplesPerPixel?: number;
  /** 1 none, 8 deflate (zlib), 32773 PackBits. */
  compression?: number;
  /** The stored strips, compressed as `compression` says. */
  strips: Buffer[];
  rowsPerStrip: number;
}

/** A little-endian classic TIFF of the given pages, strips first, then each page's directory. */
export function tiffFile(pages: TiffPage[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 8;
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  parts.push(header);
  const add = (b: Buffer): number => {
    const at = offset;
    parts.push(b);
    offset += b.length;
    if (b.length % 2) {
      parts.push(Buffer.alloc(1));
      offset++;
    }
    return at;
  };
  let previousNext = 4;
  const patches: { at: number; value: number }[] = [];
  for (const page of pages) {
    const stripOffsets = page.strips.map((strip) => add(strip));
    const array = (values: number[]): { count: number; inline: number | undefined; at: number | undefined } => {
      if (values.length === 1) return { count: 1, inline: values[0], at: undefined };
      const b = Buffer.alloc(4 * values.length);
      values.forEach((v, i) => b.writeUInt32LE(v, 4 * i));
      return { count: values.length, inline: undefined, at: add(b) };
    };
    const offsets = array(stripOffsets);
    const counts = array(page.strips.map((s) => s.length));
    const entries: [number, number, number, number][] = [
      [256, 4, 1, page.width],
      [257, 4, 1, page.height],
      [258, 3, 1, page.bitsPerSample ?? 16],
      [259, 3, 1, page.compression ?? 1],
      [262, 3, 1, 1],
      [273, 4, offsets.count, offsets.inline ?? (offsets.at as number)],
      [277, 3, 1, page.samplesPerPixel ?? 1],
      [278, 4, 1, page.rowsPerStrip],
      [279, 4, counts.count, counts.inline ?? (counts.at as number)],
      [284, 3, 1, 1],
      [339, 3, 1, 1],
    ];
    const ifd = Buffer.alloc(2 + entries.length * 12 + 4);
    ifd.writeUInt16LE(entries.length, 0);
    entries.forEach(([tag, type, count, value], i) => {
      const e = 2 + i * 12;
      ifd.writeUInt16LE(tag, e);
      ifd.writeUInt16LE(type, e + 2);
      ifd.writeUInt32LE(count, e + 4);
      if (type === 3 && count === 1) ifd.writeUInt16LE(value, e + 8);
      else ifd.writeUInt32LE(value, e + 8);
    });
    const ifdAt = add(ifd);
    patches.push({ at: previousNext, value: ifdAt });
    previousNext = ifdAt + 2 + entries.length * 12;
  }
  const out = Buffer.concat(parts);
  for (const p of patches) out.writeUInt32LE(p.value, p.at);
  out.writeUInt32LE(0, previousNext);
  return out;
}

/** The first directory offset and, per directory (up to 8), its entry count and every entry's type, count and value. */
export function tiffFields(data: Buffer, file = 0): NumericField[] {
  const fields: NumericField[] = [];
  if (data.length < 8) return fields;
  const little = data[0] === 0x49;
  const u16 = (at: number): number => (little ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const f = (offset: number, size: 2 | 4): NumericField => ({ file, offset, size, little });
  fields.push(f(4, 4));
  let ifd = u32(4);
  const seen = new Set<number>();
  for (let page = 0; page < 8 && ifd >= 8 && ifd + 2 <= data.length && !seen.has(ifd); page++) {
    seen.add(ifd);
    const count = u16(ifd);
    fields.push(f(ifd, 2));
    for (let i = 0; i < count && ifd + 2 + 12 * (i + 1) <= data.length; i++) {
      const e = ifd + 2 + 12 * i;
      fields.push(f(e + 2, 2), f(e + 4, 4), f(e + 8, 4));
      // The first values of an offset/byte-count array stored outside the entry.
      const type = u16(e + 2);
      const n = u32(e + 4);
      const tag = u16(e);
      if ((tag === 273 || tag === 279) && type === 4 && n > 1 && u32(e + 8) + 8 <= data.length) fields.push(f(u32(e + 8), 4), f(u32(e + 8) + 4, 4));
    }
    const next = ifd + 2 + 12 * count;
    if (next + 4 > data.length) break;
    fields.push(f(next, 4));
    ifd = u32(next);
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------------------
// DICOM

/** Pixel data of a built DICOM file: native bytes, or encapsulated fragments (one frame each unless `frames` says). */
export type DicomPixels = { native: Buffer; vr?: 'OB' | 'OW' } | { fragments: Buffer[]; offsetTable?: number[] };

export interface DicomFileSpec {
  transferSyntax: string;
  rows: number;
  columns: number;
  bitsAllocated?: number;
  bitsStored?: number;
  samplesPerPixel?: number;
  photometric?: string;
  pixelRepresentation?: number;
  frames?: number;
  pixels: DicomPixels;
  /** More elements of the data set (explicit VR little endian). */
  elements?: DicomElement[];
  /** Floating-point pixels (7FE0,0008 OF) instead of `pixels`. */
  floatPixels?: Float32Array;
  /** For the deflated transfer syntax: the bytes after the file meta group, instead of deflating the data set. */
  deflatedBody?: Buffer;
}

function encapsulated(fragments: Buffer[], offsetTable: number[] = []): Buffer {
  const item = (body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(0xfffe, 0);
    head.writeUInt16LE(0xe000, 2);
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body]);
  };
  const table = Buffer.alloc(4 * offsetTable.length);
  offsetTable.forEach((v, i) => table.writeUInt32LE(v, 4 * i));
  const head = Buffer.alloc(12);
  head.writeUInt16LE(0x7fe0, 0);
  head.writeUInt16LE(0x0010, 2);
  head.write('OB', 4, 'latin1');
  head.writeUInt32LE(0xffffffff, 8);
  const end = Buffer.alloc(8);
  end.writeUInt16LE(0xfffe, 0);
  end.writeUInt16LE(0xe0dd, 2);
  const even = (b: Buffer): Buffer => (b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : b);
  return Buffer.concat([head, item(table), ...fragments.map((f) => item(even(f))), end]);
}

/** A Part 10 DICOS DX file in any transfer syntax, built byte by byte (the data set in explicit VR little endian). */
export function dicomFile(spec: DicomFileSpec): Buffer {
  const bits = spec.bitsAllocated ?? 16;
  const meta = encodeDataSet([
    element(0x00020001, 'OB', new Uint8Array([0, 1])),
    element(0x00020002, 'UI', DICOS_SOP_CLASS.dxForProcessing),
    element(0x00020003, 'UI', '2.25.1'),
    element(0x00020010, 'UI', spec.transferSyntax),
    element(0x00020012, 'UI', '2.25.2'),
  ]);
  const group = encodeElement(element(0x00020000, 'UL', meta.length));
  const dataSet = encodeDataSet([
    element(0x00080016, 'UI', DICOS_SOP_CLASS.dxForProcessing),
    element(0x00080018, 'UI', '2.25.1'),
    element(0x00080070, 'LO', 'Hostile Input Ltd'),
    element(0x00280002, 'US', spec.samplesPerPixel ?? 1),
    element(0x00280004, 'CS', spec.photometric ?? 'MONOCHROME2'),
    ...(spec.frames !== undefined ? [element(0x00280008, 'IS', String(spec.frames))] : []),
    element(0x00280010, 'US', spec.rows),
    element(0x00280011, 'US', spec.columns),
    element(0x00280100, 'US', bits),
    element(0x00280101, 'US', spec.bitsStored ?? bits),
    element(0x00280102, 'US', (spec.bitsStored ?? bits) - 1),
    element(0x00280103, 'US', spec.pixelRepresentation ?? 0),
    ...(spec.elements ?? []),
  ]);
  let pixels: Buffer;
  if (spec.floatPixels) {
    const body = Buffer.from(spec.floatPixels.buffer, spec.floatPixels.byteOffset, spec.floatPixels.byteLength);
    const head = Buffer.alloc(12);
    head.writeUInt16LE(0x7fe0, 0);
    head.writeUInt16LE(0x0008, 2);
    head.write('OF', 4, 'latin1');
    head.writeUInt32LE(body.length, 8);
    pixels = Buffer.concat([head, body]);
  } else if ('native' in spec.pixels) {
    const body = spec.pixels.native.length % 2 ? Buffer.concat([spec.pixels.native, Buffer.alloc(1)]) : spec.pixels.native;
    const head = Buffer.alloc(12);
    head.writeUInt16LE(0x7fe0, 0);
    head.writeUInt16LE(0x0010, 2);
    head.write(spec.pixels.vr ?? (bits === 8 ? 'OB' : 'OW'), 4, 'latin1');
    head.writeUInt32LE(body.length, 8);
    pixels = Buffer.concat([head, body]);
  } else {
    pixels = encapsulated(spec.pixels.fragments, spec.pixels.offsetTable);
  }
  let body: Buffer = Buffer.concat([dataSet, pixels]);
  if (spec.transferSyntax === TRANSFER_SYNTAX.deflatedExplicitLittle) body = spec.deflatedBody ?? deflateRawSync(body);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), group, meta, body]);
}

/** PackBits RLE frame (DICOM Annex G) of 16-bit samples: a high-byte segment and a low-byte segment, literal runs. */
export function rleFrame(samples: Uint16Array): Buffer {
  const segment = (bytes: Uint8Array): Buffer => {
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 128) {
      const run = bytes.subarray(i, Math.min(bytes.length, i + 128));
      parts.push(Buffer.from([run.length - 1]), Buffer.from(run));
    }
    const out = Buffer.concat(parts);
    return out.length % 2 ? Buffer.concat([out, Buffer.from([0x80])]) : out;
  };
  const high = segment(Uint8Array.from(samples, (v) => v >> 8));
  const low = segment(Uint8Array.from(samples, (v) => v & 0xff));
  const header = Buffer.alloc(64);
  header.writeUInt32LE(2, 0);
  header.writeUInt32LE(64, 4);
  header.writeUInt32LE(64 + high.length, 8);
  return Buffer.concat([header, high, low]);
}

/** US attributes of the image pixel module that the fuzzer sets to extreme values. */
const US_TAGS = ['x00280002', 'x00280006', 'x00280010', 'x00280011', 'x00280100', 'x00280101', 'x00280102', 'x00280103', 'x00281041'];
/** Text attributes the fuzzer rewrites: frames, transfer syntax, SOP class, photometric, rescale, spacing, image type. */
const TEXT_TAGS = ['x00280008', 'x00020010', 'x00080016', 'x00280004', 'x00281052', 'x00281053', 'x00280030', 'x00080008', 'x00180060', 'x00185101'];
const UI_TAGS = new Set(['x00020010', 'x00080016']);

/**
 * The fields of a Part 10 file worth editing: the image pixel module's numbers, the lengths of the top-level elements,
 * pixel data fragment lengths, offset table entries and the headers of the codestreams inside (JPEG frame and scan
 * headers, JPEG 2000 SIZ/COD, RLE segment tables). Nothing inside a deflated data set.
 */
export function dicomFields(data: Buffer, file = 0): { numeric: NumericField[]; text: TextField[] } {
  const numeric: NumericField[] = [];
  const text: TextField[] = [];
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), { inflater: (bytes) => bytes });
  } catch {
    return { numeric, text };
  }
  const ts = ds.string('x00020010') ?? '';
  if (ts === TRANSFER_SYNTAX.deflatedExplicitLittle) {
    return { numeric: [], text: [{ file, offset: ds.elements.x00020010.dataOffset, length: ds.elements.x00020010.length, pad: 0 }] };
  }
  const little = ts !== TRANSFER_SYNTAX.explicitBig;
  const implicit = ts === TRANSFER_SYNTAX.implicitLittle;
  // Length fields of a few elements only (pixel data, text attributes, the meta group length): one per element would
  // outnumber the image attributes and make most edits plain parse errors.
  const lengthTags = new Set(['x7fe00010', 'x7fe00008', 'x00020000', 'x00280010', ...TEXT_TAGS]);
  if (ds.elements.x00020000) numeric.push({ file, offset: ds.elements.x00020000.dataOffset, size: 4, little: true });
  for (const [tag, el] of Object.entries(ds.elements)) {
    const meta = tag.startsWith('x0002');
    const le = meta || little;
    if (US_TAGS.includes(tag) && el.length >= 2) numeric.push({ file, offset: el.dataOffset, size: 2, little: le });
    // The element's length field, just before its value.
    const long = implicit && !meta ? true : el.hadUndefinedLength || ['OB', 'OW', 'OF', 'OD', 'OL', 'SQ', 'UN', 'UT', 'UC', 'UR'].includes(el.vr ?? '');
    const lengthField: NumericField = { file, offset: el.dataOffset - (long ? 4 : 2), size: long ? 4 : 2, little: le };
    if (el.dataOffset >= 4 && lengthTags.has(tag)) numeric.push(lengthField);
    // The meta group's length counts the meta elements: a resized meta text would break it, so those stay in place.
    if (TEXT_TAGS.includes(tag) && el.length > 0) {
      text.push({ file, offset: el.dataOffset, length: el.length, pad: UI_TAGS.has(tag) ? 0 : 0x20, ...(meta ? {} : { lengthField }) });
    }
  }
  const pixelData = ds.elements.x7fe00010;
  if (pixelData?.encapsulatedPixelData && pixelData.fragments) {
    const bot = pixelData.basicOffsetTable ?? [];
    for (let i = 0; i < Math.min(bot.length, 4); i++) numeric.push({ file, offset: pixelData.dataOffset + 8 + 4 * i, size: 4, little: true });
    pixelData.fragments.slice(0, 4).forEach((fragment, i) => {
      numeric.push({ file, offset: fragment.position - 4, size: 4, little: true });
      if (i > 1) return;
      const at = fragment.position;
      if (ts === TRANSFER_SYNTAX.rle) {
        for (let k = 0; k < 4; k++) numeric.push({ file, offset: at + 4 * k, size: 4, little: true });
      } else if (data[at] === 0xff && data[at + 1] === 0xd8) {
        numeric.push(...jpegFields(data, file, at));
      } else {
        numeric.push(...j2kFields(data, file, at));
      }
    });
  }
  return { numeric, text };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw profile files, tar bundles

/** The header fields a raw profile reads from the file. */
export function rawProfileFields(profile: RawProfile, file = 0): NumericField[] {
  const fields: NumericField[] = [];
  const add = (field: HeaderField | number | undefined): void => {
    if (field === undefined || typeof field === 'number') return;
    const size = FIELD_SIZES[field.type];
    if (size === 1 || size === 2 || size === 4 || size === 8) {
      fields.push({ file, offset: field.offset, size, little: (field.endianness ?? profile.endianness) === 'little' });
    }
  };
  add(profile.headerLength);
  add(profile.width);
  add(profile.height);
  add(profile.air);
  add(profile.timestamp);
  if (profile.view && 'field' in profile.view) add(profile.view.field);
  return fields;
}

/** Every tar header's size, mode, checksum and type fields, as text (octal). */
export function tarFields(data: Buffer, file = 0): TextField[] {
  const fields: TextField[] = [];
  for (let at = 0; at + 512 <= data.length; at += 512) {
    if (data.toString('latin1', at + 257, at + 262) !== 'ustar') continue;
    fields.push(
      { file, offset: at + 124, length: 12, pad: 0 },
      { file, offset: at + 148, length: 8, pad: 0 },
      { file, offset: at + 156, length: 1, pad: 0 },
      { file, offset: at + 100, length: 8, pad: 0 },
      { file, offset: at, length: 100, pad: 0 },
    );
  }
  return fields;
}

/** Rewrites every ustar header's checksum, so edits of the other header fields reach the reader's later checks. */
export function resealTarChecksums(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let at = 0; at + 512 <= out.length; at += 512) {
    if (out.toString('latin1', at + 257, at + 262) !== 'ustar') continue;
    out.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += out[at + i];
    out.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
  }
  return out;
}

/** Numbers in a JSON or XML text (`"key": 123`, `key="123"`, `<Key>123</Key>`) as text fields: manifests, sidecars. */
export function textNumberFields(data: Buffer, file = 0): TextField[] {
  const fields: TextField[] = [];
  const text = data.toString('latin1');
  const pattern = /(?:"[A-Za-z]+"\s*:\s*|[A-Za-z]+="|<[A-Za-z]+>)(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  for (let m = pattern.exec(text); m && fields.length < 64; m = pattern.exec(text)) {
    fields.push({ file, offset: m.index + m[0].length - m[1].length, length: m[1].length, pad: 0x20 });
  }
  return fields;
}

/** String values of a JSON text under keys that steer a reader (paths, ids, energies, checksums) as text fields. */
export function jsonStringFields(data: Buffer, file = 0): TextField[] {
  const fields: TextField[] = [];
  const text = data.toString('latin1');
  const pattern = /"(?:path|id|energy|sha256|name|format|formatVersion|scanId|stationId)"\s*:\s*"([^"]*)"/g;
  for (let m = pattern.exec(text); m && fields.length < 64; m = pattern.exec(text)) {
    fields.push({ file, offset: m.index + m[0].length - 1 - m[1].length, length: m[1].length, pad: 0x20 });
  }
  return fields;
}

/** Files as the fuzzer takes them. */
export function fuzzFile(name: string, data: Buffer): FuzzFile {
  return { name, data };
}
