import { encodeGrey8, encodePng16 } from '../../../imaging/src/raster.js';

export type { ScanToWrite } from '../adapter.js';
import type { ScanToWrite } from '../adapter.js';

/**
 * Writes every plane of a scan as one image file (`<view>-<energy>.png|jpg`), for tests, the demo and
 * benchmarks. png16 is lossless; png8 and jpeg keep the high byte (`v >> 8`), so ImageAdapter reads back
 * `(v >> 8) * 257` (exactly, for png8).
 */
export async function writeImages(
  scan: ScanToWrite,
  options: { format: 'png16' | 'png8' | 'jpeg'; quality?: number } = { format: 'png16' },
): Promise<{ name: string; data: Buffer }[]> {
  const files: { name: string; data: Buffer }[] = [];
  for (const view of scan.views) {
    for (const plane of view.planes) {
      const base = `${view.id}-${plane.energy}`;
      if (options.format === 'png16') {
        files.push({ name: `${base}.png`, data: await encodePng16({ width: view.width, height: view.height, data: plane.data }) });
      } else {
        const bytes = Uint8Array.from(plane.data, (v) => v >> 8);
        const format = options.format === 'png8' ? 'png' : 'jpeg';
        const data = await encodeGrey8(view.width, view.height, bytes, format, options.quality ?? 90);
        files.push({ name: `${base}.${format === 'png' ? 'png' : 'jpg'}`, data });
      }
    }
  }
  return files;
}
