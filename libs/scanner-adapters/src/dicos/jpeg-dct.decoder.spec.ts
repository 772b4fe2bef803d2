import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { encodeGrey8 } from '../../../imaging/src/raster.js';
import { ConversionError } from '../adapter.js';
import { DicosAdapter } from './dicos.adapter.js';
import { readDicomFile, readStoredFrames, type StoredValues } from './dicom-file.reader.js';
import { decodeJpegDct, JpegDctError } from './jpeg-dct.decoder.js';
import { decodeJpegBaseline } from './pixel-codecs.js';

const fixtures = join(__dirname, 'fixtures');
const EXTENDED = 'CT0012.fragmented_no_bot_jpeg_baseline.51.dcm';
const LOSSLESS = 'CT0012.fragmented_no_bot_jpeg_lossless.70.dcm';
/** Measured: 69.6 and 70.8 dB (peak 4095), mean |difference| 0.58 and 0.46, max 14 and 13 (IJG quality 90). */
const PSNR_FLOOR = 65;
const MEAN_ABS_CEILING = 1;

/** The frame codestreams of an encapsulated file: fragments joined, a new frame at each SOI. */
function codestreams(file: string): { bytes: Uint8Array; frames: Uint8Array[]; fragmentStarts: number[] } {
  const bytes = new Uint8Array(readFileSync(join(fixtures, file)));
  const fragments = dicomParser.parseDicom(bytes).elements.x7fe00010.fragments ?? [];
  const frames: number[][] = [];
  for (const f of fragments) {
    const part = Array.from(bytes.subarray(f.position, f.position + f.length));
    if (part[0] === 0xff && part[1] === 0xd8) frames.push(part);
    else frames[frames.length - 1].push(...part);
  }
  return { bytes, frames: frames.map((f) => new Uint8Array(f)), fragmentStarts: fragments.map((f) => f.position) };
}

async function stored(file: string): Promise<{ frames: StoredValues[]; bits: number | undefined; warnings: string[] }> {
  const image = readDicomFile(file, new Uint8Array(readFileSync(join(fixtures, file))));
  return readStoredFrames(image);
}

function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak: number): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((peak * peak) / (sum / a.length));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * A minimal sequential JPEG writer for exact tests: every block holds only a DC coefficient (so every pixel of a
 * block equals DC/8 + 2^(P-1) exactly), a 16-bit DQT of ones, optional restart interval and Adobe marker.
 */
interface TestComponent {
  id: number;
  h: number;
  v: number;
  /** Sample value of block (row, column) of this component. */
  value: (row: number, column: number) => number;
}

function dcOnlyJpeg(precision: number, width: number, height: number, components: TestComponent[], restartInterval = 0, adobeTransform?: number): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]): void => {
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  };
  if (adobeTransform !== undefined) segment(0xee, [...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, adobeTransform]);
  segment(0xdb, [0x10, ...new Array<number>(128).fill(0).map((_, i) => (i % 2 === 1 ? 1 : 0))]);
  // SOF1 with a dummy high byte of ids to check ids are matched, not positions.
  segment(0xc1, [precision, height >> 8, height & 255, width >> 8, width & 255, components.length, ...components.flatMap((c) => [c.id, (c.h << 4) | c.v, 0])]);
  // DC table: categories 0..15, all 5-bit codes 00000..01111. AC table: EOB only, code '0'.
  segment(0xc4, [0x00, 0, 0, 0, 0, 16, ...new Array<number>(11).fill(0), ...Array.from({ length: 16 }, (_, i) => i)]);
  segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]);
  if (restartInterval > 0) segment(0xdd, [restartInterval >> 8, restartInterval & 255]);
  segment(0xda, [components.length, ...components.flatMap((c) => [c.id, 0x00]), 0, 63, 0]);

  let buffer = 0;
  let count = 0;
  const put = (value: number, bits: number): void => {
    for (let i = bits - 1; i >= 0; i--) {
      buffer = (buffer << 1) | ((value >> i) & 1);
      if (++count === 8) {
        out.push(buffer);
        if (buffer === 0xff) out.push(0);
        buffer = 0;
        count = 0;
      }
    }
  };
  const padToByte = (): void => {
    while (count !== 0) put(1, 1);
  };
  const shift = 1 << (precision - 1);
  const predictors = components.map(() => 0);
  const block = (c: number, row: number, column: number): void => {
    const dc = (components[c].value(row, column) - shift) * 8;
    const diff = dc - predictors[c];
    predictors[c] = dc;
    const s = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
    put(s, 5);
    if (s > 0) put(diff > 0 ? diff : diff + (1 << s) - 1, s);
    put(0, 1); // EOB
  };
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  const single = components.length === 1;
  const mcuColumns = single ? Math.ceil(Math.ceil((width * components[0].h) / hMax) / 8) : Math.ceil(width / (8 * hMax));
  const mcuRows = single ? Math.ceil(Math.ceil((height * components[0].v) / vMax) / 8) : Math.ceil(height / (8 * vMax));
  for (let mcu = 0; mcu < mcuColumns * mcuRows; mcu++) {
    if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
      padToByte();
      out.push(0xff, 0xd0 + ((mcu / restartInterval - 1) & 7));
      predictors.fill(0);
    }
    const row = Math.floor(mcu / mcuColumns);
    const column = mcu % mcuColumns;
    if (single) block(0, row, column);
    else {
      components.forEach((c, i) => {
        for (let y = 0; y < c.v; y++) for (let x = 0; x < c.h; x++) block(i, row * c.v + y, column * c.h + x);
      });
    }
  }
  padToByte();
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}

