import { ConversionError } from '../../scanner-adapters/src/adapter.js';
import { blackPng } from '../../scanner-adapters/src/hostile-files.testing.js';
import { isPixelLimitError, withPixelLimit } from './pixel-limit.js';
import { decodePlaneTile } from './plane-tiles.js';
import { decodeGrey, decodePng16, encodeGrey8 } from './raster.js';

/** What the promise rejected with (a failure if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('it resolved');
}

describe('image-library pixel limits', () => {
  /** 50000 x 50000 = 2.5 billion pixels, more than sharp decodes (2^31 - 1); the header alone says so. */
  const huge = blackPng(50_000, 50_000, 8, { idatRows: 1 });

  it('knows the words of sharp and libvips for an image that is too large, and nothing else', () => {
    for (const message of [
      'Input image exceeds pixel limit',
      'Processed image is too large for the JPEG format',
      'Processed image is too large for the WebP format',
      'VipsImage: image too large',
      'Image too wide for this implementation',
      'spng: image width exceeds user limits',
      'vips_image_write_to_memory: out of memory -- size == 114440MB',
    ]) {
      expect({ message, pixels: isPixelLimitError(new Error(message)) }).toEqual({ message, pixels: true });
    }
    for (const message of ['Input buffer has corrupt header: vipspng: libpng read error', 'vipspng: libpng read error', 'unsupported image format', 'ECONNRESET']) {
      expect({ message, pixels: isPixelLimitError(new Error(message)) }).toEqual({ message, pixels: false });
    }
    expect(isPixelLimitError(new ConversionError('malformed_input', 'Input image exceeds pixel limit'))).toBe(false);
  });

  it('decoding a PNG the image library refuses for its size is too_many_pixels, not a RasterError to retry or blame on the bytes', async () => {
    for (const decode of [decodeGrey, decodePng16]) {
      const error = await rejection(decode(huge));
      expect(error).toBeInstanceOf(ConversionError);
      expect(error).toMatchObject({ code: 'too_many_pixels' });
      expect((error as Error).message).toMatch(/^decoding a 50000 x 50000 PNG image: the image library refuses an image of this size \(Input image exceeds pixel limit\)/);
    }
    expect(await rejection(decodePlaneTile(huge))).toMatchObject({ name: 'ConversionError', code: 'too_many_pixels' });
  });

  it('encoding an image the format cannot hold is too_many_pixels', async () => {
    const error = await rejection(encodeGrey8(70_000, 2, new Uint8Array(140_000), 'jpeg'));
    expect(error).toMatchObject({ name: 'ConversionError', code: 'too_many_pixels' });
    expect((error as Error).message).toMatch(/encoding a 70000 x 2 image as JPEG: .*too large for the JPEG format/);
  });

  it('passes other errors unchanged', async () => {
    const other = new Error('Input buffer has corrupt header');
    await expect(withPixelLimit('decoding', () => Promise.reject(other))).rejects.toBe(other);
    await expect(withPixelLimit('decoding', () => Promise.resolve(7))).resolves.toBe(7);
  });
});
