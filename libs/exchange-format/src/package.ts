import { createHash } from 'node:crypto';
import { decodePng16, encodePng16, RasterError } from '../../imaging/src/raster.js';
import {
  assertPlaneSize,
  assertScanSize,
  type Conversion,
  ConversionError,
  type ConversionLimits,
} from '../../scanner-adapters/src/adapter.js';
import {
  ENERGIES,
  EXCHANGE_FORMAT,
  EXCHANGE_FORMAT_VERSION,
  EXCHANGE_FORMAT_VERSION_TRAINING,
  type Energy,
  type Manifest,
  manifestSchema,
  VIEW_ID_PATTERN,
} from './manifest.js';
import { conveyanceFromMetadata, type ScanMetadata } from './metadata.js';

export { manifestJsonSchema } from './manifest.js';

/**
 * The exchange package of one scan: `manifest.json` plus one lossless 16-bit greyscale PNG per plane at
 * `views/{viewId}/{energy}.png`, the sha-256 of every PNG recorded in the manifest. See docs/exchange-format.md.
 */

export const MANIFEST_PATH = 'manifest.json';

/** Path of a plane inside the package. */
export function planePath(viewId: string, energy: Energy): string {
  return `views/${viewId}/${energy}.png`;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The manifest as stored in `manifest.json`: UTF-8 JSON, two-space indent, final newline. */
export function serialiseManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/** A package does not hold together: a manifest that is not valid, a part missing, changed or undecodable. */
export class PackageIntegrityError extends Error {
  constructor(
    message: string,
    /** The part at fault (`views/top/high.png`, `manifest.json`), or null. */
    readonly part: string | null,
  ) {
    super(message);
    this.name = 'PackageIntegrityError';
  }
}

export interface PackagePart {
  path: string;
  data: Buffer;
}

export interface OriginalFile {
  name: string;
  size: number;
  sha256: string;
  object: string;
}

export interface BuildPackageInput {
  scanId: string;
  stationId: string;
  conversion: Conversion;
  adapter: { id: string; version: string };
  originals: OriginalFile[];
  metadata: ScanMetadata;
  convertedAt: Date;
  /** Only for a training scan made by threat image projection; the package is then version 1.1. */
  training?: Manifest['training'];
}

export interface BuiltPackage {
  manifest: Manifest;
  /** The plane PNGs, in manifest order. `manifest.json` itself is not among them: see serialiseManifest. */
  parts: PackagePart[];
}

export interface PackageView {
  id: string;
  width: number;
  height: number;
  pixelSpacingMm: { x: number; y: number } | null;
  airValue: number;
  planes: { energy: Energy; data: Uint16Array; nominalEnergy?: string }[];
}

export interface ReadPackageResult {
  manifest: Manifest;
  views: PackageView[];
}

export interface ReadPackageOptions {
  /**
   * For a package from elsewhere (a bundle): the manifest's plane sizes, each and all together, and every plane PNG's
   * own declared size are checked against these before any plane is decoded (ConversionError `too_many_pixels`).
   */
  limits?: ConversionLimits;
}

function checkConvertedViews(conversion: Conversion): void {
  if (conversion.views.length === 0) throw new ConversionError('incomplete_scan', 'the scan has no views');
  const ids = new Set<string>();
  for (const view of conversion.views) {
    if (!VIEW_ID_PATTERN.test(view.id)) {
      throw new ConversionError(
        'incomplete_scan',
        `view id "${view.id}" is not allowed (lower-case letters, digits and dashes, at most 32)`,
      );
    }
    if (ids.has(view.id)) throw new ConversionError('incomplete_scan', `view "${view.id}" appears twice`);
    ids.add(view.id);
    const { width, height } = view;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new ConversionError('incomplete_scan', `view "${view.id}" has an impossible size ${width} x ${height}`);
    }
    if (!Number.isInteger(view.airValue) || view.airValue < 1 || view.airValue > 65535) {
      throw new ConversionError('incomplete_scan', `view "${view.id}" has an air value ${view.airValue} outside 1..65535`);
    }
    if (view.planes.length === 0 || view.planes.length > ENERGIES.length) {
      throw new ConversionError('incomplete_scan', `view "${view.id}" has ${view.planes.length} planes (1 to 3 expected)`);
    }
    const energies = new Set<Energy>();
    for (const plane of view.planes) {
      if (energies.has(plane.energy)) {
        throw new ConversionError('incomplete_scan', `view "${view.id}" has two ${plane.energy} planes`);
      }
      energies.add(plane.energy);
      if (plane.data.length !== width * height) {
        throw new ConversionError(
          'incomplete_scan',
          `the ${plane.energy} plane of view "${view.id}" has ${plane.data.length} values, not ${width} x ${height}: ` +
            'the planes of one view must have the same size',
        );
      }
    }
    if (energies.has('single') && energies.size > 1) {
      throw new ConversionError('incomplete_scan', `view "${view.id}" mixes a single plane with high/low planes`);
    }
  }
}

