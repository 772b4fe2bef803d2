import type { Conveyance, Energy } from '../../exchange-format/src/manifest.js';

/**
 * One scanner adapter turns one vendor's files into the planes of the exchange package.
 * Adapters are pure: they read the files they are given and return pixels and facts; they never touch the
 * database, the queues or object storage.
 *
 * Plane convention (the same for every vendor): unsigned 16-bit, value proportional to transmitted intensity,
 * air near the top of the range (recorded as `airValue`), dense matter towards 0. MONOCHROME1 and
 * attenuation-valued inputs are converted by the adapter.
 */

/** What `sniff` says about one uploaded file, judged from its first bytes and its name. */
export type SniffResult =
  /** The file is an image this adapter converts. */
  | 'primary'
  /** The file belongs to this adapter's format but carries no pixels (a sidecar, a header). */
  | 'companion'
  /** Not this adapter's. */
  | null;

/** Number of leading bytes given to `sniff`. */
export const SNIFF_BYTES = 4096;

/** Number of leading bytes given to `check` (headers of every supported format fit in it). */
export const CHECK_BYTES = 65536;

/** An uploaded file as `check` sees it: its name, its full size and its first CHECK_BYTES bytes. */
export interface UploadedFileHead {
  name: string;
  size: number;
  head: Uint8Array;
}

export interface InputFile {
  /** File name as uploaded (the multipart filename), used for hints such as `.json` sidecars. */
  name: string;
  /** Local path of the whole file. */
  path: string;
  size: number;
}

export interface ConversionLimits {
  /** Largest accepted width x height of one plane; checked from headers before decoding. */
  maxPixelsPerPlane: number;
  /**
   * Largest accepted sum of width x height over every plane of every view of the scan; checked from headers before
   * the first plane is decoded, so what one conversion holds in planes is bounded by it (2 bytes a pixel).
   */
  maxPixelsPerScan: number;
}

export interface ConversionInput {
  files: InputFile[];
  limits: ConversionLimits;
}

export interface ConvertedPlane {
  energy: Energy;
  /** width x height values, row-major, top-left first, in the plane convention above. */
  data: Uint16Array;
  nominalEnergy?: string;
}

export interface ConvertedView {
  /** `top`, `side`, or `view-N`. */
  id: string;
  width: number;
  height: number;
  pixelSpacingMm: { x: number; y: number } | null;
  airValue: number;
  planes: ConvertedPlane[];
}

export interface Conversion {
  scanner: { vendor: string; model?: string; software?: string; serial?: string };
  /** ISO 8601 with offset, or null when the files do not say. */
  acquiredAt: string | null;
  views: ConvertedView[];
  /** Things a reviewer should know (e.g. "lossy JPEG 2000 source", "8-bit source widened to 16 bits"). */
  warnings: string[];
  /** Conveyance facts found in the files themselves (merged with the station's metadata). */
  conveyance?: Partial<Conveyance>;
  /** Set by the bundle adapter: the scan this package was exported from. */
  importedFrom?: { scanId: string; stationId: string };
}

/** What a writer of a scanner's input format needs (the inverse of convert): scanner facts and views. */
export type ScanToWrite = Pick<Conversion, 'scanner' | 'acquiredAt' | 'views'>;

export interface ScannerAdapter {
  /** Stable id, e.g. `dicos`, `tiff-sidecar`, `raw:aurora-ax6`, `image`, `niix-bundle`. */
  readonly id: string;
  /** Adapter version, recorded in every manifest it produces. */
  readonly version: string;
  /** One line for people: which scanners or formats this adapter reads. */
  readonly description: string;
  /** Cheap test on the first SNIFF_BYTES bytes (fewer when the file is shorter). Never throws. */
  sniff(head: Uint8Array, fileName: string): SniffResult;
  /**
   * Optional cheap structural check while the station waits for its answer, from headers and sizes only (no
   * pixel decoding, no I/O): declared sizes against the limits (`too_many_pixels`), a file shorter than its
   * header says (`malformed_input`), a sidecar naming files that were not sent (`incomplete_scan`). Throws
   * ConversionError; the upload is then refused (413 or 422) and nothing is kept. Problems it cannot see from
   * the first bytes are left to `convert`.
   */
  check?(files: UploadedFileHead[], limits: ConversionLimits): void;
  /**
   * Converts the files (all of them sniffed as this adapter's) into views.
   * Throws ConversionError for anything wrong with the input; any other error is treated as transient.
   */
  convert(input: ConversionInput): Promise<Conversion>;
}

