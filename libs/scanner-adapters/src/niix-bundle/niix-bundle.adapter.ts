import { BundleError, looksLikeBundle, readBundle } from '../../../exchange-format/src/bundle.js';
import { assertManifestSize, PackageIntegrityError, readPackage } from '../../../exchange-format/src/package.js';
import {
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
   * holds it, manifest.json: valid, every view within the per-plane limit and all planes within the per-scan limit.
   */
  check(files: UploadedFileHead[], limits: ConversionLimits): void {
    try {
      assertOneFile(files.length);
      const manifest = readBundleHead(files[0]);
      if (manifest) assertManifestSize(manifest, limits);
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      // Anything else means the head could not be judged: convert will.
    }
  }

  async convert(input: ConversionInput): Promise<Conversion> {
    assertOneFile(input.files.length);
    const [file] = input.files;
    try {
      // The manifest's sizes against the limits before any plane is read, then each plane PNG's own header against
      // the limits and its view's size before that plane is decoded (readPackage): the decoder allocates what IHDR
      // says, whatever the manifest says. Planes are decoded one at a time.
      const bundle = await readBundle(file.path);
      const { manifest, views } = await readPackage(bundle.manifest, (path) => bundle.readPart(path), { limits: input.limits });
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
