import { CodecError } from './pixel-codecs.js';

/**
 * Sequential DCT JPEG with Huffman coding (ITU-T T.81 processes 1 and 2: SOF0 baseline, SOF1 extended), 8- and
 * 12-bit precision, 1 to 4 components with any sampling factors, interleaved or not, restart intervals.
 * Written for DICOM JPEG Extended (1.2.840.10008.1.2.4.51), which no installed codec decodes at 12 bits.
 *
 * The IDCT is the exact separable float transform (T.81 A.3.3) rounded to the nearest integer, so results
 * agree with libjpeg's accurate integer IDCT to within a level or so. Subsampled components are upsampled by
 * replication (libjpeg's "fancy" upsampling may differ by a few levels near chroma edges). Three-component
 * images are converted from YCbCr to RGB unless an Adobe marker says otherwise or the component ids are R, G, B.
 *
 * Anything malformed (truncated scan, missing table, bad marker, impossible Huffman code) throws a
 * JpegDctError; a valid codestream of a process this decoder does not implement (progressive, lossless,
 * arithmetic, hierarchical) throws one with `unsupported` set.
 */

export interface JpegDctImage {
  width: number;
  height: number;
  components: number;
  /** Sample precision P of the frame: 8 or 12. */
  precision: number;
  /** Interleaved samples, row-major, in 0..2^P-1: Uint8Array for 8 bits, Uint16Array for 12. */
  samples: Uint8Array | Uint16Array;
}

export interface JpegDctOptions {
  /** Rejects frames with more pixels (width x height) than this before allocating anything. */
  maxPixels?: number;
}

export class JpegDctError extends CodecError {
  constructor(
    message: string,
    /** True for a well-formed codestream of a JPEG process this decoder does not implement. */
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'JpegDctError';
  }
}

/** Zig-zag index k (T.81 figure A.6) to natural row-major position in the 8x8 block. */
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55,
  62, 63,
]);

/** IDCT basis: BASIS[x * 8 + u] = C(u)/2 * cos((2x+1) u pi / 16), C(0) = 1/sqrt(2), else 1. */
const BASIS = (() => {
  const table = new Float64Array(64);
  for (let x = 0; x < 8; x++) {
    for (let u = 0; u < 8; u++) table[x * 8 + u] = ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  }
  return table;
})();

const MAX_PIXELS = 1 << 28;

/** Canonical Huffman table (T.81 annex C and F.2.2.3): codes of each length are consecutive integers. */
interface HuffmanTable {
  /** Largest code of length l (index 1..16), or -1 when there are none. */
  maxCode: Int32Array;
  /** Index into `values` of the first code of length l, minus that code. */
  offset: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  quantTable: number;
  /** Blocks per line and per column, padded to whole MCUs of an interleaved scan. */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Blocks that carry image data in a non-interleaved scan: ceil(component width / 8) etc. */
  dataBlocksPerLine: number;
  dataBlocksPerColumn: number;
  /** Reconstructed samples, blocksPerLine * 8 wide. */
  plane: Int32Array;
  decoded: boolean;
}

interface Frame {
  precision: number;
  width: number;
  height: number;
  hMax: number;
  vMax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
  components: Component[];
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1);
  const offset = new Int32Array(18);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1];
    offset[length] = index - code;
    if (n > 0) {
      code += n;
      index += n;
      maxCode[length] = code - 1;
      // A complete prefix code of length l has at most 2^l codes; more means the lengths are impossible.
      if (code > 2 ** length) throw new JpegDctError(`Huffman table has too many codes of length ${length}`);
    }
    code <<= 1;
  }
  return { maxCode, offset, values };
}

/** Reads entropy-coded bits MSB first, removing stuffed zero bytes and stopping at markers. */
class BitReader {
  private bitBuffer = 0;
  private bitCount = 0;

  constructor(
    private readonly data: Uint8Array,
    public position: number,
  ) {}

  private fill(): void {
    if (this.position >= this.data.length) throw new JpegDctError('scan data is truncated');
    const byte = this.data[this.position];
    if (byte === 0xff) {
      let next = this.position + 1;
      while (next < this.data.length && this.data[next] === 0xff) next++;
      if (next >= this.data.length) throw new JpegDctError('scan data is truncated');
      // Only the bits the MCUs need are read, so a marker here means the scan data is cut short.
      if (this.data[next] !== 0) throw new JpegDctError(`scan data ends early at marker 0xFF${this.data[next].toString(16).toUpperCase()}`);
      this.position = next + 1;
    } else {
      this.position++;
    }
    this.bitBuffer = ((this.bitBuffer << 8) | byte) & 0xffffff;
    this.bitCount += 8;
  }

