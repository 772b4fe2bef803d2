import sharp, { type Sharp } from 'sharp';
import { buildDeepZoom, tileBytes, type DeepZoomArchive } from './deep-zoom.js';
import { applyLut, greyLut } from './display.js';
import { materialMap } from './material-map.js';
import { withPixelLimit } from './pixel-limit.js';

export { tileBytes, type DeepZoomArchive };

/** One view of a scan: its energy planes (value ∝ transmitted intensity, air near `airValue`). */
export interface PlaneSet {
  width: number;
  height: number;
  airValue: number;
  planes: { energy: 'high' | 'low' | 'single'; data: Uint16Array }[];
}

export interface ViewRenditions {
  /** 8-bit greyscale JPEG of the whole view, long side capped (default 4096). */
  display: Buffer;
  /** 8-bit JPEG fitting in 512 x 512 (or thumbnailSize). */
  thumbnail: Buffer;
  /** Greyscale deep-zoom pyramid of the full-resolution view, JPEG tiles. */
  tiles: DeepZoomArchive;
  /** Dual-energy colour map (material-map.ts); null without both a high and a low plane. */
  material: { display: Buffer; thumbnail: Buffer; tiles: DeepZoomArchive } | null;
}

export interface RenderOptions {
  thumbnailSize?: number;
  displayMaxSide?: number;
  /** Deep Zoom tile size without overlap (default 254, with 1 px overlap: 256 px tiles, as OpenSeadragon likes). */
  tileSize?: number;
  jpegQuality?: number;
}

const DEFAULTS = { thumbnailSize: 512, displayMaxSide: 4096, tileSize: 254, jpegQuality: 85 } as const;
const TILE_OVERLAP = 1;

/**
 * Renders the viewer images of a view: grey display, thumbnail and deep-zoom tiles from the high (or single)
 * energy plane mapped to 8 bits once through a lookup table, and the same three from the dual-energy material
 * map when the view has both energies. The sharp steps run one after another (one core per view).
 */
export async function renderView(view: PlaneSet, options: RenderOptions = {}): Promise<ViewRenditions> {
  const o = { ...DEFAULTS, ...options };
  const { width, height } = view;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`invalid view size ${width} x ${height}`);
  }
  for (const p of view.planes) {
    if (p.data.length !== width * height) throw new RangeError(`the ${p.energy} plane has ${p.data.length} values, not ${width * height}`);
  }
  const high = view.planes.find((p) => p.energy === 'high');
  const low = view.planes.find((p) => p.energy === 'low');
  const main = high ?? view.planes.find((p) => p.energy === 'single') ?? view.planes[0];
  if (!main) throw new RangeError('the view has no plane');

  const lut = greyLut(view.airValue);
  const grey = applyLut(main.data, lut);
  const greyImages = await previews(grey, width, height, 1, o);
  const tiles = await buildDeepZoom(grey, width, height, 1, { tileSize: o.tileSize, overlap: TILE_OVERLAP, format: 'jpeg', quality: o.jpegQuality });

  let material: ViewRenditions['material'] = null;
  if (high && low) {
    const rgb = materialMap(high.data, low.data, view.airValue, lut);
    const colour = await previews(rgb, width, height, 3, o);
    const colourTiles = await buildDeepZoom(rgb, width, height, 3, {
      tileSize: o.tileSize,
      overlap: TILE_OVERLAP,
      format: 'jpeg',
      quality: o.jpegQuality,
    });
    material = { ...colour, tiles: colourTiles };
  }
  return { ...greyImages, tiles, material };
}

/** Display image (long side capped) and thumbnail, the thumbnail reduced from the display-sized pixels. */
export async function previews(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  options: { thumbnailSize: number; displayMaxSide: number; jpegQuality: number },
): Promise<{ display: Buffer; thumbnail: Buffer }> {
  return withPixelLimit(`rendering the display image of a ${width} x ${height} view`, () => renderPreviews(pixels, width, height, channels, options));
}

async function renderPreviews(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  options: { thumbnailSize: number; displayMaxSide: number; jpegQuality: number },
): Promise<{ display: Buffer; thumbnail: Buffer }> {
  const max = options.displayMaxSide;
  // Without b-w, sharp widens a 1-channel raw image to sRGB on output.
  let resized = sharp(pixels, { raw: { width, height, channels } }).resize({ width: max, height: max, fit: 'inside', withoutEnlargement: true });
  if (channels === 1) resized = resized.toColourspace('b-w');
  const reduced = await resized.raw().toBuffer({ resolveWithObject: true });
  if (reduced.info.channels !== channels) throw new Error(`resizing gave ${reduced.info.channels} channels, not ${channels}`);
  const raw = { width: reduced.info.width, height: reduced.info.height, channels };
  const encode = (image: Sharp) =>
    (channels === 1 ? image.toColourspace('b-w') : image).jpeg({ quality: options.jpegQuality }).toBuffer();
  const display = await encode(sharp(reduced.data, { raw }));
  const t = options.thumbnailSize;
  const thumbnail = await encode(sharp(reduced.data, { raw }).resize({ width: t, height: t, fit: 'inside', withoutEnlargement: true }));
  return { display, thumbnail };
}
