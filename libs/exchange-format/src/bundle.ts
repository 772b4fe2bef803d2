import { constants as bufferConstants } from 'node:buffer';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Manifest } from './manifest.js';
import {
  MANIFEST_PATH,
  PackageIntegrityError,
  type PackagePart,
  parseManifest,
  serialiseManifest,
  sha256Hex,
} from './package.js';

/**
 * The niix bundle: one exchange package in one file, for exchange between analysis centres and countries.
 * An uncompressed POSIX ustar archive (`tar -tvf` lists it): `manifest.json` first, then the plane PNGs, then
 * optionally the unchanged originals under `originals/`. Written as a stream, one part in memory at a time;
 * read from a file by its headers and entry offsets, a part at a time. GNU tar archives (`tar -cf`, with
 * long-name and pax records) are read as well, as long as `manifest.json` is their first file.
 */

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** The largest size an 11-digit octal field holds: 8 GiB - 1. */
const MAX_OCTAL_SIZE = 8 ** 11 - 1;
const ORIGINALS_DIR = 'originals/';

export interface BundleLimits {
  /** Largest `manifest.json` accepted. */
  maxManifestBytes: number;
  /** Largest part accepted (it is read into one Buffer). */
  maxPartBytes: number;
  /** Most entries in one bundle. */
  maxEntries: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxManifestBytes: 4 * 1024 * 1024,
  maxPartBytes: Math.min(bufferConstants.MAX_LENGTH, MAX_OCTAL_SIZE),
  maxEntries: 10_000,
};

/** A bundle that cannot be written or read: not a tar, damaged, hostile or not holding a valid package. */
export class BundleError extends Error {
  constructor(
    message: string,
    /** The entry at fault, or null. */
    readonly part: string | null = null,
  ) {
    super(message);
    this.name = 'BundleError';
  }
}

/** One file in a bundle: its path and where its bytes are. */
export interface BundleEntry {
  path: string;
  /** Byte offset of the data in the bundle file. */
  offset: number;
  size: number;
}

export interface OpenedBundle {
  manifest: Manifest;
  /** Every file of the bundle, `manifest.json` first, in archive order. */
  entries: BundleEntry[];
  /** Reads one part. Originals are checked against the size and sha-256 of the manifest; planes are checked by readPackage. */
  readPart(path: string): Promise<Buffer>;
}

export interface WriteBundleOptions {
  /** Modification time recorded in the tar headers; default `provenance.convertedAt`, so a bundle is reproducible. */
  mtime?: Date;
}

/** Path of an original inside a bundle: `originals/` and its uploaded name made safe (no folders, no leading dot). */
export function originalPartPath(name: string): string {
  let safe = [...name].map((c) => (c === '/' || c === '\\' || isControl(c) ? '_' : c)).join('');
  safe = safe.replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (safe === '') safe = '_';
  while (Buffer.byteLength(safe, 'utf8') > 100) safe = safe.slice(1);
  return `${ORIGINALS_DIR}${safe}`;
}

function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

/** A relative path without `.`/`..` segments, backslashes, control characters or a leading slash; null if unsafe. */
function safeEntryPath(raw: string): string | null {
  const path = raw.replace(/^(\.\/)+/, '');
  if (path === '' || path.startsWith('/') || path.includes('\\') || [...path].some(isControl)) return null;
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  return path;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new BundleError(`value ${value} does not fit a tar header field`);
  header.write(`${digits}\0`, offset, length, 'latin1');
}

function splitName(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path, 'utf8') <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix, 'utf8') <= 155 && Buffer.byteLength(name, 'utf8') <= 100) return { prefix, name };
  }
  throw new BundleError(`the path ${path} is too long for a ustar header`, path);
}

