import sharp from 'sharp';
import { deepZoomLevelSize, deepZoomMaxLevel, deepZoomTileSize, dziXml } from './deep-zoom.js';
import { withPixelLimit } from './pixel-limit.js';
import type { GreyPlane } from './raster.js';

/**
 * Lossless 16-bit Deep Zoom tiles for the WebGL viewer. Every tile is an 8-bit RGB PNG whose red channel is the
 * high byte and green channel the low byte of the 16-bit value (blue 0, no alpha, so nothing is premultiplied):
 * the browser decodes it natively and a shader computes `hi * 256 + lo`. The viewer must upload the texture with
 * `UNPACK_COLORSPACE_CONVERSION_WEBGL = NONE`; the PNGs carry no colour profile or gamma chunk.
 *
 * The pyramid has the geometry of the 8-bit pyramid (deep-zoom.ts): tiles of 254 px with 1 px overlap, level
 * maxLevel is the full plane, each level below is the one above halved (rounded up), down to 1 x 1 at level 0.
 * A level is made from the one above by averaging 2 x 2 blocks of 16-bit values, rounded half up; on an odd
 * edge the last column (row) stands in for the missing one, i.e. the block is the mean of the pixels it has.
 * Levels are kept as typed arrays and a tile is encoded only when asked for.
 */

export const PLANE_TILE_SIZE = 254;
export const PLANE_TILE_OVERLAP = 1;

/** Where the tiles of a plane of a given size are: what the 404 checks need, known before any pixel is decoded. */
export interface PlaneTileGeometry {
  width: number;
  height: number;
  tileSize: number;
  overlap: number;
  /** Level of the full-size plane: ceil(log2(max side)). */
  maxLevel: number;
}

export interface PlanePyramid extends PlaneTileGeometry {
  format: 'png';
  /** The Deep Zoom descriptor (Format "png"), identical to the 8-bit pyramid's apart from the format. */
  dzi: string;
  /** levels[L] is level L; levels[maxLevel] is the plane itself (its array, not a copy). */
  levels: GreyPlane[];
  /** Bytes held by all levels: about 4/3 of the plane's. */
  byteLength: number;
}

export class PlaneTileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaneTileError';
  }
}

/** The tile geometry of a plane of this size. */
export function planeTileGeometry(width: number, height: number): PlaneTileGeometry {
  return { width, height, tileSize: PLANE_TILE_SIZE, overlap: PLANE_TILE_OVERLAP, maxLevel: deepZoomMaxLevel(width, height) };
}

/** The Deep Zoom descriptor of the 16-bit tiles of a plane of this size. */
export function planeDzi(geometry: PlaneTileGeometry): string {
  return dziXml(geometry.width, geometry.height, { tileSize: geometry.tileSize, overlap: geometry.overlap, format: 'png' });
}

/** Columns and rows of tiles at a level. */
export function planeTileGrid(geometry: PlaneTileGeometry, level: number): { cols: number; rows: number } {
  const size = deepZoomLevelSize(geometry.width, geometry.height, level);
  return { cols: Math.ceil(size.width / geometry.tileSize), rows: Math.ceil(size.height / geometry.tileSize) };
}

/** Whether the pyramid has tile (col, row) at this level; integers only. */
export function hasPlaneTile(geometry: PlaneTileGeometry, level: number, col: number, row: number): boolean {
  if (![level, col, row].every(Number.isSafeInteger) || level < 0 || level > geometry.maxLevel || col < 0 || row < 0) return false;
  const grid = planeTileGrid(geometry, level);
  return col < grid.cols && row < grid.rows;
}

/** Builds every level of the pyramid in JS; the full level is the plane's own array. */
export function buildPlanePyramid(plane: GreyPlane): PlanePyramid {
  if (plane.width < 1 || plane.height < 1 || plane.data.length !== plane.width * plane.height) {
    throw new PlaneTileError(`a plane of ${plane.width} x ${plane.height} cannot hold ${plane.data.length} values`);
  }
  const geometry = planeTileGeometry(plane.width, plane.height);
  const levels = new Array<GreyPlane>(geometry.maxLevel + 1);
  levels[geometry.maxLevel] = plane;
  for (let level = geometry.maxLevel - 1; level >= 0; level--) levels[level] = halve(levels[level + 1]);
  let byteLength = 0;
  for (const level of levels) byteLength += level.data.byteLength;
  return { ...geometry, format: 'png', dzi: planeDzi(geometry), levels, byteLength };
}

/** The level below: 2 x 2 means, rounded half up; an odd last column or row is averaged with itself. */
function halve(source: GreyPlane): GreyPlane {
  const { width: w, height: h, data: src } = source;
  const width = (w + 1) >> 1;
  const height = (h + 1) >> 1;
  const out = new Uint16Array(width * height);
  const pairs = w >> 1;
  const oddWidth = (w & 1) === 1;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let i = 2 * y * w;
    let j = 2 * y + 1 < h ? i + w : i;
    for (let x = 0; x < pairs; x++, i += 2, j += 2) out[o++] = (src[i] + src[i + 1] + src[j] + src[j + 1] + 2) >> 2;
    if (oddWidth) out[o++] = (src[i] + src[j] + 1) >> 1;
  }
  return { width, height, data: out };
}

/**
 * One tile as an RGB PNG (R = high byte, G = low byte, B = 0), encoded now. Throws PlaneTileError when the
 * pyramid has no such tile.
 */
export async function planeTile(pyramid: PlanePyramid, level: number, col: number, row: number): Promise<Buffer> {
  if (!hasPlaneTile(pyramid, level, col, row)) throw new PlaneTileError(`the pyramid has no tile ${level}/${col}_${row}`);
  const source = pyramid.levels[level];
  const { width, height } = deepZoomTileSize(pyramid, pyramid.width, pyramid.height, level, col, row);
  const left = Math.max(0, col * pyramid.tileSize - pyramid.overlap);
  const top = Math.max(0, row * pyramid.tileSize - pyramid.overlap);
  const rgb = new Uint8Array(width * height * 3);
  const src = source.data;
  for (let y = 0, k = 0; y < height; y++) {
    let i = (top + y) * source.width + left;
    for (let x = 0; x < width; x++, i++, k += 3) {
      const value = src[i];
      rgb[k] = value >> 8;
      rgb[k + 1] = value & 0xff;
    }
  }
  return withPixelLimit(`encoding a ${width} x ${height} plane tile`, () => sharp(rgb, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer());
}

/** The inverse of planeTile: the 16-bit values of a hi/lo tile (R = high byte, G = low byte, B = 0). */
export async function decodePlaneTile(png: Buffer): Promise<GreyPlane> {
  const { data, info } = await withPixelLimit('decoding a plane tile', () => sharp(png).raw().toBuffer({ resolveWithObject: true }));
  if (info.channels !== 3) throw new PlaneTileError(`a plane tile has 3 channels, this one ${info.channels}`);
  const values = new Uint16Array(info.width * info.height);
  for (let i = 0, k = 0; i < values.length; i++, k += 3) {
    if (data[k + 2] !== 0) throw new PlaneTileError(`blue is ${data[k + 2]} at pixel ${i}, not 0`);
    values[i] = data[k] * 256 + data[k + 1];
  }
  return { width: info.width, height: info.height, data: values };
}

/** The values of a rectangle of a plane, row by row. */
export function cropPlane(plane: GreyPlane, left: number, top: number, width: number, height: number): Uint16Array {
  const out = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    const start = (top + y) * plane.width + left;
    out.set(plane.data.subarray(start, start + width), y * width);
  }
  return out;
}
