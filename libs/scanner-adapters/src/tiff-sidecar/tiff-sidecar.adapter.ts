import { open } from 'node:fs/promises';
import type { Energy } from '../../../exchange-format/src/manifest.js';
import { decodeGrey, RasterError, readRasterInfo, type RasterInfo } from '../../../imaging/src/raster.js';
import {
  assertPlaneSize,
  assertScanSize,
  ConversionError,
  type Conversion,
  type ConversionInput,
  type ConversionLimits,
  type ConvertedPlane,
  type ConvertedView,
  type DeclaredPlanes,
  type InputFile,
  type ScannerAdapter,
  type SniffResult,
  type UploadedFileHead,
} from '../adapter.js';
import {
  isTiff,
  matchSidecar,
  MAX_SIDECAR_BYTES,
  sidecarText,
  tiffFirstPageSize,
  type SidecarCandidate,
} from './tiff-sidecar.files.js';
import { sidecarSpelling, type TiffSidecar } from './tiff-sidecar.schema.js';

export { isTiff } from './tiff-sidecar.files.js';

/**
 * 16-bit greyscale TIFF planes with a sidecar (JSON or XML) that says, per file, the view, the energy, the air
 * value and whether values are transmission or attenuation. See README.md for the sidecar.
 */
export class TiffSidecarAdapter implements ScannerAdapter {
  readonly id = 'tiff-sidecar';
  readonly version = '1.0.0';
  readonly description = '16-bit greyscale TIFF planes (single or multi-page) with a JSON or XML sidecar';

  sniff(head: Uint8Array, _fileName: string): SniffResult {
    if (isTiff(head)) return 'primary';
    const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8');
    return sidecarSpelling(text) ? 'companion' : null;
  }

  /**
   * The upload's shape and its sidecar as convert checks them (one sidecar, parsed when the head holds all of it,
   * naming exactly the TIFFs sent), then each TIFF's first directory: beyond the file's end, or a page over the
   * limits; with the sidecar at hand, the first pages it names, summed, against the per-scan limit (further pages'
   * directories lie beyond the head: convert checks them).
   */
  check(files: UploadedFileHead[], limits: ConversionLimits): void {
    try {
      const tiffs = files.filter((file) => isTiff(file.head));
      const others: SidecarCandidate[] = files
        .filter((file) => !isTiff(file.head))
        .map((file) => ({ name: file.name, size: file.size, text: file.size > MAX_SIDECAR_BYTES ? undefined : sidecarText(file) }));
      const sidecar = matchSidecar(tiffs.map((file) => file.name), others);
      const firstPages: DeclaredPlanes[] = [];
      for (const file of tiffs) {
        const page = tiffFirstPageSize(file);
        if (!page) continue;
        assertPlaneSize(page.width, page.height, limits);
        const entry = sidecar?.files.find((f) => f.name === file.name);
        if (entry && usedPages(entry).includes(0)) firstPages.push(page);
      }
      assertScanSize(firstPages, limits);
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      // Anything else means the heads could not be judged: convert will.
    }
  }