describe('decodeJpegDct on the 12-bit JPEG extended fixture', () => {
  it('decodes both CT0012 frames close to the lossless JPEG copy of the same image', async () => {
    const lossy = await stored(EXTENDED);
    const lossless = await stored(LOSSLESS);
    expect(lossy.frames).toHaveLength(2);
    expect(lossy.bits).toBe(12);
    expect(lossless.bits).toBe(16);
    for (let f = 0; f < 2; f++) {
      const a = lossy.frames[f];
      const b = lossless.frames[f];
      expect(a).toBeInstanceOf(Uint16Array);
      expect(a.length).toBe(512 * 512);
      expect(b.length).toBe(512 * 512);
      // The lossless copy holds the raw values (0..1196). DCMTK's dcmcjpeg +ee rendered them through a VOI window
      // before the 12-bit encoding (stored = raw - 1024 HU intercept + 2047), and the file does not record that
      // shift: every decoded value sits 1023 above the lossless one. The shift is measured, not assumed.
      const histogram = new Map<number, number>();
      for (let i = 0; i < a.length; i++) histogram.set(a[i] - b[i], (histogram.get(a[i] - b[i]) ?? 0) + 1);
      const offset = [...histogram.entries()].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
      expect(offset).toBe(1023);
      const shifted = Array.from(a, (v) => v - offset);
      const quality = psnr(shifted, b, 4095);
      let meanAbs = 0;
      for (let i = 0; i < a.length; i++) meanAbs += Math.abs(shifted[i] - b[i]);
      meanAbs /= a.length;
      process.stdout.write(`frame ${f + 1}: offset ${offset}, PSNR ${quality.toFixed(2)} dB, mean |diff| ${meanAbs.toFixed(3)}, max |diff| ${maxAbsDiff(shifted, b)}\n`);
      expect(quality).toBeGreaterThan(PSNR_FLOOR);
      expect(meanAbs).toBeLessThan(MEAN_ABS_CEILING);
    }
  });

  it('reports the frames through the adapter with the lossy warning', async () => {
    const path = join(fixtures, EXTENDED);
    const result = await new DicosAdapter().convert({
      files: [{ name: EXTENDED, path, size: readFileSync(path).length }],
      limits: { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 },
    });
    expect(result.views.map((v) => [v.width, v.height])).toEqual([
      [512, 512],
      [512, 512],
    ]);
    expect(result.warnings).toContain('JPEG extended 12-bit (lossy) source: pixel values are approximate');
  });
});