  bit(): number {
    if (this.bitCount === 0) this.fill();
    this.bitCount--;
    return (this.bitBuffer >>> this.bitCount) & 1;
  }

  /** `count` bits (0..16) as an unsigned integer. */
  bits(count: number): number {
    while (this.bitCount < count) this.fill();
    this.bitCount -= count;
    return (this.bitBuffer >>> this.bitCount) & ((1 << count) - 1);
  }

  /** Value of a DC difference or AC coefficient of magnitude category s (T.81 F.2.2.1 EXTEND). */
  receiveExtend(s: number): number {
    if (s === 0) return 0;
    const value = this.bits(s);
    return value < 1 << (s - 1) ? value - (1 << s) + 1 : value;
  }

  decode(table: HuffmanTable): number {
    let code = 0;
    for (let length = 1; length <= 16; length++) {
      code = (code << 1) | this.bit();
      if (code <= table.maxCode[length]) {
        const index = table.offset[length] + code;
        if (index >= table.values.length) throw new JpegDctError('Huffman code points past the table values');
        return table.values[index];
      }
    }
    throw new JpegDctError('invalid Huffman code in scan data');
  }

  /** Drops the bits left in the current byte (restart boundary). */
  reset(): void {
    this.bitBuffer = 0;
    this.bitCount = 0;
  }
}

/** Decodes one sequential DCT JPEG codestream. Throws JpegDctError. */
export function decodeJpegDct(data: Uint8Array, options: JpegDctOptions = {}): JpegDctImage {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) throw new JpegDctError('not a JPEG codestream (no SOI marker)');
  const quantTables: (Uint16Array | undefined)[] = [undefined, undefined, undefined, undefined];
  const dcTables: (HuffmanTable | undefined)[] = [undefined, undefined, undefined, undefined];
  const acTables: (HuffmanTable | undefined)[] = [undefined, undefined, undefined, undefined];
  let restartInterval = 0;
  let frame: Frame | undefined;
  let adobeTransform: number | undefined;
  let position = 2;
  let ended = false;

  const segment = (): { start: number; end: number } => {
    if (position + 2 > data.length) throw new JpegDctError('truncated marker segment');
    const length = (data[position] << 8) | data[position + 1];
    if (length < 2 || position + length > data.length) throw new JpegDctError('truncated marker segment');
    const result = { start: position + 2, end: position + length };
    position += length;
    return result;
  };

  while (!ended) {
    if (position >= data.length) break; // no EOI: accepted if every component was decoded (checked below)
    if (data[position] !== 0xff) throw new JpegDctError(`bad marker: byte 0x${data[position].toString(16)} at offset ${position} where a marker was expected`);
    while (position < data.length && data[position] === 0xff) position++; // fill bytes
    if (position >= data.length) break;
    const marker = data[position++];
    switch (true) {
      case marker === 0xd9: // EOI
        ended = true;
        break;
      case marker === 0xdb: {
        // DQT: one or more tables, 8- or 16-bit entries, in zig-zag order.
        const { start, end } = segment();
        let at = start;
        while (at < end) {
          const pq = data[at] >> 4;
          const tq = data[at] & 15;
          at++;
          if (pq > 1 || tq > 3) throw new JpegDctError(`bad DQT table ${tq} with precision ${pq}`);
          const size = pq === 0 ? 64 : 128;
          if (at + size > end) throw new JpegDctError('truncated DQT segment');
          const table = new Uint16Array(64);
          for (let k = 0; k < 64; k++) table[k] = pq === 0 ? data[at + k] : (data[at + 2 * k] << 8) | data[at + 2 * k + 1];
          quantTables[tq] = table;
          at += size;
        }
        break;
      }
      case marker === 0xc4: {
        // DHT: one or more tables.
        const { start, end } = segment();
        let at = start;
        while (at < end) {
          if (at + 17 > end) throw new JpegDctError('truncated DHT segment');
          const tc = data[at] >> 4;
          const th = data[at] & 15;
          if (tc > 1 || th > 3) throw new JpegDctError(`bad DHT table class ${tc} id ${th}`);
          const counts = data.slice(at + 1, at + 17);
          const total = counts.reduce((sum, n) => sum + n, 0);
          at += 17;
          if (total > 256 || at + total > end) throw new JpegDctError('truncated or oversized DHT segment');
          const table = buildHuffman(counts, data.slice(at, at + total));
          (tc === 0 ? dcTables : acTables)[th] = table;
          at += total;
        }
        break;
      }
      case marker === 0xdd: {
        const { start, end } = segment();
        if (end - start < 2) throw new JpegDctError('truncated DRI segment');
        restartInterval = (data[start] << 8) | data[start + 1];
        break;
      }
      case marker === 0xc0 || marker === 0xc1: {
        if (frame) throw new JpegDctError('more than one frame header (SOF)');
        frame = readFrameHeader(data, segment(), options);
        break;
      }
      case marker === 0xc2 || marker === 0xc3 || (marker >= 0xc5 && marker <= 0xcf && marker !== 0xc8 && marker !== 0xcc): {
        const names: Record<number, string> = { 0xc2: 'progressive DCT', 0xc3: 'lossless' };
        throw new JpegDctError(
          `${names[marker] ?? (marker >= 0xc9 ? 'arithmetic-coded' : 'hierarchical')} JPEG (SOF 0xFF${marker.toString(16).toUpperCase()}) is not decoded by the sequential DCT decoder`,
          true,
        );
      }
      case marker === 0xcc:
        throw new JpegDctError('arithmetic-coded JPEG (DAC marker) is not decoded by the sequential DCT decoder', true);
      case marker === 0xda: {
        if (!frame) throw new JpegDctError('scan (SOS) before the frame header (SOF)');
        const header = segment(); // leaves `position` at the first byte of entropy-coded data
        position = decodeScan(data, header, position, frame, { quantTables, dcTables, acTables, restartInterval });
        break;
      }
      case marker === 0xdc: {
        // DNL: only meaningful with a zero height in SOF, which readFrameHeader rejects.
        segment();
        break;
      }
      case (marker >= 0xe0 && marker <= 0xef) || marker === 0xfe: {
        const { start, end } = segment();
        // Adobe APP14: "Adobe", version, flags0, flags1, transform (0 = none, 1 = YCbCr, 2 = YCCK).
        if (marker === 0xee && end - start >= 12 && String.fromCharCode(...data.subarray(start, start + 5)) === 'Adobe') {
          adobeTransform = data[start + 11];
        }
        break;
      }
      default:
        throw new JpegDctError(`bad marker 0xFF${marker.toString(16).toUpperCase().padStart(2, '0')} at offset ${position - 2}`);
    }
  }

  if (!frame) throw new JpegDctError('no frame header (SOF0/SOF1)');
  const missing = frame.components.filter((c) => !c.decoded);
  if (missing.length > 0) throw new JpegDctError(`no scan for component ${missing.map((c) => c.id).join(', ')}`);
  return output(frame, adobeTransform);
}