  async convert(input: ConversionInput): Promise<Conversion> {
    const tiffs = new Map<string, InputFile>();
    const others: SidecarCandidate[] = [];
    for (const file of input.files) {
      const head = await readHead(file.path, 8);
      if (isTiff(head)) tiffs.set(file.name, file);
      else others.push({ name: file.name, size: file.size, text: file.size > MAX_SIDECAR_BYTES ? undefined : await readText(file.path) });
    }
    // Its text is at hand here (an oversized one is refused first), so a sidecar comes back.
    const sidecar = matchSidecar([...tiffs.keys()], others) as TiffSidecar;

    // Headers first: every size, and the sum of the pages the sidecar names, is checked before any pixel is decoded.
    const infos = new Map<string, RasterInfo>();
    const planes: DeclaredPlanes[] = [];
    for (const entry of sidecar.files) {
      const file = tiffs.get(entry.name) as InputFile;
      const info = await rasterInfo(file);
      if (info.format !== 'tiff') throw new ConversionError('malformed_input', `${file.name} is not a TIFF image`);
      if (info.channels !== 1) {
        throw new ConversionError('unsupported_variant', `${file.name} has ${info.channels} channels; only greyscale TIFF planes are read`);
      }
      assertPlaneSize(info.width, info.height, input.limits);
      for (const index of usedPages(entry)) {
        if (index >= info.pages) {
          throw new ConversionError('incomplete_scan', `the sidecar names page ${index} of ${file.name}, which has ${info.pages} page(s)`);
        }
        // Every page has its own directory and size: a small first page says nothing about the others.
        const page = index === 0 ? info : await checkedPageInfo(file, index, input.limits);
        if (page.bitDepth !== info.bitDepth) {
          throw new ConversionError(
            'unsupported_variant',
            `page ${index} of ${file.name} is ${page.bitDepth}-bit where page 0 is ${info.bitDepth}-bit; the pages of one TIFF must share their depth`,
          );
        }
        planes.push(page);
        assertScanSize(planes, input.limits);
      }
      infos.set(entry.name, info);
    }

    const warnings: string[] = [];
    const views = new Map<string, ConvertedView>();
    for (const entry of sidecar.files) {
      const file = tiffs.get(entry.name) as InputFile;
      const info = infos.get(entry.name) as RasterInfo;
      const values = entry.values ?? sidecar.values;
      const storedAir = (entry.airValue ?? sidecar.airValue) as number;
      const max = info.bitDepth === 16 ? 65535 : 255;
      if (storedAir > max) {
        throw new ConversionError('malformed_input', `the air value ${storedAir} of ${file.name} is outside its ${info.bitDepth}-bit range`);
      }
      const airValue = toPlaneValue(storedAir, info.bitDepth, values);
      if (info.bitDepth === 8) warnings.push(`${file.name}: 8-bit source widened to 16 bits (v x 257)`);
      const pages: { index: number; energy: Energy; nominalEnergy?: string }[] = entry.pages ?? [
        { index: 0, energy: entry.energy as Energy, nominalEnergy: entry.nominalEnergy },
      ];
      for (const page of pages) {
        const plane = await decodePage(file, page.index);
        const data = plane.data;
        for (let i = 0; i < data.length; i++) data[i] = toPlaneValue(data[i], info.bitDepth, values);
        let view = views.get(entry.view);
        if (!view) {
          view = { id: entry.view, width: plane.width, height: plane.height, pixelSpacingMm: sidecar.pixelSpacingMm, airValue, planes: [] };
          views.set(entry.view, view);
        }
        if (view.width !== plane.width || view.height !== plane.height) {
          throw new ConversionError(
            'incomplete_scan',
            `the planes of view ${entry.view} differ in size: ${view.width} x ${view.height} and ${plane.width} x ${plane.height} (${file.name})`,
          );
        }
        if (view.airValue !== airValue) {
          throw new ConversionError('malformed_input', `the sidecar gives different air values for the planes of view ${entry.view}`);
        }
        const converted: ConvertedPlane = { energy: page.energy, data };
        if (page.nominalEnergy) converted.nominalEnergy = page.nominalEnergy;
        view.planes.push(converted);
      }
    }
    for (const view of views.values()) view.planes.sort((a, b) => order(a.energy) - order(b.energy));

    const scanner: Conversion['scanner'] = { vendor: sidecar.scanner.vendor };
    if (sidecar.scanner.model) scanner.model = sidecar.scanner.model;
    if (sidecar.scanner.software) scanner.software = sidecar.scanner.software;
    if (sidecar.scanner.serial) scanner.serial = sidecar.scanner.serial;
    return { scanner, acquiredAt: sidecar.acquiredAt, views: [...views.values()], warnings };
  }
}

/** The page indices of a TIFF that a sidecar entry makes planes of: its `pages`, or page 0. */
function usedPages(entry: TiffSidecar['files'][number]): number[] {
  return entry.pages ? entry.pages.map((page) => page.index) : [0];
}

/** File value → plane value: 8-bit widened by v x 257; attenuation is the complement of full scale. */
function toPlaneValue(value: number, bitDepth: 8 | 16, values: 'transmission' | 'attenuation'): number {
  const wide = bitDepth === 8 ? value * 257 : value;
  return values === 'attenuation' ? 65535 - wide : wide;
}

function order(energy: Energy): number {
  return energy === 'high' ? 0 : energy === 'low' ? 1 : 2;
}

async function rasterInfo(file: InputFile): Promise<RasterInfo> {
  try {
    return await readRasterInfo(file.path);
  } catch (error) {
    if (error instanceof RasterError) throw new ConversionError('malformed_input', `${file.name} cannot be read as a TIFF: ${error.message}`);
    throw error;
  }
}

/** The header of one further page of a multi-page TIFF: greyscale, within the limits (checked before decoding). */
async function checkedPageInfo(file: InputFile, page: number, limits: ConversionLimits): Promise<RasterInfo> {
  let info: RasterInfo;
  try {
    info = await readRasterInfo(file.path, page);
  } catch (error) {
    if (error instanceof RasterError) {
      throw new ConversionError('malformed_input', `page ${page} of ${file.name} cannot be read as a TIFF: ${error.message}`);
    }
    throw error;
  }
  if (info.channels !== 1) {
    throw new ConversionError('unsupported_variant', `page ${page} of ${file.name} has ${info.channels} channels; only greyscale TIFF planes are read`);
  }
  assertPlaneSize(info.width, info.height, limits);
  return info;
}

async function decodePage(file: InputFile, page: number): Promise<{ width: number; height: number; data: Uint16Array }> {
  try {
    return await decodeGrey(file.path, page);
  } catch (error) {
    if (error instanceof RasterError) {
      throw new ConversionError('malformed_input', `page ${page} of ${file.name} cannot be decoded: ${error.message}`);
    }
    throw error;
  }
}

async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function readText(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
