import { ConversionError } from '../adapter.js';
import { checkOutcome, fuzzCheck, headOf, type FileBytes } from '../raw-profile/head-check.testing.js';
import { syntheticScan, withInputFiles } from '../raw-profile/synthetic-scan.testing.js';
import { ImageAdapter } from './image.adapter.js';
import { writeImages } from './image.writer.js';

const adapter = new ImageAdapter();
const limits = { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 };
const scan = syntheticScan({ width: 300, height: 120, views: [{ id: 'top', energies: ['single'] }] });

async function convertCode(file: FileBytes): Promise<string | undefined> {
  const error = await withInputFiles([{ name: file.name, data: Buffer.from(file.data) }], (input) => adapter.convert(input)).then(
    () => undefined,
    (e: unknown) => e,
  );
  return error instanceof ConversionError ? error.code : error === undefined ? undefined : String(error);
}

/** Offsets of the chunks of a PNG, by type. */
function pngChunks(data: Buffer): { type: string; at: number; length: number }[] {
  const chunks: { type: string; at: number; length: number }[] = [];
  for (let at = 8; at + 8 <= data.length; at += 12 + data.readUInt32BE(at)) {
    chunks.push({ type: data.toString('latin1', at + 4, at + 8), at, length: data.readUInt32BE(at) });
  }
  return chunks;
}

describe('ImageAdapter.check', () => {
  let png: FileBytes & { data: Buffer };
  let png8: FileBytes;
  let jpeg: FileBytes & { data: Buffer };
  beforeAll(async () => {
    [png] = await writeImages(scan);
    [png8] = await writeImages(scan, { format: 'png8' });
    [jpeg] = await writeImages(scan, { format: 'jpeg' });
  });

  it('passes valid 16-bit PNG, 8-bit PNG and JPEG files', () => {
    expect(checkOutcome(adapter, [png, png8, jpeg].map((f) => headOf(f)), limits)).toBeUndefined();
  });

  it('refuses a PNG cut inside its image data, as convert does', async () => {
    const last = pngChunks(png.data).filter((c) => c.type === 'IDAT').pop();
    expect(last).toBeDefined();
    const cut = { name: 'cut.png', data: png.data.subarray(0, png.data.length - 100) };
    const error = checkOutcome(adapter, [headOf(cut)], limits);
    expect(error?.code).toBe('malformed_input');
    expect(error?.message).toMatch(/cut\.png is truncated: its PNG chunk "IDAT" at byte \d+ declares \d+ bytes of data but the file ends/);
    // Same verdict from the size alone, when only the first bytes were kept.
    const head = png.data.subarray(0, (last?.at ?? 0) + 8);
    expect(checkOutcome(adapter, [{ name: 'cut.png', size: png.data.length - 100, head }], limits)?.code).toBe('malformed_input');
    expect(await convertCode(cut)).toBe('malformed_input');
  });

  it('refuses a PNG shorter than signature, IHDR and IEND', () => {
    const error = checkOutcome(adapter, [headOf({ name: 'tiny.png', data: png.data.subarray(0, 40) })], limits);
    expect(error?.code).toBe('malformed_input');
    expect(error?.message).toMatch(/tiny\.png is 40 bytes, shorter than the smallest PNG \(45 bytes/);
  });

  it('passes what the decoder still reads: a PNG without IEND, a cut chunk after the image data', async () => {
    const iend = png.data.length - 12;
    const noEnd = { name: 'noend.png', data: png.data.subarray(0, iend) };
    const text = Buffer.alloc(32);
    text.writeUInt32BE(20, 0);
    text.write('tEXt', 4, 'latin1');
    const trailing = { name: 'trailing.png', data: Buffer.concat([png.data.subarray(0, iend), text.subarray(0, 20)]) };
    for (const file of [noEnd, trailing]) {
      expect(checkOutcome(adapter, [headOf(file)], limits)).toBeUndefined();
      expect(await convertCode(file)).toBeUndefined();
    }
  });

  it('refuses a JPEG cut inside its header segments, as convert does', async () => {
    const cut = { name: 'cut.jpg', data: jpeg.data.subarray(0, 100) };
    const error = checkOutcome(adapter, [headOf(cut)], limits);
    expect(error?.code).toBe('malformed_input');
    expect(error?.message).toMatch(/cut\.jpg is truncated: its JPEG marker segment 0xFF[0-9A-F]{2} at byte \d+ ends at byte \d+ but the file ends at byte 100/);
    expect(await convertCode(cut)).toBe('malformed_input');
  });

  it('refuses declared sizes over the limit with too_many_pixels', () => {
    const hugePng = Buffer.from(png.data);
    hugePng.writeUInt32BE(100000, 16);
    hugePng.writeUInt32BE(100000, 20);
    const error = checkOutcome(adapter, [headOf({ name: 'huge.png', data: hugePng })], limits);
    expect(error?.code).toBe('too_many_pixels');
    expect(error?.message).toMatch(/100000 x 100000/);

    const hugeJpeg = Buffer.from(jpeg.data);
    let sof = 2;
    while (!(hugeJpeg[sof + 1] >= 0xc0 && hugeJpeg[sof + 1] <= 0xc2)) sof += 2 + hugeJpeg.readUInt16BE(sof + 2);
    hugeJpeg.writeUInt16BE(65000, sof + 5);
    hugeJpeg.writeUInt16BE(64000, sof + 7);
    const jpegError = checkOutcome(adapter, [headOf({ name: 'huge.jpg', data: hugeJpeg })], limits);
    expect(jpegError?.code).toBe('too_many_pixels');
    expect(jpegError?.message).toMatch(/64000 x 65000/);
  });

  it('never throws anything but ConversionError on damaged heads', () => {
    expect(fuzzCheck(adapter, [[png], [png8], [jpeg]], limits)).toBeGreaterThan(0);
  });
});