function readFrameHeader(data: Uint8Array, { start, end }: { start: number; end: number }, options: JpegDctOptions): Frame {
  if (end - start < 6) throw new JpegDctError('truncated frame header');
  const precision = data[start];
  const height = (data[start + 1] << 8) | data[start + 2];
  const width = (data[start + 3] << 8) | data[start + 4];
  const count = data[start + 5];
  if (precision !== 8 && precision !== 12) throw new JpegDctError(`${precision}-bit DCT JPEG is not decoded (8 and 12 bits are)`, precision === 16);
  if (height === 0) throw new JpegDctError('frame height defined by a DNL marker is not supported', true);
  if (width === 0) throw new JpegDctError('frame width is zero');
  if (count < 1 || count > 4) throw new JpegDctError(`${count} components in the frame (1 to 4 are decoded)`, count > 4);
  if (end - start < 6 + 3 * count) throw new JpegDctError('truncated frame header');
  const limit = Math.min(options.maxPixels ?? MAX_PIXELS, MAX_PIXELS);
  if (width * height > limit) throw new JpegDctError(`frame of ${width} x ${height} pixels exceeds the limit of ${limit}`);
  const specs: { id: number; h: number; v: number; quantTable: number }[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + 6 + 3 * i;
    const h = data[at + 1] >> 4;
    const v = data[at + 1] & 15;
    const quantTable = data[at + 2];
    if (h < 1 || h > 4 || v < 1 || v > 4) throw new JpegDctError(`bad sampling factors ${h}x${v}`);
    if (quantTable > 3) throw new JpegDctError(`bad quantisation table id ${quantTable}`);
    if (specs.some((s) => s.id === data[at])) throw new JpegDctError(`component id ${data[at]} repeated`);
    specs.push({ id: data[at], h, v, quantTable });
  }
  const hMax = Math.max(...specs.map((s) => s.h));
  const vMax = Math.max(...specs.map((s) => s.v));
  const mcusPerLine = Math.ceil(width / (8 * hMax));
  const mcusPerColumn = Math.ceil(height / (8 * vMax));
  const components = specs.map((s): Component => {
    const blocksPerLine = mcusPerLine * s.h;
    const blocksPerColumn = mcusPerColumn * s.v;
    return {
      ...s,
      blocksPerLine,
      blocksPerColumn,
      dataBlocksPerLine: Math.ceil(Math.ceil((width * s.h) / hMax) / 8),
      dataBlocksPerColumn: Math.ceil(Math.ceil((height * s.v) / vMax) / 8),
      plane: new Int32Array(blocksPerLine * 8 * blocksPerColumn * 8),
      decoded: false,
    };
  });
  return { precision, width, height, hMax, vMax, mcusPerLine, mcusPerColumn, components };
}

