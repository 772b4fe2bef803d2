import sharp from 'sharp';
import { withPixelLimit } from './pixel-limit.js';

/** A Deep Zoom pyramid whose tiles all sit in one blob, each found through `index`. */
export interface DeepZoomArchive {
  /** The Deep Zoom descriptor XML (Image TileSize Overlap Format, Size Width Height), as OpenSeadragon reads it. */
  dzi: string;
  format: 'jpeg' | 'png';
  tileSize: number;
  overlap: number;
  /** Level of the full-size image; level L is the full size halved (rounded up) maxLevel − L times, down to 1 x 1 at 0. */
  maxLevel: number;
  /** All tiles in one blob: a zip of stored (uncompressed) entries, so `unzip` can list it too. */
  archive: Buffer;
  /** `${level}/${col}_${row}` → [offset, length] of that tile's bytes inside `archive`. */
  index: Record<string, [offset: number, length: number]>;
}

export interface DeepZoomOptions {
  tileSize: number;
  overlap: number;
  format: 'jpeg' | 'png';
  quality: number;
}

export class DeepZoomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeepZoomError';
  }
}

export function dziXml(width: number, height: number, options: Pick<DeepZoomOptions, 'tileSize' | 'overlap' | 'format'>): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="${options.format}" Overlap="${options.overlap}" TileSize="${options.tileSize}">` +
    `<Size Width="${width}" Height="${height}"/></Image>\n`
  );
}

/** The Deep Zoom level of the full image: ceil(log2(max side)). */
export function deepZoomMaxLevel(width: number, height: number): number {
  return Math.ceil(Math.log2(Math.max(width, height, 1)));
}

/** Size of the image at a Deep Zoom level. */
export function deepZoomLevelSize(width: number, height: number, level: number): { width: number; height: number } {
  const scale = 2 ** (deepZoomMaxLevel(width, height) - level);
  return { width: Math.max(1, Math.ceil(width / scale)), height: Math.max(1, Math.ceil(height / scale)) };
}

/**
 * Builds the pyramid of an 8-bit image (1 = greyscale, 3 = RGB channels) with libvips' dzsave into an in-memory
 * zip of stored entries, then indexes the zip's central directory so each tile is a slice of the one buffer.
 */
export async function buildDeepZoom(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  options: DeepZoomOptions,
): Promise<DeepZoomArchive> {
  const archive = await withPixelLimit(`building the deep-zoom tiles of a ${width} x ${height} view`, () => {
    let image = sharp(pixels, { raw: { width, height, channels } });
    if (channels === 1) image = image.toColourspace('b-w');
    image = options.format === 'jpeg' ? image.jpeg({ quality: options.quality }) : image.png({ compressionLevel: 2 });
    return image.tile({ size: options.tileSize, overlap: options.overlap, layout: 'dz', container: 'zip', basename: 'view' }).toBuffer();
  });
  const index = indexTiles(archive, options.format);
  const maxLevel = deepZoomMaxLevel(width, height);
  if (!index[`${maxLevel}/0_0`]) throw new DeepZoomError(`the pyramid has no level ${maxLevel}`);
  return {
    dzi: dziXml(width, height, options),
    format: options.format,
    tileSize: options.tileSize,
    overlap: options.overlap,
    maxLevel,
    archive,
    index,
  };
}

/** The bytes of one tile (a view into the archive, not a copy), or null when the pyramid has no such tile. */
export function tileBytes(archive: DeepZoomArchive, level: number, col: number, row: number): Buffer | null {
  const entry = archive.index[`${level}/${col}_${row}`];
  if (!entry) return null;
  return archive.archive.subarray(entry[0], entry[0] + entry[1]);
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Reads a zip's central directory and maps every `<any>_files/<level>/<col>_<row>.<ext>` entry to the offset and
 * length of its data. Entries must be stored (method 0), as dzsave writes them.
 */
export function indexTiles(zip: Buffer, format: 'jpeg' | 'png'): Record<string, [number, number]> {
  const end = findEndOfCentralDirectory(zip);
  let count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || zip.readUInt32LE(locator) !== ZIP64_LOCATOR) throw new DeepZoomError('zip64 locator missing');
    const eocd64 = Number(zip.readBigUInt64LE(locator + 8));
    if (zip.readUInt32LE(eocd64) !== ZIP64_EOCD) throw new DeepZoomError('zip64 directory record missing');
    count = Number(zip.readBigUInt64LE(eocd64 + 32));
    offset = Number(zip.readBigUInt64LE(eocd64 + 48));
  }
  const pattern = new RegExp(`_files/(\\d+)/(\\d+)_(\\d+)\\.${format}$`);
  const index: Record<string, [number, number]> = {};
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== CENTRAL) throw new DeepZoomError(`bad central directory entry ${k}`);
    const method = zip.readUInt16LE(p + 10);
    let size = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    let local = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    if (size === 0xffffffff || local === 0xffffffff) {
      [size, local] = zip64Sizes(zip, p + 46 + nameLength, extraLength, size, local, zip.readUInt32LE(p + 24));
    }
    p += 46 + nameLength + extraLength + commentLength;
    const match = pattern.exec(name);
    if (!match) continue;
    if (method !== 0) throw new DeepZoomError(`tile ${name} is compressed (method ${method})`);
    if (zip.readUInt32LE(local) !== LOCAL) throw new DeepZoomError(`bad local header for ${name}`);
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (data + size > zip.length) throw new DeepZoomError(`tile ${name} runs past the end of the archive`);
    index[`${match[1]}/${match[2]}_${match[3]}`] = [data, size];
  }
  return index;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  const stop = Math.max(0, zip.length - 22 - 65535);
  for (let p = zip.length - 22; p >= stop; p--) {
    if (zip.readUInt32LE(p) === EOCD) return p;
  }
  throw new DeepZoomError('not a zip archive (no end of central directory)');
}

/** Values of the zip64 extended-information extra field, in the order the spec gives them. */
function zip64Sizes(zip: Buffer, extra: number, length: number, size: number, local: number, uncompressed: number): [number, number] {
  let p = extra;
  while (p + 4 <= extra + length) {
    const id = zip.readUInt16LE(p);
    const fieldLength = zip.readUInt16LE(p + 2);
    if (id === 0x0001) {
      let q = p + 4;
      if (uncompressed === 0xffffffff) q += 8;
      if (size === 0xffffffff) {
        size = Number(zip.readBigUInt64LE(q));
        q += 8;
      }
      if (local === 0xffffffff) local = Number(zip.readBigUInt64LE(q));
      return [size, local];
    }
    p += 4 + fieldLength;
  }
  throw new DeepZoomError('zip64 sizes missing');
}

/** Width and height of tile (col, row) at a level: tileSize plus the overlap on each inner edge. */
export function deepZoomTileSize(
  archive: Pick<DeepZoomArchive, 'tileSize' | 'overlap'>,
  width: number,
  height: number,
  level: number,
  col: number,
  row: number,
): { width: number; height: number } {
  const size = deepZoomLevelSize(width, height, level);
  const { tileSize: t, overlap: o } = archive;
  const span = (i: number, total: number) => Math.min(total, (i + 1) * t + o) - Math.max(0, i * t - o);
  return { width: span(col, size.width), height: span(row, size.height) };
}

/**
 * Decodes every tile of the given levels (all by default) and lists what is wrong: missing tiles, tiles that do
 * not decode, of another format, size or channel count, or extra tiles. Empty when the pyramid is sound.
 */
export async function verifyDeepZoom(
  archive: DeepZoomArchive,
  width: number,
  height: number,
  expect: { levels?: number[]; channels?: number } = {},
): Promise<string[]> {
  const problems: string[] = [];
  const levels = expect.levels ?? Array.from({ length: archive.maxLevel + 1 }, (_, i) => i);
  for (const level of levels) {
    const size = deepZoomLevelSize(width, height, level);
    const cols = Math.ceil(size.width / archive.tileSize);
    const rows = Math.ceil(size.height / archive.tileSize);
    for (let col = 0; col < cols; col++) {
      for (let row = 0; row < rows; row++) {
        const key = `${level}/${col}_${row}`;
        const bytes = tileBytes(archive, level, col, row);
        if (!bytes) {
          problems.push(`${key}: missing`);
          continue;
        }
        try {
          const meta = await sharp(bytes).metadata();
          const want = deepZoomTileSize(archive, width, height, level, col, row);
          if (meta.format !== archive.format) problems.push(`${key}: format ${meta.format}`);
          if (meta.width !== want.width || meta.height !== want.height) {
            problems.push(`${key}: ${meta.width} x ${meta.height}, expected ${want.width} x ${want.height}`);
          }
          if (expect.channels !== undefined && meta.channels !== expect.channels) problems.push(`${key}: ${meta.channels} channels`);
        } catch (error) {
          problems.push(`${key}: ${(error as Error).message}`);
        }
      }
    }
    for (const key of Object.keys(archive.index)) {
      const m = /^(\d+)\/(\d+)_(\d+)$/.exec(key);
      if (m && Number(m[1]) === level && (Number(m[2]) >= cols || Number(m[3]) >= rows)) problems.push(`${key}: outside the level`);
    }
  }
  return problems;
}
