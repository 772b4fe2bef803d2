import { ConversionError } from '../../scanner-adapters/src/adapter.js';

/**
 * The image library's refusals of an image's size, as `too_many_pixels`. sharp and libvips say it in their own words
 * ("Input image exceeds pixel limit", "Processed image is too large for the JPEG format", "image too large", an
 * output buffer that cannot be allocated); left as a plain Error, the queue would take it for a transient fault and
 * retry it eight times. Callers check sizes from the headers first; this catches what the library alone knows.
 */

/** What sharp, libvips and the codecs it links say when an image has too many pixels (or sides too long). */
const PIXEL_LIMIT_MESSAGES: RegExp[] = [
  // sharp: limitInputPixels
  /exceeds pixel limit/i,
  // sharp: JPEG (65535 a side), WebP (16383), GIF, HEIF savers
  /too large for the \w+ format/i,
  // libvips and loaders: "image too large", "Image too wide for this implementation", "image size too large"
  /\bimage (size )?too (large|wide|high)\b/i,
  // libspng, libheif: "image width exceeds user limits", "exceeds the maximum image size"
  /\b(width|height|dimensions?) exceeds?\b/i,
  /exceeds the maximum image size/i,
  // libvips: the output of width x height x bands does not fit in memory ("out of memory -- size == 114440MB")
  /out of memory -- size ==/i,
];

/** Whether an error of the image library says the image has too many pixels (not damaged bytes, not a fault). */
export function isPixelLimitError(error: unknown): boolean {
  if (error instanceof ConversionError) return false;
  const message = messageOf(error);
  return PIXEL_LIMIT_MESSAGES.some((pattern) => pattern.test(message));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : '';
}

/**
 * Runs one image-library step. A refusal of the image's size becomes ConversionError `too_many_pixels`, saying what
 * was being done (`what`, e.g. "encoding a 70000 x 2 plane as JPEG") and the library's words; any other error passes
 * unchanged.
 */
export async function withPixelLimit<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isPixelLimitError(error)) {
      throw new ConversionError('too_many_pixels', `${what}: the image library refuses an image of this size (${messageOf(error)})`);
    }
    throw error;
  }
}