interface Tables {
  quantTables: (Uint16Array | undefined)[];
  dcTables: (HuffmanTable | undefined)[];
  acTables: (HuffmanTable | undefined)[];
  restartInterval: number;
}

/** Decodes the entropy-coded data after an SOS header; returns the offset of the marker that ends it. */
function decodeScan(data: Uint8Array, header: { start: number; end: number }, scanStart: number, frame: Frame, tables: Tables): number {
  const { start, end } = header;
  const count = data[start];
  if (count < 1 || count > 4 || end - start < 4 + 2 * count) throw new JpegDctError('bad scan header (SOS)');
  const members: { component: Component; dc: HuffmanTable; ac: HuffmanTable; quant: Uint16Array; predictor: number }[] = [];
  for (let i = 0; i < count; i++) {
    const id = data[start + 1 + 2 * i];
    const td = data[start + 2 + 2 * i] >> 4;
    const ta = data[start + 2 + 2 * i] & 15;
    const component = frame.components.find((c) => c.id === id);
    if (!component) throw new JpegDctError(`scan names component ${id}, which the frame does not have`);
    if (component.decoded) throw new JpegDctError(`component ${id} appears in two scans`);
    const dc = td < 4 ? tables.dcTables[td] : undefined;
    const ac = ta < 4 ? tables.acTables[ta] : undefined;
    if (!dc || !ac) throw new JpegDctError(`missing Huffman table (DHT) for component ${id}`);
    const quant = tables.quantTables[component.quantTable];
    if (!quant) throw new JpegDctError(`missing quantisation table (DQT) ${component.quantTable} for component ${id}`);
    members.push({ component, dc, ac, quant, predictor: 0 });
  }
  const ss = data[start + 1 + 2 * count];
  const se = data[start + 2 + 2 * count];
  const ahal = data[start + 3 + 2 * count];
  if (ss !== 0 || se !== 63 || ahal !== 0) throw new JpegDctError(`scan with spectral selection ${ss}..${se} / approximation ${ahal} in a sequential frame`);

  const single = members.length === 1;
  const blocksInMcu = members.reduce((sum, m) => sum + m.component.h * m.component.v, 0);
  if (!single && blocksInMcu > 10) throw new JpegDctError(`an MCU of ${blocksInMcu} blocks (at most 10 are allowed)`);
  const first = members[0].component;
  const mcuColumns = single ? first.dataBlocksPerLine : frame.mcusPerLine;
  const mcuRows = single ? first.dataBlocksPerColumn : frame.mcusPerColumn;
  const totalMcus = mcuColumns * mcuRows;

  const reader = new BitReader(data, scanStart);
  const coefficients = new Float64Array(64);
  const rows = new Float64Array(64);
  const maxValue = (1 << frame.precision) - 1;
  const levelShift = 1 << (frame.precision - 1);
  const maxCategory = frame.precision === 8 ? 11 : 15;

  const decodeBlock = (m: (typeof members)[number], blockRow: number, blockColumn: number): void => {
    coefficients.fill(0);
    const t = reader.decode(m.dc);
    if (t > maxCategory) throw new JpegDctError(`DC difference category ${t} exceeds ${maxCategory}`);
    m.predictor += reader.receiveExtend(t);
    coefficients[0] = m.predictor * m.quant[0];
    for (let k = 1; k < 64; ) {
      const rs = reader.decode(m.ac);
      const r = rs >> 4;
      const s = rs & 15;
      if (s === 0) {
        if (r !== 15) break; // EOB
        k += 16; // ZRL
        continue;
      }
      k += r;
      if (k > 63) throw new JpegDctError('AC coefficient run past the end of the block');
      coefficients[ZIGZAG[k]] = reader.receiveExtend(s) * m.quant[k];
      k++;
    }
    idctBlock(coefficients, rows, m.component, blockRow, blockColumn, levelShift, maxValue);
  };

  for (let mcu = 0; mcu < totalMcus; mcu++) {
    if (tables.restartInterval > 0 && mcu > 0 && mcu % tables.restartInterval === 0) {
      // Expect RSTn, n = (restart count mod 8), byte-aligned after the padding bits.
      reader.reset();
      const expected = 0xd0 + ((mcu / tables.restartInterval - 1) & 7);
      let at = reader.position;
      if (data[at] !== 0xff) throw new JpegDctError(`restart marker missing after ${mcu} MCUs`);
      while (at < data.length && data[at] === 0xff) at++;
      if (data[at] !== expected) {
        throw new JpegDctError(`restart marker missing after ${mcu} MCUs (found ${at < data.length ? `0xFF${data[at].toString(16).toUpperCase()}` : 'end of data'})`);
      }
      reader.position = at + 1;
      for (const m of members) m.predictor = 0;
    }
    if (single) {
      decodeBlock(members[0], Math.floor(mcu / mcuColumns), mcu % mcuColumns);
      continue;
    }
    const mcuRow = Math.floor(mcu / mcuColumns);
    const mcuColumn = mcu % mcuColumns;
    for (const m of members) {
      for (let y = 0; y < m.component.v; y++) {
        for (let x = 0; x < m.component.h; x++) decodeBlock(m, mcuRow * m.component.v + y, mcuColumn * m.component.h + x);
      }
    }
  }
  for (const m of members) m.component.decoded = true;

  // Skip the padding to the marker that ends the scan (tolerating stray bytes as libjpeg does).
  let at = reader.position;
  while (at + 1 < data.length && !(data[at] === 0xff && data[at + 1] !== 0 && (data[at + 1] < 0xd0 || data[at + 1] > 0xd7) && data[at + 1] !== 0xff)) at++;
  return at + 1 < data.length ? at : data.length;
}