function checksumOf(header: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : header[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

/** The 512-byte POSIX ustar header of a regular file. */
function fileHeader(path: string, size: number, mtimeSeconds: number): Buffer {
  if (size > MAX_OCTAL_SIZE) throw new BundleError(`part ${path} is too large for a bundle (${size} bytes)`, path);
  const header = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(path);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, mtimeSeconds);
  header.write('0', 156, 1, 'latin1');
  header.write('ustar\u000000', 257, 8, 'latin1');
  header.write('niix', 265, 32, 'latin1');
  header.write('niix', 297, 32, 'latin1');
  writeOctal(header, 329, 8, 0);
  writeOctal(header, 337, 8, 0);
  header.write(prefix, 345, 155, 'utf8');
  const { unsigned } = checksumOf(header);
  header.write(`${unsigned.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return header;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/**
 * Streams a bundle: `manifest.json`, then the parts in the order given (planes first, then originals), then the
 * end-of-archive marker. Only one part is held at a time when `parts` is an async iterable. Every part must be one
 * the manifest describes and match its sha-256, and every plane must be there; otherwise the stream fails with a
 * BundleError (so a broken bundle is never completed).
 */
export function writeBundle(
  manifest: Manifest,
  parts: AsyncIterable<PackagePart> | Iterable<PackagePart>,
  options: WriteBundleOptions = {},
): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    let checked: Manifest;
    try {
      checked = parseManifest(manifest);
    } catch (error) {
      if (error instanceof PackageIntegrityError) throw new BundleError(error.message, MANIFEST_PATH);
      throw error;
    }
    const mtime = Math.floor((options.mtime ?? new Date(checked.provenance.convertedAt)).getTime() / 1000);
    const planes = new Map<string, string>();
    for (const view of checked.views) for (const plane of view.planes) planes.set(plane.path, plane.sha256);
    const originals = new Map<string, string>();
    for (const original of checked.provenance.originals) originals.set(originalPartPath(original.name), original.sha256);

    const json = serialiseManifest(checked);
    yield fileHeader(MANIFEST_PATH, json.length, mtime);
    yield json;
    yield padding(json.length);

    const written = new Set<string>([MANIFEST_PATH]);
    let originalSeen = false;
    for await (const part of parts) {
      const path = safeEntryPath(part.path);
      if (path === null || path !== part.path) throw new BundleError(`part path ${part.path} is not allowed`, part.path);
      if (written.has(path)) throw new BundleError(`part ${path} is given twice`, path);
      const expected = planes.get(path) ?? originals.get(path);
      if (expected === undefined) {
        throw new BundleError(`part ${path} is not described by the manifest (planes and originals only)`, path);
      }
      if (planes.has(path) && originalSeen) throw new BundleError(`plane ${path} comes after the originals`, path);
      if (originals.has(path)) originalSeen = true;
      if (sha256Hex(part.data) !== expected) {
        throw new BundleError(`part ${path} does not match the sha-256 in the manifest`, path);
      }
      written.add(path);
      yield fileHeader(path, part.data.length, mtime);
      yield part.data;
      yield padding(part.data.length);
    }
    for (const path of planes.keys()) {
      if (!written.has(path)) throw new BundleError(`plane ${path} of the manifest was not given`, path);
    }
    yield ZERO_BLOCK;
    yield ZERO_BLOCK;
  }
  return Readable.from(generate(), { objectMode: false });
}

/**
 * Streams a plain ustar archive of the given files, in the order given, with the headers of a bundle (mode 0644, owner
 * niix, `mtime`) and the end-of-archive marker: for exports that are not an exchange package (a training case as
 * DICOS files). Paths must be relative, without `.` or `..` segments, each given once; otherwise the stream fails with
 * a BundleError.
 */
export function writeTar(files: AsyncIterable<PackagePart> | Iterable<PackagePart>, options: { mtime: Date }): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    const mtime = Math.floor(options.mtime.getTime() / 1000);
    const written = new Set<string>();
    for await (const file of files) {
      const path = safeEntryPath(file.path);
      if (path === null || path !== file.path) throw new BundleError(`path ${file.path} is not allowed in a tar`, file.path);
      if (written.has(path)) throw new BundleError(`file ${path} is given twice`, path);
      written.add(path);
      yield fileHeader(path, file.data.length, mtime);
      yield file.data;
      yield padding(file.data.length);
    }
    yield ZERO_BLOCK;
    yield ZERO_BLOCK;
  }
  return Readable.from(generate(), { objectMode: false });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octalField(block: Buffer, offset: number, length: number, what: string, entry: string): number {
  if (block[offset] & 0x80) {
    throw new BundleError(`entry ${entry} has a ${what} in binary form (larger than a bundle may hold)`, entry);
  }
  const text = block
    .subarray(offset, offset + length)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new BundleError(`entry ${entry} has an unreadable ${what} "${text}"`, entry);
  return parseInt(text, 8);
}

/** ustar (POSIX `ustar\0` + `00`, or GNU `ustar ` + ` \0`) magic at offset 257 of a header. */
export function hasTarMagic(header: Uint8Array): boolean {
  if (header.length < 263) return false;
  const magic = Buffer.from(header.buffer, header.byteOffset + 257, 6).toString('latin1');
  return magic === 'ustar\0' || magic === 'ustar ';
}

/** Cheap test on the first bytes of a file: a tar whose first entry is `manifest.json`. */
export function looksLikeBundle(head: Uint8Array): boolean {
  if (head.length < BLOCK || !hasTarMagic(head)) return false;
  const name = cString(Buffer.from(head.buffer, head.byteOffset, BLOCK), 0, 100).replace(/^(\.\/)+/, '');
  return name === MANIFEST_PATH;
}

function parsePax(data: Buffer, entry: string): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space === -1 ? NaN : Number(data.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) {
      throw new BundleError(`entry ${entry} has a malformed pax header`, entry);
    }
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return out;
}

/**
 * Opens a bundle file: reads every tar header (checking its checksum), records where each entry's bytes are, then
 * reads and validates `manifest.json` and checks that every plane it lists is present. Rejects paths leaving the
 * bundle, links and devices, duplicated entries, sizes beyond the file or the limits, truncated archives.
 */
export async function readBundle(path: string, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<OpenedBundle> {
  const file = await open(path, 'r');
  const entries: BundleEntry[] = [];
  const byPath = new Map<string, BundleEntry>();
  let manifestBytes: Buffer;
  try {
    const fileSize = (await file.stat()).size;
    const readAt = async (offset: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      if (bytesRead !== length) throw new BundleError('the bundle is truncated');
      return buffer;
    };

    let offset = 0;
    let ended = false;
    let longName: string | null = null;
    let pax = new Map<string, string>();
    let headers = 0;
    while (offset + BLOCK <= fileSize) {
      const block = await readAt(offset, BLOCK);
      if (block.equals(ZERO_BLOCK)) {
        ended = true;
        break;
      }
      if (++headers > limits.maxEntries * 3) throw new BundleError(`the bundle has more than ${limits.maxEntries} entries`);
      const rawName = cString(block, 0, 100);
      const where = `at byte ${offset}`;
      if (!hasTarMagic(block)) {
        throw new BundleError(
          offset === 0 ? 'the file is not a tar (ustar) archive' : `the tar header ${where} has no ustar magic`,
        );
      }
      const stored = octalField(block, 148, 8, 'checksum', rawName || where);
      const { unsigned, signed } = checksumOf(block);
      if (stored !== unsigned && stored !== signed) {
        throw new BundleError(`the tar header of ${rawName || 'an entry'} ${where} is damaged (checksum mismatch)`, rawName || null);
      }
      const posix = block.toString('latin1', 257, 263) === 'ustar\0';
      const prefix = posix ? cString(block, 345, 155) : '';
      const headerName = prefix ? `${prefix}/${rawName}` : rawName;
      const type = String.fromCharCode(block[156] || 0x30);
      let size = octalField(block, 124, 12, 'size', headerName || where);
      const dataOffset = offset + BLOCK;

      const isFile = type === '0' || type === '7';
      const entryName = isFile ? (pax.get('path') ?? longName ?? headerName) : headerName;
      if (isFile && pax.has('size')) size = Number(pax.get('size'));
      if (!Number.isSafeInteger(size) || size < 0) throw new BundleError(`entry ${entryName} has an impossible size`, entryName);
      if (dataOffset + size > fileSize) {
        throw new BundleError(
          `entry ${entryName} claims ${size} bytes but the file ends ${fileSize - dataOffset} bytes later: the bundle is truncated or damaged`,
          entryName,
        );
      }
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;

      if (type === 'x' || type === 'L') {
        if (size > 64 * 1024) throw new BundleError(`a long-name or pax record ${where} is absurdly large (${size} bytes)`);
        const data = await readAt(dataOffset, size);
        if (type === 'x') pax = parsePax(data, headerName);
        else longName = cString(data, 0, size);
      } else if (type === 'g' || type === '5') {
        // global pax records and directories carry nothing a package needs
      } else if (isFile) {
        const safe = safeEntryPath(entryName);
        if (safe === null) throw new BundleError(`entry "${entryName}" has a path that is not allowed (absolute, .. or control characters)`, entryName);
        if (entries.length === 0 && safe !== MANIFEST_PATH) {
          throw new BundleError(`the first file of a bundle must be ${MANIFEST_PATH}, not ${safe}`, safe);
        }
        if (byPath.has(safe)) throw new BundleError(`entry ${safe} appears twice`, safe);
        if (entries.length >= limits.maxEntries) throw new BundleError(`the bundle has more than ${limits.maxEntries} entries`);
        if (size > limits.maxPartBytes) {
          throw new BundleError(`entry ${safe} is ${size} bytes, more than the limit of ${limits.maxPartBytes}`, safe);
        }
        const entry = { path: safe, offset: dataOffset, size };
        entries.push(entry);
        byPath.set(safe, entry);
        longName = null;
        pax = new Map();
      } else {
        throw new BundleError(`entry ${headerName} is of tar type "${type}" (links, devices and the like are not allowed)`, headerName);
      }
      offset = next;
    }
    if (!ended) throw new BundleError('the bundle is truncated: the tar end-of-archive marker is missing');
    const first = entries[0];
    if (!first) throw new BundleError(`the bundle is empty: it has no ${MANIFEST_PATH}`);
    if (first.size > limits.maxManifestBytes) {
      throw new BundleError(`${MANIFEST_PATH} is ${first.size} bytes, more than the limit of ${limits.maxManifestBytes}`, MANIFEST_PATH);
    }
    manifestBytes = first.size === 0 ? Buffer.alloc(0) : await readAt(first.offset, first.size);
  } finally {
    await file.close();
  }

  let json: unknown;
  try {
    json = JSON.parse(manifestBytes.toString('utf8'));
  } catch (error) {
    throw new BundleError(`${MANIFEST_PATH} is not valid JSON: ${(error as Error).message}`, MANIFEST_PATH);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(json);
  } catch (error) {
    if (error instanceof PackageIntegrityError) throw new BundleError(`${MANIFEST_PATH}: ${error.message}`, MANIFEST_PATH);
    throw error;
  }
  for (const view of manifest.views) {
    for (const plane of view.planes) {
      if (!byPath.has(plane.path)) throw new BundleError(`the bundle lacks part ${plane.path} listed in the manifest`, plane.path);
    }
  }
  const originals = new Map(manifest.provenance.originals.map((o) => [originalPartPath(o.name), o]));

  async function readPart(partPath: string): Promise<Buffer> {
    const entry = byPath.get(partPath);
    if (!entry) throw new BundleError(`the bundle has no part ${partPath}`, partPath);
    const handle = await open(path, 'r');
    let data: Buffer;
    try {
      data = Buffer.alloc(entry.size);
      const { bytesRead } = entry.size === 0 ? { bytesRead: 0 } : await handle.read(data, 0, entry.size, entry.offset);
      if (bytesRead !== entry.size) throw new BundleError(`part ${partPath} is truncated`, partPath);
    } finally {
      await handle.close();
    }
    const original = originals.get(partPath);
    if (original && (original.size !== data.length || original.sha256 !== sha256Hex(data))) {
      throw new BundleError(`original ${partPath} does not match the size and sha-256 in the manifest`, partPath);
    }
    return data;
  }

  return { manifest, entries, readPart };
}
