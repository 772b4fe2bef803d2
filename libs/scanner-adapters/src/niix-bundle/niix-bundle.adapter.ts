import { BundleError, looksLikeBundle, readBundle } from '../../../exchange-format/src/bundle.js';
import type { Manifest } from '../../../exchange-format/src/manifest.js';
import { PackageIntegrityError, readPackage } from '../../../exchange-format/src/package.js';
import {
  assertPlaneSize,
  type Conversion,
  ConversionError,
  type ConversionInput,
  type ConversionLimits,
  type ScannerAdapter,
  type SniffResult,
  type UploadedFileHead,
} from '../adapter.js';
import { readBundleHead } from './niix-bundle.head.js';

const ADAPTER_VERSION = '1.0.0';

/**
 * Imports a niix bundle exported by another analysis centre (see docs/exchange-format.md). The planes are already
 * in the exchange convention and are taken as they are; the facts come from the bundle's manifest, and
 * `importedFrom` names the scan it was first made from.
 */
export class NiixBundleAdapter implements ScannerAdapter {
  readonly id = 'niix-bundle';
  readonly version = ADAPTER_VERSION;
  readonly description = 'niix exchange bundles (tar with manifest.json and 16-bit PNG planes) from other centres';

  sniff(head: Uint8Array, _fileName: string): SniffResult {
    return looksLikeBundle(head) ? 'primary' : null;
  }

  /**
   * One file; its first tar header (magic, checksum, manifest.json's size within the file) and, when the head
   * holds it, manifest.json: valid, and every view within the limits.
   */
  check(files: UploadedFileHead[], limits: ConversionLimits): void {
    try {
      assertOneFile(files.length);
      const manifest = readBundleHead(files[0]);
      if (manifest) assertViewSizes(manifest, limits);
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      // Anything else means the head could not be judged: convert will.
    }
  }

  async convert(input: ConversionInput): Promise<Conversion> {
    assertOneFile(input.files.length);
    const [file] = input.files;
    try {
      const bundle = await readBundle(file.path);
      assertViewSizes(bundle.manifest, input.limits);
      const viewOfPlane = new Map(bundle.manifest.views.flatMap((view) => view.planes.map((plane) => [plane.path, view] as const)));
      // Each plane PNG's own header must declare its view's size before the PNG is decoded: the decoder allocates
      // what IHDR says, whatever the manifest says.
      const readPart = async (path: string): Promise<Buffer> => {
        const bytes = await bundle.readPart(path);
        const view = viewOfPlane.get(path);
        if (view) assertPngSize(file.name, bytes, path, view, input.limits);
        return bytes;
      };
      const { manifest, views } = await readPackage(bundle.manifest, readPart);
      return {
        scanner: manifest.scanner,
        acquiredAt: manifest.acquiredAt,
        views: views.map((view) => ({
          id: view.id,
          width: view.width,
          height: view.height,
          pixelSpacingMm: view.pixelSpacingMm,
          airValue: view.airValue,
          planes: view.planes,
        })),
        warnings: manifest.provenance.warnings,
        conveyance: manifest.conveyance,
        importedFrom: manifest.provenance.importedFrom ?? { scanId: manifest.scanId, stationId: manifest.stationId },
      };
    } catch (error) {
      if (error instanceof BundleError || error instanceof PackageIntegrityError) {
        throw new ConversionError('malformed_input', `${file.name}: ${error.message}`);
      }
      throw error;
    }
  }
}

function assertOneFile(count: number): void {
  if (count !== 1) {
    throw new ConversionError('incomplete_scan', count === 0 ? 'no niix bundle was sent' : `one niix bundle per scan, not ${count} files`);
  }
}

function assertViewSizes(manifest: Manifest, limits: ConversionLimits): void {
  for (const view of manifest.views) assertPlaneSize(view.width, view.height, limits);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The size in a plane PNG's IHDR against the limits and its view's size in the manifest. A part that is not a PNG
 * with IHDR first is left to the decoder, which refuses it without allocating.
 */
function assertPngSize(
  fileName: string,
  bytes: Buffer,
  path: string,
  view: { width: number; height: number },
  limits: ConversionLimits,
): void {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') return;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width * height > limits.maxPixelsPerPlane) {
    throw new ConversionError(
      'too_many_pixels',
      `${fileName}: part ${path} declares a plane of ${width} x ${height} pixels, more than the limit of ${limits.maxPixelsPerPlane} pixels per plane`,
    );
  }
  if (width !== view.width || height !== view.height) {
    throw new PackageIntegrityError(`part ${path} is ${width} x ${height} pixels, the manifest says ${view.width} x ${view.height}`, path);
  }
}