describe('decodeJpegDct on 8-bit JPEG, against libjpeg-turbo', () => {
  function testImage(width: number, height: number): Uint8Array {
    const data = new Uint8Array(width * height);
    let seed = 12345;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const disc = (x - width / 2) ** 2 + (y - height / 3) ** 2 < (width / 4) ** 2 ? 90 : 0;
        const bars = Math.floor(x / 5) % 2 === 0 && y > (2 * height) / 3 ? 60 : 0;
        data[y * width + x] = Math.min(255, Math.floor((x * 120) / width + (y * 40) / height) + disc + bars + (seed % 17));
      }
    }
    return data;
  }

  it.each([
    [97, 61, 90],
    [64, 64, 40],
    [130, 9, 100],
  ])('%i x %i greyscale at quality %i agrees within 1 level', async (width, height, quality) => {
    const jpeg = new Uint8Array(await encodeGrey8(width, height, testImage(width, height), 'jpeg', quality));
    const mine = decodeJpegDct(jpeg);
    const reference = await decodeJpegBaseline(jpeg);
    expect([mine.width, mine.height, mine.components, mine.precision]).toEqual([width, height, 1, 8]);
    expect([reference.width, reference.height, reference.components]).toEqual([width, height, 1]);
    expect(mine.samples).toBeInstanceOf(Uint8Array);
    const diff = maxAbsDiff(mine.samples, reference.samples);
    process.stdout.write(`8-bit ${width}x${height} q${quality}: max |diff| vs libjpeg-turbo ${diff}, PSNR ${psnr(mine.samples, reference.samples, 255).toFixed(1)} dB\n`);
    expect(diff).toBeLessThanOrEqual(1);
  });

  it('decodes the three-component baseline fixture (YCbCr to RGB) within 2 levels of libjpeg-turbo', async () => {
    const [jpeg] = codestreams('SC_rgb_jpeg_dcmtk.dcm').frames;
    const mine = decodeJpegDct(jpeg);
    const reference = await decodeJpegBaseline(jpeg);
    expect([mine.width, mine.height, mine.components]).toEqual([100, 100, 3]);
    expect(reference.samples.length).toBe(mine.samples.length);
    const diff = maxAbsDiff(mine.samples, reference.samples);
    process.stdout.write(`8-bit colour 100x100: max |diff| vs libjpeg-turbo ${diff}\n`);
    expect(diff).toBeLessThanOrEqual(2);
  });
});

describe('decodeJpegDct exact decoding (DC-only test streams)', () => {
  const grey = (row: number, column: number): number => (row * 613 + column * 1571) % 4096;

  it('decodes 12 bits with a 16-bit DQT, restart intervals and byte stuffing exactly', () => {
    const jpeg = dcOnlyJpeg(12, 45, 30, [{ id: 7, h: 1, v: 1, value: grey }], 2);
    // The stream must exercise what it claims to test: stuffed bytes and restart markers wrapping past RST7.
    const pairs = (second: number): number => jpeg.filter((b, i) => b === 0xff && jpeg[i + 1] === second).length;
    expect(pairs(0x00)).toBeGreaterThan(0);
    expect(pairs(0xd7)).toBe(1);
    expect(pairs(0xd0)).toBe(2);
    const image = decodeJpegDct(jpeg);
    expect(image.samples).toBeInstanceOf(Uint16Array);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 45; x++) expect(image.samples[y * 45 + x]).toBe(grey(Math.floor(y / 8), Math.floor(x / 8)));
  });

  it('decodes a single component declared with 2x2 sampling as one non-interleaved scan', () => {
    const value = (row: number, column: number): number => (row * 37 + column * 11) % 256;
    const image = decodeJpegDct(dcOnlyJpeg(8, 20, 17, [{ id: 1, h: 2, v: 2, value }], 1));
    for (let y = 0; y < 17; y++) for (let x = 0; x < 20; x++) expect(image.samples[y * 20 + x]).toBe(value(Math.floor(y / 8), Math.floor(x / 8)));
  });

  it('decodes interleaved 4:2:0 components (upsampled by replication, no colour transform under Adobe 0)', () => {
    const planes = [(r: number, c: number) => 16 * r + c, (r: number, c: number) => 200 - r - c, (r: number, c: number) => 30 + 5 * r + 3 * c];
    const components: TestComponent[] = [
      { id: 1, h: 2, v: 2, value: planes[0] },
      { id: 2, h: 1, v: 1, value: planes[1] },
      { id: 3, h: 1, v: 1, value: planes[2] },
    ];
    const image = decodeJpegDct(dcOnlyJpeg(8, 40, 24, components, 2, 0));
    expect([image.width, image.height, image.components]).toEqual([40, 24, 3]);
    for (let y = 0; y < 24; y++) {
      for (let x = 0; x < 40; x++) {
        const at = (y * 40 + x) * 3;
        expect([image.samples[at], image.samples[at + 1], image.samples[at + 2]]).toEqual([
          planes[0](Math.floor(y / 8), Math.floor(x / 8)),
          planes[1](Math.floor(y / 16), Math.floor(x / 16)),
          planes[2](Math.floor(y / 16), Math.floor(x / 16)),
        ]);
      }
    }
  });
});