/** Machine-readable reasons an input cannot be converted. They end the scan as `failed` without retry. */
export type ConversionErrorCode =
  /** Recognised format but the content is broken (truncated, bad header, corrupt codestream). */
  | 'malformed_input'
  /** Recognised format in a variant that niix does not read (colour image, unknown compression, ...). */
  | 'unsupported_variant'
  /** A plane, or all the planes of the scan together, are larger than the configured limits. */
  | 'too_many_pixels'
  /** Files that do not make one scan (a sidecar without its image, planes of different sizes, ...). */
  | 'incomplete_scan';

/** Longest ConversionError message; longer ones (a codec's or parser's text quoted at length) are cut. */
export const MAX_CONVERSION_MESSAGE = 1000;

export class ConversionError extends Error {
  constructor(
    readonly code: ConversionErrorCode,
    message: string,
  ) {
    super(oneLine(message));
    this.name = 'ConversionError';
  }
}

/**
 * A message as one line for people (it is shown to the station): decoders quoted inside it (libvips, dicom-parser)
 * write several lines, often the same one repeated; the distinct lines are joined with '; ' and the whole is cut to
 * MAX_CONVERSION_MESSAGE.
 */
function oneLine(message: string): string {
  const line = message
    .split(/\s*[\r\n]+\s*/)
    .filter((part, i, parts) => part !== '' && parts.indexOf(part) === i)
    .join('; ')
    .trim();
  return line.length > MAX_CONVERSION_MESSAGE ? `${line.slice(0, MAX_CONVERSION_MESSAGE - 1)}…` : line;
}

/** Throws `too_many_pixels` before any decoding when a declared plane size exceeds the limit. */
export function assertPlaneSize(width: number, height: number, limits: ConversionLimits): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ConversionError('malformed_input', `the file declares an impossible image size ${width} x ${height}`);
  }
  if (width * height > limits.maxPixelsPerPlane) {
    throw new ConversionError(
      'too_many_pixels',
      `a plane of ${width} x ${height} pixels exceeds the limit of ${limits.maxPixelsPerPlane} pixels per plane`,
    );
  }
}

/** Declared size of some planes of a scan: `count` planes (default 1) of width x height pixels. */
export interface DeclaredPlanes {
  width: number;
  height: number;
  count?: number;
}

/**
 * Throws `too_many_pixels` before any decoding when the planes declared by the headers hold more pixels together than
 * `limits.maxPixelsPerScan`. Every plane of every view counts (a dual-energy view twice). Given only some of the
 * planes (the headers a file's first bytes hold), the sum is a lower bound, so a refusal is still right.
 */
export function assertScanSize(planes: DeclaredPlanes[], limits: ConversionLimits): void {
  const total = planes.reduce((sum, p) => sum + (p.count ?? 1) * p.width * p.height, 0);
  if (total > limits.maxPixelsPerScan) {
    throw new ConversionError(
      'too_many_pixels',
      `the scan has ${describePlanes(planes)} = ${formatCount(total)} pixels in all; this service accepts at most ${formatCount(limits.maxPixelsPerScan)} per scan (NIIX_MAX_PIXELS_PER_SCAN)`,
    );
  }
}

/** "3 planes of 8000 x 6000", or "3 planes (2 of 8000 x 6000, 1 of 4000 x 3000)". */
function describePlanes(planes: DeclaredPlanes[]): string {
  const bySize = new Map<string, number>();
  for (const p of planes) {
    const size = `${p.width} x ${p.height}`;
    bySize.set(size, (bySize.get(size) ?? 0) + (p.count ?? 1));
  }
  const count = [...bySize.values()].reduce((sum, n) => sum + n, 0);
  const noun = count === 1 ? 'plane' : 'planes';
  if (bySize.size === 1) return `${count} ${noun} of ${[...bySize.keys()][0]}`;
  const sizes = [...bySize.entries()].map(([size, n]) => `${n} of ${size}`);
  const shown = sizes.length > 4 ? [...sizes.slice(0, 4), `${sizes.length - 4} more sizes`] : sizes;
  return `${count} ${noun} (${shown.join(', ')})`;
}

/** 144000000 → "144,000,000". */
function formatCount(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
