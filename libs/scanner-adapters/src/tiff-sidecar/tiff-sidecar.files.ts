import { ConversionError, type UploadedFileHead } from '../adapter.js';
import { parseTiffSidecar, TiffSidecarError, type TiffSidecar } from './tiff-sidecar.schema.js';

/**
 * The parts of TiffSidecarAdapter that need no pixels and no I/O, shared by `check` (on the first bytes of each
 * file) and `convert`: telling TIFF files from the sidecar, matching the sidecar with the TIFFs sent, and the size
 * a TIFF's first directory declares.
 */

/** Largest sidecar read; real ones are a few KB. */
export const MAX_SIDECAR_BYTES = 1024 * 1024;

export function isTiff(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const ii = head[0] === 0x49 && head[1] === 0x49 && head[3] === 0x00 && (head[2] === 42 || head[2] === 43);
  const mm = head[0] === 0x4d && head[1] === 0x4d && head[2] === 0x00 && (head[3] === 42 || head[3] === 43);
  return ii || mm;
}

/** A file of the upload that is not a TIFF: the sidecar, if all is well. `text` is undefined when not at hand. */
export interface SidecarCandidate {
  name: string;
  size: number;
  text: string | undefined;
}

/**
 * Checks that the upload is TIFF files plus exactly one sidecar describing exactly those files, and returns the
 * parsed sidecar; undefined when the sidecar's text is not at hand (only the upload's shape was checked).
 */
export function matchSidecar(tiffNames: string[], others: SidecarCandidate[]): TiffSidecar | undefined {
  for (const other of others) {
    if (other.size > MAX_SIDECAR_BYTES) {
      throw new ConversionError('malformed_input', `${other.name} is neither a TIFF nor a sidecar of reasonable size`);
    }
  }
  if (others.length === 0) {
    throw new ConversionError(
      'incomplete_scan',
      `the TIFF file(s) ${tiffNames.join(', ')} came without the sidecar (JSON or XML) that gives their view, energy and air value`,
    );
  }
  if (others.length > 1) {
    throw new ConversionError('incomplete_scan', `one sidecar per scan is expected, got ${others.map((s) => s.name).join(', ')}`);
  }
  const [{ name, text }] = others;
  if (text === undefined) return undefined;
  let sidecar: TiffSidecar;
  try {
    sidecar = parseTiffSidecar(text);
  } catch (error) {
    if (error instanceof TiffSidecarError) throw new ConversionError('malformed_input', `the sidecar ${name} is invalid: ${error.message}`);
    throw error;
  }
  const tiffs = new Set(tiffNames);
  const missing = sidecar.files.filter((f) => !tiffs.has(f.name)).map((f) => f.name);
  if (missing.length > 0) {
    throw new ConversionError('incomplete_scan', `the sidecar ${name} describes ${missing.join(', ')}, which ${missing.length > 1 ? 'were' : 'was'} not sent`);
  }
  const described = new Set(sidecar.files.map((f) => f.name));
  const extra = tiffNames.filter((tiff) => !described.has(tiff));
  if (extra.length > 0) throw new ConversionError('incomplete_scan', `the sidecar ${name} does not describe ${extra.join(', ')}`);
  if (tiffs.size === 0) throw new ConversionError('incomplete_scan', `the sidecar ${name} came without any TIFF file`);
  return sidecar;
}

/** The sidecar text of a non-TIFF file when the head holds all of it. */
export function sidecarText(file: UploadedFileHead): string | undefined {
  if (file.head.length < file.size) return undefined;
  return Buffer.from(file.head.buffer, file.head.byteOffset, file.head.byteLength).toString('utf8');
}

const IMAGE_WIDTH = 256;
const IMAGE_LENGTH = 257;

/**
 * Width and height from the first image file directory (classic TIFF or BigTIFF), when the head holds it. Throws
 * malformed_input when the directory lies beyond the end of the file (the decoder cannot read such a file).
 */
export function tiffFirstPageSize(file: UploadedFileHead): { width: number; height: number } | undefined {
  const { head, size, name } = file;
  if (!isTiff(head) || head.length < 16) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const little = head[0] === 0x49;
  const big = view.getUint16(2, little) === 43;
  const u16 = (at: number): number => view.getUint16(at, little);
  const u32 = (at: number): number => view.getUint32(at, little);
  const u64 = (at: number): number => Number(view.getBigUint64(at, little));
  const ifd = big ? u64(8) : u32(4);
  const countBytes = big ? 8 : 2;
  const entryBytes = big ? 20 : 12;
  if (ifd < 8) return undefined;
  if (ifd + countBytes > size) {
    throw new ConversionError('malformed_input', `${name} is truncated or damaged: its first TIFF directory is at byte ${ifd}, beyond the end of the file (${size} bytes)`);
  }
  if (ifd + countBytes > head.length) return undefined;
  const count = big ? u64(ifd) : u16(ifd);
  const end = ifd + countBytes + count * entryBytes;
  if (end > size) {
    throw new ConversionError('malformed_input', `${name} is truncated: its first TIFF directory (${count} entries at byte ${ifd}) runs past the end of the file (${size} bytes)`);
  }
  if (end > head.length) return undefined;
  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i < count; i++) {
    const at = ifd + countBytes + i * entryBytes;
    const tag = u16(at);
    if (tag !== IMAGE_WIDTH && tag !== IMAGE_LENGTH) continue;
    const type = u16(at + 2);
    const valueAt = at + (big ? 12 : 8);
    // SHORT, LONG, or LONG8 (BigTIFF): one value, stored in the entry itself.
    const value = type === 3 ? u16(valueAt) : type === 4 ? u32(valueAt) : type === 16 && big ? u64(valueAt) : undefined;
    if (tag === IMAGE_WIDTH) width = value;
    else height = value;
  }
  return width !== undefined && height !== undefined ? { width, height } : undefined;
}