describe('decodeJpegDct on corrupt input', () => {
  const [frame] = codestreams(EXTENDED).frames;
  const find = (bytes: Uint8Array, marker: number): number => bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === marker);

  it('decodes the intact frame', () => {
    expect(decodeJpegDct(frame).width).toBe(512);
  });

  it('rejects truncated scan data', () => {
    expect(() => decodeJpegDct(frame.subarray(0, frame.length >> 1))).toThrow(/truncated/);
    const early = frame.slice();
    early.set([0xff, 0xd9], frame.length >> 1);
    expect(() => decodeJpegDct(early)).toThrow(/ends early|Huffman/);
  });

  it('rejects a stream without its Huffman tables', () => {
    const dht = find(frame, 0xc4);
    const sos = find(frame, 0xda);
    const stripped = new Uint8Array([...frame.subarray(0, dht), ...frame.subarray(sos)]);
    expect(() => decodeJpegDct(stripped)).toThrow(/missing Huffman table/);
  });

  it('rejects bad markers, a missing SOI and impossible Huffman tables', () => {
    const bad = frame.slice();
    bad[find(frame, 0xc4) + 1] = 0x02;
    expect(() => decodeJpegDct(bad)).toThrow(/bad marker/);
    expect(() => decodeJpegDct(frame.subarray(2))).toThrow(/no SOI/);
    const overfull = frame.slice();
    overfull[find(frame, 0xc4) + 5] = 3; // three codes of length 1
    expect(() => decodeJpegDct(overfull)).toThrow(JpegDctError);
  });

  it('flags progressive JPEG as unsupported rather than malformed', () => {
    const progressive = frame.slice();
    progressive[find(frame, 0xc1) + 1] = 0xc2;
    let thrown: unknown;
    try {
      decodeJpegDct(progressive);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(JpegDctError);
    expect(thrown).toMatchObject({ unsupported: true, message: expect.stringContaining('progressive') });
  });

  describe('through the adapter', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'niix-jpeg-dct-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Copies the fixture with its first frame's bytes patched in place (same lengths: the DICOM stays valid). */
    async function convertPatched(name: string, patch: (file: Uint8Array, frameStart: number) => void): Promise<unknown> {
      const { bytes, fragmentStarts } = codestreams(EXTENDED);
      const file = bytes.slice();
      patch(file, fragmentStarts[0]);
      const path = join(dir, name);
      writeFileSync(path, file);
      return new DicosAdapter()
        .convert({ files: [{ name, path, size: file.length }], limits: { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 } })
        .then(() => undefined, (error: unknown) => error);
    }

    it.each([
      ['bad marker', (file: Uint8Array, start: number) => (file[start + find(frame, 0xc4) + 1] = 0x02)],
      ['missing DHT (table ids out of range)', (file: Uint8Array, start: number) => file.set([0x13], start + find(frame, 0xda) + 6)],
      ['scan cut short by EOI', (file: Uint8Array, start: number) => file.set([0xff, 0xd9], start + 4000)],
    ])('maps %s to malformed_input', async (name, patch) => {
      const error = await convertPatched(`${name.replace(/\W+/g, '-')}.dcm`, patch);
      expect(error).toBeInstanceOf(ConversionError);
      expect(error).toMatchObject({ code: 'malformed_input', message: expect.stringContaining('JPEG extended 12-bit') });
    });
  });
});