/** Inverse DCT of one dequantised block (natural order) into the component plane, level-shifted and clamped. */
function idctBlock(
  coefficients: Float64Array,
  rows: Float64Array,
  component: Component,
  blockRow: number,
  blockColumn: number,
  levelShift: number,
  maxValue: number,
): void {
  // rows[v * 8 + x] = sum_u BASIS[x][u] F[v][u]
  for (let v = 0; v < 8; v++) {
    const f = v * 8;
    for (let x = 0; x < 8; x++) {
      const b = x * 8;
      let sum = 0;
      for (let u = 0; u < 8; u++) sum += BASIS[b + u] * coefficients[f + u];
      rows[f + x] = sum;
    }
  }
  const stride = component.blocksPerLine * 8;
  const origin = blockRow * 8 * stride + blockColumn * 8;
  const plane = component.plane;
  for (let y = 0; y < 8; y++) {
    const b = y * 8;
    for (let x = 0; x < 8; x++) {
      let sum = 0;
      for (let v = 0; v < 8; v++) sum += BASIS[b + v] * rows[v * 8 + x];
      const value = Math.floor(sum + levelShift + 0.5);
      plane[origin + y * stride + x] = value < 0 ? 0 : value > maxValue ? maxValue : value;
    }
  }
}

/** Upsamples the component planes to the frame size and interleaves them; YCbCr to RGB for three components. */
function output(frame: Frame, adobeTransform: number | undefined): JpegDctImage {
  const { width, height, precision, hMax, vMax, components } = frame;
  const n = components.length;
  const samples = precision === 8 ? new Uint8Array(width * height * n) : new Uint16Array(width * height * n);
  for (let c = 0; c < n; c++) {
    const { plane, h, v, blocksPerLine } = components[c];
    const stride = blocksPerLine * 8;
    for (let y = 0; y < height; y++) {
      const row = Math.floor((y * v) / vMax) * stride;
      let out = y * width * n + c;
      for (let x = 0; x < width; x++, out += n) samples[out] = plane[row + Math.floor((x * h) / hMax)];
    }
  }
  const rgbIds = n === 3 && components[0].id === 0x52 && components[1].id === 0x47 && components[2].id === 0x42;
  if (n === 3 && !rgbIds && adobeTransform !== 0) {
    const max = (1 << precision) - 1;
    const centre = 1 << (precision - 1);
    const clamp = (value: number): number => (value < 0 ? 0 : value > max ? max : Math.round(value));
    for (let i = 0; i < samples.length; i += 3) {
      const y = samples[i];
      const cb = samples[i + 1] - centre;
      const cr = samples[i + 2] - centre;
      samples[i] = clamp(y + 1.402 * cr);
      samples[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
      samples[i + 2] = clamp(y + 1.772 * cb);
    }
  }
  return { width, height, components: n, precision, samples };
}