function issuesText(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Rules a schema does not express: unique view ids, unique energies, plane paths at `views/{id}/{energy}.png`
 * (which also keeps a hostile manifest from naming paths outside the package). Returns a sentence, or null.
 */
export function manifestLayoutProblem(manifest: Manifest): string | null {
  const ids = new Set<string>();
  for (const view of manifest.views) {
    if (ids.has(view.id)) return `view "${view.id}" appears twice`;
    ids.add(view.id);
    const energies = new Set<Energy>();
    for (const plane of view.planes) {
      if (energies.has(plane.energy)) return `view "${view.id}" has two ${plane.energy} planes`;
      energies.add(plane.energy);
      const expected = planePath(view.id, plane.energy);
      if (plane.path !== expected) return `the ${plane.energy} plane of view "${view.id}" must be at ${expected}, not ${plane.path}`;
    }
  }
  return null;
}

/**
 * Validates a manifest read from elsewhere (a package in storage, a bundle from another centre).
 * Throws PackageIntegrityError (part `manifest.json`) with the first problems.
 */
export function parseManifest(json: unknown): Manifest {
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    throw new PackageIntegrityError(`the manifest is not a niix exchange manifest: ${issuesText(result.error)}`, MANIFEST_PATH);
  }
  const problem = manifestLayoutProblem(result.data);
  if (problem) throw new PackageIntegrityError(`the manifest is not valid: ${problem}`, MANIFEST_PATH);
  return result.data;
}

/**
 * Encodes the planes of a conversion as lossless 16-bit PNGs and writes the manifest that describes them.
 * The planes are already decoded and held; they are encoded at once (sharp works off the main thread). Throws
 * ConversionError `incomplete_scan` for views that do not hold together, `malformed_input` when the converted facts do
 * not make a valid manifest, `too_many_pixels` when the image library refuses a plane's size.
 */
export async function buildPackage(input: BuildPackageInput): Promise<BuiltPackage> {
  const { conversion } = input;
  checkConvertedViews(conversion);
  // Every plane is encoded at once: sharp works off the main thread, so planes use the cores in parallel.
  const encoded = await Promise.all(
    conversion.views.map((view) =>
      Promise.all(view.planes.map((plane) => encodePng16({ width: view.width, height: view.height, data: plane.data }))),
    ),
  );
  const parts: PackagePart[] = [];
  const views: Manifest['views'] = conversion.views.map((view, v) => ({
    id: view.id,
    width: view.width,
    height: view.height,
    pixelSpacingMm: view.pixelSpacingMm,
    airValue: view.airValue,
    planes: view.planes.map((plane, p) => {
      const data = encoded[v][p];
      const path = planePath(view.id, plane.energy);
      parts.push({ path, data });
      return {
        energy: plane.energy,
        path,
        sha256: sha256Hex(data),
        ...(plane.nominalEnergy !== undefined ? { nominalEnergy: plane.nominalEnergy } : {}),
      };
    }),
  }));
  const candidate = {
    format: EXCHANGE_FORMAT,
    version: input.training ? EXCHANGE_FORMAT_VERSION_TRAINING : EXCHANGE_FORMAT_VERSION,
    scanId: input.scanId,
    stationId: input.stationId,
    scanner: conversion.scanner,
    acquiredAt: conversion.acquiredAt,
    conveyance: conveyanceFromMetadata(input.metadata, conversion.conveyance),
    views,
    provenance: {
      originals: input.originals.map(({ name, size, sha256, object }) => ({ name, size, sha256, object })),
      adapter: { id: input.adapter.id, version: input.adapter.version },
      convertedAt: input.convertedAt.toISOString(),
      warnings: conversion.warnings,
      ...(conversion.importedFrom ? { importedFrom: conversion.importedFrom } : {}),
    },
    ...(input.training ? { training: input.training } : {}),
  };
  const result = manifestSchema.safeParse(candidate);
  if (!result.success) {
    throw new ConversionError('malformed_input', `the converted scan does not make a valid manifest: ${issuesText(result.error)}`);
  }
  return { manifest: result.data, parts };
}

