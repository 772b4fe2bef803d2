import { createReadStream } from 'node:fs';
import { decodeGrey, RasterError, readRasterInfo, type RasterInfo } from '../../../imaging/src/raster.js';
import {
  assertPlaneSize,
  assertScanSize,
  ConversionError,
  type Conversion,
  type ConversionInput,
  type ConversionLimits,
  type ConvertedView,
  type InputFile,
  type ScannerAdapter,
  type SniffResult,
  type UploadedFileHead,
} from '../adapter.js';
import { JpegScanCounter, MAX_JPEG_SCANS } from '../codestream-header.js';
import { checkImageHead, JPEG_MAGIC, PNG_MAGIC, startsWith } from './image-head.js';

/** Fraction of pixels at or below the air value estimate (images carry no air calibration). */
const AIR_QUANTILE = 0.999;

/**
 * Plain PNG or JPEG images, 8 or 16 bit (legacy scanners, screenshots): each file is one single-energy view
 * (`view-1`..`view-N` in upload order). 8-bit values are widened to 16 (v x 257), colour is reduced to
 * luminance and JPEG is flagged as lossy, each with a warning. Sniffed by magic bytes only.
 */
export class ImageAdapter implements ScannerAdapter {
  readonly id = 'image';
  readonly version = '1.0.0';
  readonly description = 'PNG or JPEG images, 8 or 16 bit, one single-energy view per file';

  sniff(head: Uint8Array, _fileName: string): SniffResult {
    return startsWith(head, PNG_MAGIC) || startsWith(head, JPEG_MAGIC) ? 'primary' : null;
  }

  /**
   * Per file: the PNG IHDR or JPEG frame header size against the per-plane limit, and headers cut short by the file's
   * end; then the sizes of every file whose head holds its header, summed, against the per-scan limit.
   */
  check(files: UploadedFileHead[], limits: ConversionLimits): void {
    try {
      const sizes = files.map((file) => checkImageHead(file, limits)).filter((size) => size !== undefined);
      assertScanSize(sizes, limits);
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      // Anything else means the head could not be judged: convert will.
    }
  }

  async convert(input: ConversionInput): Promise<Conversion> {
    if (input.files.length === 0) throw new ConversionError('incomplete_scan', 'no image file was sent');
    const infos: RasterInfo[] = [];
    for (const file of input.files) {
      const info = await this.readInfo(file);
      assertPlaneSize(info.width, info.height, input.limits);
      if (info.format === 'jpeg') await assertJpegScans(file);
      infos.push(info);
    }
    // One plane per file: all of them together against the per-scan limit before the first is decoded; then one
    // decode at a time.
    assertScanSize(infos, input.limits);
    const warnings: string[] = [];
    const views: ConvertedView[] = [];
    for (const [i, file] of input.files.entries()) {
      const info = infos[i];
      const id = `view-${i + 1}`;
      const label = `${id} (${file.name})`;
      if (info.format === 'jpeg') warnings.push(`${label}: lossy JPEG source`);
      if (info.channels >= 3) warnings.push(`${label}: colour image reduced to luminance`);
      if (info.channels === 2 || info.channels === 4) warnings.push(`${label}: alpha channel ignored`);
      if (info.bitDepth === 8) warnings.push(`${label}: 8-bit source widened to 16 bits (v x 257)`);
      let plane;
      try {
        plane = await decodeGrey(file.path);
      } catch (error) {
        if (error instanceof RasterError) {
          throw new ConversionError('malformed_input', `${file.name}: ${error.message}`);
        }
        throw error;
      }
      const data = plane.data;
      if (plane.bitDepth === 8) for (let k = 0; k < data.length; k++) data[k] *= 257;
      views.push({
        id,
        width: plane.width,
        height: plane.height,
        pixelSpacingMm: null,
        airValue: airEstimate(data),
        planes: [{ energy: 'single', data }],
      });
    }
    return { scanner: { vendor: 'unknown' }, acquiredAt: null, views, warnings };
  }

  private async readInfo(file: InputFile): Promise<RasterInfo> {
    let info: RasterInfo;
    try {
      info = await readRasterInfo(file.path);
    } catch (error) {
      if (error instanceof RasterError) throw new ConversionError('malformed_input', `${file.name}: ${error.message}`);
      throw error;
    }
    if (info.format !== 'png' && info.format !== 'jpeg') {
      throw new ConversionError('unsupported_variant', `${file.name} is a ${info.format} image; this adapter reads PNG and JPEG`);
    }
    return info;
  }
}

/**
 * A progressive JPEG is decoded in one pass over the image per scan: refuses one with more than MAX_JPEG_SCANS. The
 * file is read in chunks (it can be as large as an upload), up to the end or the scan that is one too many.
 */
async function assertJpegScans(file: InputFile): Promise<void> {
  const counter = new JpegScanCounter();
  for await (const chunk of createReadStream(file.path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    counter.push(chunk);
    if (counter.scans > MAX_JPEG_SCANS) break;
  }
  const scans = counter.scans;
  if (scans > MAX_JPEG_SCANS) {
    throw new ConversionError(
      'unsupported_variant',
      `${file.name} is a JPEG of more than ${MAX_JPEG_SCANS} scans; niix decodes at most ${MAX_JPEG_SCANS} (each is a pass over the whole image)`,
    );
  }
}

/** Air value of an uncalibrated image: the 99.9th percentile of its values (robust to a few hot pixels). */
export function airEstimate(data: Uint16Array): number {
  const histogram = new Uint32Array(65536);
  for (let i = 0; i < data.length; i++) histogram[data[i]]++;
  const target = Math.ceil(data.length * AIR_QUANTILE);
  let seen = 0;
  for (let v = 0; v < histogram.length; v++) {
    seen += histogram[v];
    if (seen >= target) return v;
  }
  return 65535;
}
