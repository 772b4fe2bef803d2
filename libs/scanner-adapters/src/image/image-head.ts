import { assertPlaneSize, ConversionError, type ConversionLimits, type UploadedFileHead } from '../adapter.js';

/**
 * `check` for PNG and JPEG: the declared size against the limits and the damage the first bytes prove. Only what
 * makes the decoder (libvips through sharp, failing on truncation) refuse the file is reported: a PNG without its
 * IHDR, a PNG whose chunks up to its image data, or a JPEG whose marker segments up to its scan, run past the end of
 * the file. Anything else is left to convert. In the order convert meets them: a PNG's size is known from IHDR
 * before its chunks are read, a JPEG's only once its whole header is.
 */

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const JPEG_MAGIC = [0xff, 0xd8, 0xff];

/** Signature, IHDR chunk (12 + 13 bytes) and IEND chunk (12 bytes): no PNG is shorter. */
export const PNG_MIN_BYTES = 8 + 25 + 12;
/** PNG chunk lengths are 31-bit. */
const PNG_MAX_CHUNK = 0x7fffffff;

export function startsWith(head: Uint8Array, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
}

/** An image's declared size (PNG IHDR, JPEG frame header). */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Throws the ConversionError the head of this PNG or JPEG proves; returns the size it declares (checked against the
 * per-plane limit) when the head holds it, else undefined.
 */
export function checkImageHead(file: UploadedFileHead, limits: ConversionLimits): ImageSize | undefined {
  if (startsWith(file.head, PNG_MAGIC)) return checkPngHead(file, limits);
  if (startsWith(file.head, JPEG_MAGIC)) return checkJpegHead(file, limits);
  return undefined;
}

function checkPngHead({ name, size, head }: UploadedFileHead, limits: ConversionLimits): ImageSize | undefined {
  if (size < PNG_MIN_BYTES) {
    throw new ConversionError(
      'malformed_input',
      `${name} is ${size} bytes, shorter than the smallest PNG (${PNG_MIN_BYTES} bytes: signature, IHDR and IEND chunks)`,
    );
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = (at: number): string => String.fromCharCode(head[at], head[at + 1], head[at + 2], head[at + 3]);
  if (head.length < 33) return undefined;
  if (view.getUint32(8) !== 13 || type(12) !== 'IHDR') {
    throw new ConversionError('malformed_input', `${name} is not a readable PNG: it does not start with a 13-byte IHDR chunk`);
  }
  const declared = { width: view.getUint32(16), height: view.getUint32(20) };
  assertPlaneSize(declared.width, declared.height, limits);
  // Chunks up to the end of the image data must be whole; what follows the last IDAT is never read.
  let at = 8;
  let inImageData = false;
  while (at + 8 <= head.length) {
    const length = view.getUint32(at);
    const chunk = type(at + 4);
    if (chunk === 'IEND' || (inImageData && chunk !== 'IDAT')) break;
    if (chunk === 'IDAT') inImageData = true;
    if (length > PNG_MAX_CHUNK || at + 12 + length > size) {
      throw new ConversionError(
        'malformed_input',
        `${name} is truncated: its PNG chunk ${JSON.stringify(chunk)} at byte ${at} declares ${length} bytes of data but the file ends at byte ${size}`,
      );
    }
    at += 12 + length;
  }
  return declared;
}

function checkJpegHead({ name, size, head }: UploadedFileHead, limits: ConversionLimits): ImageSize | undefined {
  let frame: { width: number; height: number } | undefined;
  let at = 2;
  while (at + 4 <= head.length) {
    // Bytes other than a marker between segments are skipped by the decoder (with a warning): cannot tell.
    if (head[at] !== 0xff) return undefined;
    const marker = head[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    // The header ends at the first scan (or, broken, at the end of image).
    if (marker === 0xd9 || marker === 0xda) break;
    const end = at + 2 + ((head[at + 2] << 8) | head[at + 3]);
    if (end > size) {
      throw new ConversionError(
        'malformed_input',
        `${name} is truncated: its JPEG marker segment 0xFF${marker.toString(16).toUpperCase()} at byte ${at} ends at byte ${end} but the file ends at byte ${size}`,
      );
    }
    if (isStartOfFrame(marker) && !frame && at + 9 <= head.length) {
      frame = { height: (head[at + 5] << 8) | head[at + 6], width: (head[at + 7] << 8) | head[at + 8] };
    }
    at = end;
  }
  if (frame) assertPlaneSize(frame.width, frame.height, limits);
  return frame;
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}