/**
 * Throws `too_many_pixels` when a view of the manifest declares planes over the per-plane limit, or all its planes
 * together more than the per-scan limit: for a package from elsewhere, before any part is read.
 */
export function assertManifestSize(manifest: Manifest, limits: ConversionLimits): void {
  for (const view of manifest.views) assertPlaneSize(view.width, view.height, limits);
  assertScanSize(
    manifest.views.map((view) => ({ width: view.width, height: view.height, count: view.planes.length })),
    limits,
  );
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The width and height a PNG declares in its IHDR chunk (which must come first), read from its first 24 bytes without
 * decoding anything; undefined when the bytes do not start with the PNG signature and an IHDR chunk.
 */
export function pngDeclaredSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24) return undefined;
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!data.subarray(0, 8).equals(PNG_SIGNATURE) || data.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

/**
 * Reads a package: validates the manifest (with `limits`, its sizes against them), then one plane at a time: reads it
 * through `readPart`, checks its sha-256 and the size its PNG header declares (the decoder allocates what IHDR says,
 * whatever the manifest says), and only then decodes it. Throws PackageIntegrityError naming the part at fault,
 * ConversionError `too_many_pixels` over the limits. Errors of `readPart` itself pass through unchanged.
 */
export async function readPackage(
  manifest: unknown,
  readPart: (path: string) => Promise<Buffer>,
  options: ReadPackageOptions = {},
): Promise<ReadPackageResult> {
  const parsed = parseManifest(manifest);
  const { limits } = options;
  if (limits) assertManifestSize(parsed, limits);
  const views: PackageView[] = [];
  for (const view of parsed.views) {
    const planes: PackageView['planes'] = [];
    for (const plane of view.planes) {
      const bytes = await readPart(plane.path);
      const actual = sha256Hex(bytes);
      if (actual !== plane.sha256) {
        throw new PackageIntegrityError(
          `part ${plane.path} is damaged: its sha-256 is ${actual}, the manifest says ${plane.sha256}`,
          plane.path,
        );
      }
      assertPlanePngSize(bytes, plane.path, view, limits);
      let decoded;
      try {
        decoded = await decodePng16(bytes);
      } catch (error) {
        if (!(error instanceof RasterError)) throw error;
        throw new PackageIntegrityError(`part ${plane.path} is not a 16-bit greyscale PNG: ${error.message}`, plane.path);
      }
      if (decoded.width !== view.width || decoded.height !== view.height) {
        throw new PackageIntegrityError(
          `part ${plane.path} is ${decoded.width} x ${decoded.height} pixels, the manifest says ${view.width} x ${view.height}`,
          plane.path,
        );
      }
      planes.push({
        energy: plane.energy,
        data: decoded.data,
        ...(plane.nominalEnergy !== undefined ? { nominalEnergy: plane.nominalEnergy } : {}),
      });
    }
    views.push({
      id: view.id,
      width: view.width,
      height: view.height,
      pixelSpacingMm: view.pixelSpacingMm,
      airValue: view.airValue,
      planes,
    });
  }
  return { manifest: parsed, views };
}

/**
 * Before a plane PNG is decoded: the size in its IHDR against the per-plane limit (when given), then against its
 * view's size in the manifest. A part without the PNG signature and IHDR first is not a plane PNG.
 */
function assertPlanePngSize(
  bytes: Buffer,
  path: string,
  view: { width: number; height: number },
  limits: ConversionLimits | undefined,
): void {
  const declared = pngDeclaredSize(bytes);
  if (!declared) {
    throw new PackageIntegrityError(`part ${path} is not a 16-bit greyscale PNG: it does not start with the PNG signature and an IHDR chunk`, path);
  }
  const { width, height } = declared;
  if (limits && width * height > limits.maxPixelsPerPlane) {
    throw new ConversionError(
      'too_many_pixels',
      `part ${path} declares a plane of ${width} x ${height} pixels, more than the limit of ${limits.maxPixelsPerPlane} pixels per plane`,
    );
  }
  if (width !== view.width || height !== view.height) {
    throw new PackageIntegrityError(`part ${path} is ${width} x ${height} pixels, the manifest says ${view.width} x ${view.height}`, path);
  }
}
