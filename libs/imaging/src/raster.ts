import sharp, { type Metadata, type Sharp } from 'sharp';
import { isPixelLimitError, withPixelLimit } from './pixel-limit.js';

/**
 * Lossless raster coding of greyscale planes, the only place besides the renditions that talks to sharp.
 * Pitfalls handled here (each silently gives wrong pixels otherwise): raw 16-bit input must be a Uint16Array,
 * 16-bit output needs the grey16 colourspace, 8-bit greyscale output needs b-w.
 */

/** One greyscale plane. `data` holds width x height values, row-major. */
export interface GreyPlane {
  width: number;
  height: number;
  data: Uint16Array;
}

export type RasterFormat = 'png' | 'tiff' | 'jpeg';

export interface RasterInfo {
  format: RasterFormat;
  width: number;
  height: number;
  channels: number;
  /** Bits per sample of the stored image. */
  bitDepth: 8 | 16;
  /** Number of pages (TIFF) or frames; 1 for single images. */
  pages: number;
}

/** Thrown when sharp cannot read an image: the bytes are not a valid image of a supported format. */
export class RasterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RasterError';
  }
}

// Enough pixels for any real cargo scan; callers enforce their own, smaller limits from the header first.
const LIMIT_INPUT_PIXELS = 2 ** 31 - 1;

function open(input: Buffer | string, page = 0, limitInputPixels: number | false = LIMIT_INPUT_PIXELS): Sharp {
  return sharp(input, { limitInputPixels, page, failOn: 'error', sequentialRead: true });
}

/**
 * Reads the header only: format, size, depth (of `page`, for a multi-page TIFF). No pixels are decoded, so no pixel
 * limit applies here: a caller sees the declared size of a huge image and refuses it with its own limit (sharp's would
 * only say "exceeds pixel limit", not how large the image is).
 */
export async function readRasterInfo(input: Buffer | string, page = 0): Promise<RasterInfo> {
  let meta: Metadata;
  try {
    meta = await open(input, page, false).metadata();
  } catch (error) {
    throw new RasterError(`not a readable image: ${(error as Error).message}`);
  }
  const format = meta.format as string;
  if (format !== 'png' && format !== 'tiff' && format !== 'jpeg') {
    throw new RasterError(`unsupported image format ${String(meta.format)}`);
  }
  const sixteen = meta.depth === 'ushort' || meta.depth === 'short';
  return {
    format,
    width: meta.width ?? 0,
    height: meta.height ?? 0,
    channels: meta.channels ?? 1,
    bitDepth: sixteen ? 16 : 8,
    pages: meta.pages ?? 1,
  };
}

/**
 * Decodes one page of an image to a greyscale plane with the image's own values: 16-bit images keep their
 * 16-bit values, 8-bit images keep 0..255 (the caller widens them). Colour images are reduced to luminance.
 * Throws RasterError for bytes that do not decode, ConversionError `too_many_pixels` when the image library refuses
 * the image's size.
 */
export async function decodeGrey(input: Buffer | string, page = 0): Promise<GreyPlane & { bitDepth: 8 | 16 }> {
  const info = await readRasterInfo(input, page);
  return withPixelLimit(`decoding a ${info.width} x ${info.height} ${info.format.toUpperCase()} image`, () => decodeGreyPixels(input, page, info));
}

async function decodeGreyPixels(input: Buffer | string, page: number, info: RasterInfo): Promise<GreyPlane & { bitDepth: 8 | 16 }> {
  try {
    if (info.bitDepth === 16) {
      const { data, info: out } = await open(input, page)
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const values = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      return { width: out.width, height: out.height, data: firstChannel(values, out.channels), bitDepth: 16 };
    }
    const { data, info: out } = await open(input, page).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const values = new Uint16Array(out.width * out.height);
    for (let i = 0, j = 0; i < values.length; i++, j += out.channels) values[i] = data[j];
    return { width: out.width, height: out.height, data: values, bitDepth: 8 };
  } catch (error) {
    if (error instanceof RasterError || isPixelLimitError(error)) throw error;
    throw new RasterError(`the image data cannot be decoded: ${(error as Error).message}`);
  }
}

function firstChannel(values: Uint16Array, channels: number): Uint16Array {
  if (channels === 1) return values.slice();
  const out = new Uint16Array(values.length / channels);
  for (let i = 0, j = 0; i < out.length; i++, j += channels) out[i] = values[j];
  return out;
}

/**
 * Lossless 16-bit greyscale PNG. A low zlib level: planes are large and encode time sits on the ingest path. Throws
 * ConversionError `too_many_pixels` when the image library refuses the plane's size (so do the encoders below).
 */
export async function encodePng16(plane: GreyPlane, compressionLevel = 1): Promise<Buffer> {
  return withPixelLimit(`encoding a ${plane.width} x ${plane.height} plane as PNG`, () =>
    sharp(plane.data, { raw: { width: plane.width, height: plane.height, channels: 1 } })
      .toColourspace('grey16')
      .png({ compressionLevel, adaptiveFiltering: false })
      .toBuffer(),
  );
}

/** 16-bit greyscale TIFF (deflate), as some scanners write them. */
export async function encodeTiff16(plane: GreyPlane): Promise<Buffer> {
  return withPixelLimit(`encoding a ${plane.width} x ${plane.height} plane as TIFF`, () =>
    sharp(plane.data, { raw: { width: plane.width, height: plane.height, channels: 1 } })
      .toColourspace('grey16')
      .tiff({ compression: 'deflate', predictor: 'horizontal' })
      .toBuffer(),
  );
}

/** 8-bit greyscale image from 8-bit values (0..255 in a Uint8Array). */
export async function encodeGrey8(
  width: number,
  height: number,
  data: Uint8Array,
  format: 'png' | 'jpeg',
  quality = 90,
): Promise<Buffer> {
  return withPixelLimit(`encoding a ${width} x ${height} image as ${format.toUpperCase()}`, () => {
    const image = sharp(data, { raw: { width, height, channels: 1 } }).toColourspace('b-w');
    return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality }).toBuffer();
  });
}

/** Decodes a lossless 16-bit plane PNG written by encodePng16. */
export async function decodePng16(png: Buffer): Promise<GreyPlane> {
  const plane = await decodeGrey(png);
  if (plane.bitDepth !== 16) throw new RasterError('the plane image is not 16-bit');
  return { width: plane.width, height: plane.height, data: plane.data };
}
