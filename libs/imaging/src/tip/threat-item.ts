import { applyLut, greyLut } from '../display.js';
import { decodeGrey, decodePng16, encodeGrey8, encodePng16, type GreyPlane } from '../raster.js';

/**
 * Threat items for threat image projection (TIP): small dual-energy transmission images of one object each (a
 * pistol, a brick of drugs), kept in a library and projected into real scans to keep analysts alert and to measure
 * how often they find threats. An item is stored as transmitted intensity, like a scan, so the projection can use
 * the same Beer–Lambert physics as the scanner: the item's transmission value / airValue multiplies the scan.
 */

/** A threat item: a small dual-energy transmission image of one object, with a mask of where the object is. */
export interface ThreatItemImage {
  width: number;
  height: number;
  /** width*height each, transmitted intensity, air = airValue. */
  high: Uint16Array;
  low: Uint16Array;
  /** The value of unattenuated beam in this item image. */
  airValue: number;
  /** width*height, 1 where the object is, 0 elsewhere. */
  mask: Uint8Array;
  /** Size of one pixel in mm (square pixels). */
  pixelSpacingMm: number;
}

/** A threat item (or its use in a projection) is not acceptable; the message is a sentence an operator can read. */
export class ThreatItemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThreatItemError';
  }
}

/** Larger items are not threat items any more but whole scans; the limit also bounds the memory of a projection. */
export const MAX_THREAT_ITEM_SIDE = 2048;

/** Pixels below this fraction of air on either plane count as part of the object when no mask is given. */
export const DERIVED_MASK_THRESHOLD = 0.98;

/** Long side of the library preview, small enough for a list of many items. */
export const PREVIEW_MAX_SIDE = 256;

function describeNumber(value: unknown): string {
  return typeof value === 'number' ? String(value) : `a ${typeof value}`;
}

function checkArray(name: string, array: unknown, type: 'Uint16Array' | 'Uint8Array', expected: number, size: string): void {
  const ok = type === 'Uint16Array' ? array instanceof Uint16Array : array instanceof Uint8Array;
  if (!ok) throw new ThreatItemError(`The ${name} of the threat item must be a ${type}.`);
  const length = (array as ArrayLike<number>).length;
  if (length !== expected) {
    throw new ThreatItemError(`The ${name} of the threat item holds ${length} values; a ${size} item needs ${expected}.`);
  }
}

/**
 * Checks sizes (1..2048 per side), array lengths, airValue 1..65535, mask not empty (only 0 and 1), spacing > 0;
 * throws ThreatItemError. Run before anything trusts the item: a wrong length would otherwise read past a plane
 * silently, and an empty mask would make a projection that changes nothing while claiming a threat region.
 */
export function validateThreatItem(item: ThreatItemImage): void {
  const { width, height } = item;
  const sideOk = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_THREAT_ITEM_SIDE;
  if (!sideOk(width) || !sideOk(height)) {
    throw new ThreatItemError(
      `A threat item must be 1 to ${MAX_THREAT_ITEM_SIDE} pixels (whole numbers) on each side; this one is ${describeNumber(width)} x ${describeNumber(height)}.`,
    );
  }
  const size = `${width} x ${height}`;
  const n = width * height;
  checkArray('high-energy plane', item.high, 'Uint16Array', n, size);
  checkArray('low-energy plane', item.low, 'Uint16Array', n, size);
  checkArray('mask', item.mask, 'Uint8Array', n, size);
  const air = item.airValue;
  if (typeof air !== 'number' || !Number.isFinite(air) || air < 1 || air > 65535) {
    throw new ThreatItemError(`The air value of a threat item must be between 1 and 65535; it is ${describeNumber(air)}.`);
  }
  const spacing = item.pixelSpacingMm;
  if (typeof spacing !== 'number' || !Number.isFinite(spacing) || spacing <= 0) {
    throw new ThreatItemError(`The pixel spacing of a threat item must be a positive number of millimetres; it is ${describeNumber(spacing)}.`);
  }
  let count = 0;
  const mask = item.mask;
  for (let i = 0; i < n; i++) {
    const m = mask[i];
    if (m === 1) count++;
    else if (m !== 0) {
      throw new ThreatItemError(`The mask of a threat item may hold only 0 and 1; pixel ${i % width}, ${Math.floor(i / width)} is ${m}.`);
    }
  }
  if (count === 0) throw new ThreatItemError('The mask of the threat item is empty: no pixel is marked as part of the object.');
}

/**
 * Builds an item from decoded planes; when mask is absent it is derived: 1 where high < 0.98*airValue or
 * low < 0.98*airValue. A given mask counts every non-zero value as object, so an 8-bit 0/255 image works as is.
 * The item gets its own copies of the data: the caller's planes may be reused.
 */
