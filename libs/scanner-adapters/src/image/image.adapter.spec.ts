import { deflateSync } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from '../hostile-files.testing.js';
import { conversionFailure, syntheticScan, withInputFiles } from '../raw-profile/synthetic-scan.testing.js';
import { airEstimate, ImageAdapter } from './image.adapter.js';
import { writeImages } from './image.writer.js';

const adapter = new ImageAdapter();
const scan = syntheticScan({ width: 300, height: 120, views: [{ id: 'top', energies: ['single'] }, { id: 'side', energies: ['single'] }] });

/** A tiny 8-bit RGB PNG (colour type 2), built by hand: raster.ts only writes greyscale. */
function rgbPng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.set(pixel(x, y), y * (1 + width * 3) + 1 + x * 3);
  }
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0))]);
}


describe(ImageAdapter.name, () => {
  it('sniffs PNG and JPEG by magic bytes only', async () => {
    const [png] = await writeImages(scan);
    const [jpeg] = await writeImages(scan, { format: 'jpeg' });
    expect(adapter.sniff(png.data.subarray(0, 4096), 'noext')).toBe('primary');
    expect(adapter.sniff(jpeg.data.subarray(0, 4096), 'x.bin')).toBe('primary');
    expect(adapter.sniff(Buffer.from('II*\0'), 'x.png')).toBeNull();
    expect(adapter.sniff(Buffer.from([0x89, 0x50]), 'x.png')).toBeNull();
  });

  it('round-trips 16-bit PNG bit-exactly, one view per file, in upload order', async () => {
    const files = await writeImages(scan);
    const conversion = await withInputFiles(files, (input) => adapter.convert(input));
    expect(conversion.warnings).toEqual([]);
    expect(conversion.scanner).toEqual({ vendor: 'unknown' });
    expect(conversion.acquiredAt).toBeNull();
    expect(conversion.views.map((v) => [v.id, v.width, v.height, v.planes[0].energy])).toEqual([
      ['view-1', 300, 120, 'single'],
      ['view-2', 300, 120, 'single'],
    ]);
    conversion.views.forEach((view, i) => {
      expect(view.planes[0].data).toEqual(scan.views[i].planes[0].data);
      expect(view.airValue).toBe(airEstimate(scan.views[i].planes[0].data));
    });
    expect(conversion.views[0].airValue).toBeGreaterThan(60000);
  });

  it('widens 8-bit PNG by v x 257 with a warning', async () => {
    const [file] = await writeImages(scan, { format: 'png8' });
    const conversion = await withInputFiles([file], (input) => adapter.convert(input));
    expect(conversion.warnings).toEqual(['view-1 (top-single.png): 8-bit source widened to 16 bits (v x 257)']);
    expect(conversion.views[0].planes[0].data).toEqual(scan.views[0].planes[0].data.map((v) => (v >> 8) * 257));
  });

  it('flags JPEG as lossy and stays close to the source', async () => {
    const [file] = await writeImages(scan, { format: 'jpeg', quality: 95 });
    const conversion = await withInputFiles([{ name: 'scan.jpg', data: file.data }], (input) => adapter.convert(input));
    expect(conversion.warnings).toEqual([
      'view-1 (scan.jpg): lossy JPEG source',
      'view-1 (scan.jpg): 8-bit source widened to 16 bits (v x 257)',
    ]);
    const source = scan.views[0].planes[0].data;
    const data = conversion.views[0].planes[0].data;
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += Math.abs(data[i] - source[i]);
    expect(sum / data.length).toBeLessThan(600);
  });

  it('reduces colour to luminance with a warning', async () => {
    const png = rgbPng(30, 20, (x) => (x < 15 ? [200, 200, 200] : [255, 0, 0]));
    const conversion = await withInputFiles([{ name: 'screenshot.png', data: png }], (input) => adapter.convert(input));
    expect(conversion.warnings).toEqual([
      'view-1 (screenshot.png): colour image reduced to luminance',
      'view-1 (screenshot.png): 8-bit source widened to 16 bits (v x 257)',
    ]);
    const data = conversion.views[0].planes[0].data;
    expect(data[0]).toBe(200 * 257);
    expect(data[29]).toBeLessThan(128 * 257);
  });

  it('rejects a corrupt PNG as malformed_input and an oversize one as too_many_pixels', async () => {
    const [file] = await writeImages(scan);
    const corrupt = Buffer.from(file.data);
    corrupt.fill(0x55, 100, 400);
    const error = await withInputFiles([{ name: 'bad.png', data: corrupt }], (input) => conversionFailure(adapter.convert(input)));
    expect(error.code).toBe('malformed_input');
    expect(error.message).toMatch(/bad\.png/);
    const truncated = await withInputFiles([{ name: 'cut.png', data: file.data.subarray(0, 30) }], (input) => conversionFailure(adapter.convert(input)));
    expect(truncated.code).toBe('malformed_input');
    const big = await withInputFiles([file], (input) => conversionFailure(adapter.convert(input)), { maxPixelsPerPlane: 1000, maxPixelsPerScan: 4000 });
    expect(big.code).toBe('too_many_pixels');
  });
});