export function threatItemFromPlanes(
  high: GreyPlane,
  low: GreyPlane,
  options: { airValue: number; pixelSpacingMm: number; mask?: GreyPlane | Uint8Array },
): ThreatItemImage {
  if (high.width !== low.width || high.height !== low.height) {
    throw new ThreatItemError(
      `The high- and low-energy planes of a threat item differ in size (${high.width} x ${high.height} and ${low.width} x ${low.height}).`,
    );
  }
  const { width, height } = high;
  const n = width * height;
  for (const [name, plane] of [['high-energy plane', high], ['low-energy plane', low]] as const) {
    if (!(plane.data instanceof Uint16Array) || plane.data.length !== n) {
      throw new ThreatItemError(`The ${name} of the threat item does not hold ${width} x ${height} 16-bit values.`);
    }
  }
  const mask = new Uint8Array(n);
  const given = options.mask;
  if (given === undefined) {
    const limit = DERIVED_MASK_THRESHOLD * options.airValue;
    for (let i = 0; i < n; i++) mask[i] = high.data[i] < limit || low.data[i] < limit ? 1 : 0;
  } else {
    const values = given instanceof Uint8Array ? given : given.data;
    if (!(given instanceof Uint8Array) && (given.width !== width || given.height !== height)) {
      throw new ThreatItemError(`The mask of the threat item is ${given.width} x ${given.height}; the planes are ${width} x ${height}.`);
    }
    if (values.length !== n) throw new ThreatItemError(`The mask of the threat item holds ${values.length} values; the planes need ${n}.`);
    for (let i = 0; i < n; i++) mask[i] = values[i] !== 0 ? 1 : 0;
  }
  const item: ThreatItemImage = {
    width,
    height,
    high: high.data.slice(),
    low: low.data.slice(),
    airValue: options.airValue,
    mask,
    pixelSpacingMm: options.pixelSpacingMm,
  };
  validateThreatItem(item);
  return item;
}

/**
 * Encodes an item for storage: a lossless 16-bit PNG per plane (a projection must see the values the library was
 * given) and an 8-bit PNG mask (0/255, so it is viewable as an image too). airValue and spacing are not in the
 * PNGs: the library keeps them as item metadata.
 */
export async function encodeThreatItem(item: ThreatItemImage): Promise<{ high: Buffer; low: Buffer; mask: Buffer }> {
  validateThreatItem(item);
  const { width, height } = item;
  const mask8 = new Uint8Array(item.mask.length);
  for (let i = 0; i < mask8.length; i++) mask8[i] = item.mask[i] ? 255 : 0;
  const [high, low, mask] = await Promise.all([
    encodePng16({ width, height, data: item.high }),
    encodePng16({ width, height, data: item.low }),
    encodeGrey8(width, height, mask8, 'png'),
  ]);
  return { high, low, mask };
}

async function decodePart<T>(name: string, decode: () => Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (error) {
    throw new ThreatItemError(`The ${name} of the threat item cannot be read: ${(error as Error).message}.`);
  }
}

/**
 * Decodes an item stored by encodeThreatItem. The planes must be 16-bit (an 8-bit plane would have lost the
 * transmission precision); the mask is read as object wherever it is at least half white.
 */
export async function decodeThreatItem(
  parts: { high: Buffer; low: Buffer; mask: Buffer },
  options: { airValue: number; pixelSpacingMm: number },
): Promise<ThreatItemImage> {
  const [high, low, maskImage] = await Promise.all([
    decodePart('high-energy plane', () => decodePng16(parts.high)),
    decodePart('low-energy plane', () => decodePng16(parts.low)),
    decodePart('mask', () => decodeGrey(parts.mask)),
  ]);
  if (maskImage.width !== high.width || maskImage.height !== high.height) {
    throw new ThreatItemError(`The mask of the threat item is ${maskImage.width} x ${maskImage.height}; the planes are ${high.width} x ${high.height}.`);
  }
  const half = maskImage.bitDepth === 16 ? 32768 : 128;
  const mask = new Uint8Array(maskImage.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = maskImage.data[i] >= half ? 1 : 0;
  return threatItemFromPlanes(high, low, { ...options, mask });
}

// Module constant: a global `Math.round` lookup per pixel is slow inside vm sandboxes such as jest's.
const { round } = Math;

/** Area average of an 8-bit image down to ow x oh: keeps thin steel parts visible where subsampling would drop them. */
function shrink(src: Uint8Array, w: number, h: number, ow: number, oh: number): Uint8Array {
  const out = new Uint8Array(ow * oh);
  for (let oy = 0; oy < oh; oy++) {
    const y0 = Math.floor((oy * h) / oh);
    const y1 = Math.max(y0 + 1, Math.floor(((oy + 1) * h) / oh));
    for (let ox = 0; ox < ow; ox++) {
      const x0 = Math.floor((ox * w) / ow);
      const x1 = Math.max(x0 + 1, Math.floor(((ox + 1) * w) / ow));
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += src[y * w + x];
      out[oy * ow + ox] = round(sum / ((y1 - y0) * (x1 - x0)));
    }
  }
  return out;
}

/**
 * A small 8-bit preview of the item (JPEG, long side <= 256) for the threat library list: the high plane through
 * the same grey mapping as scans (display.ts greyLut), so an item looks in the list as it will look in a scan.
 */
export async function threatItemPreview(item: ThreatItemImage): Promise<Buffer> {
  validateThreatItem(item);
  const { width, height } = item;
  const grey = applyLut(item.high, greyLut(item.airValue));
  const long = Math.max(width, height);
  if (long <= PREVIEW_MAX_SIDE) return encodeGrey8(width, height, grey, 'jpeg', 85);
  const ow = Math.max(1, Math.round((width * PREVIEW_MAX_SIDE) / long));
  const oh = Math.max(1, Math.round((height * PREVIEW_MAX_SIDE) / long));
  return encodeGrey8(ow, oh, shrink(grey, width, height, ow, oh), 'jpeg', 85);
}
