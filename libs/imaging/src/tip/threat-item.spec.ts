import { decodeGrey, encodeGrey8, encodePng16, readRasterInfo } from '../raster.js';
import { Prng } from '../synthetic/prng.js';
import {
  decodeThreatItem,
  encodeThreatItem,
  threatItemFromPlanes,
  threatItemPreview,
  ThreatItemError,
  validateThreatItem,
  type ThreatItemImage,
} from './threat-item.js';

const AIR = 60000;

/** A w x h threat item: an attenuating ellipse (transmission 0.4 high, 0.3 low in the middle) on noisy air. */
function ellipseItem(width: number, height: number, seed = 1): ThreatItemImage {
  const rng = new Prng(seed);
  const n = width * height;
  const high = new Uint16Array(n);
  const low = new Uint16Array(n);
  const mask = new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const d = ((x + 0.5 - width / 2) / (width / 2)) ** 2 + ((y + 0.5 - height / 2) / (height / 2)) ** 2;
      const inside = d < 0.8;
      const noise = Math.round(rng.range(-50, 50));
      high[i] = inside ? Math.round(AIR * (0.4 + 0.5 * d)) + noise : AIR + noise;
      low[i] = inside ? Math.round(AIR * (0.3 + 0.5 * d)) + noise : AIR + noise;
      mask[i] = inside ? 1 : 0;
    }
  }
  return { width, height, high, low, airValue: AIR, mask, pixelSpacingMm: 2 };
}

function errorOf(fn: () => unknown): ThreatItemError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ThreatItemError);
    return error as ThreatItemError;
  }
  throw new Error('expected a ThreatItemError, nothing was thrown');
}

async function rejectionOf(promise: Promise<unknown>): Promise<ThreatItemError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ThreatItemError);
    return error as ThreatItemError;
  }
  throw new Error('expected a ThreatItemError, nothing was thrown');
}

/** A readable sentence: starts with a capital letter, ends with a full stop, no "undefined"/"NaN" fragments from bad templates. */
function expectSentence(message: string): void {
  expect(message).toMatch(/^[A-Z].*\.$/s);
  expect(message).not.toMatch(/undefined|\[object/);
}

describe('validateThreatItem', () => {
  it('accepts a well-formed item', () => {
    expect(() => validateThreatItem(ellipseItem(40, 30))).not.toThrow();
    expect(() => validateThreatItem({ ...ellipseItem(1, 1), mask: Uint8Array.of(1) })).not.toThrow();
  });

  it.each([
    ['a zero width', { width: 0 }, /1 to 2048 pixels.*0 x 30/],
    ['a side over 2048', { width: 2049 }, /1 to 2048 pixels.*2049 x 30/],
    ['a fractional height', { height: 30.5 }, /1 to 2048 pixels.*40 x 30\.5/],
  ])('rejects %s', (_label, patch, pattern) => {
    const error = errorOf(() => validateThreatItem({ ...ellipseItem(40, 30), ...patch }));
    expect(error.name).toBe('ThreatItemError');
    expect(error.message).toMatch(pattern);
    expectSentence(error.message);
  });

  it('rejects planes and masks of the wrong length or type, naming which one', () => {
    const item = ellipseItem(40, 30);
    const short = errorOf(() => validateThreatItem({ ...item, high: new Uint16Array(1199) }));
    expect(short.message).toBe('The high-energy plane of the threat item holds 1199 values; a 40 x 30 item needs 1200.');
    expect(errorOf(() => validateThreatItem({ ...item, low: new Uint16Array(1201) })).message).toMatch(/low-energy plane.*1201 values.*needs 1200/);
    expect(errorOf(() => validateThreatItem({ ...item, mask: new Uint8Array(10) })).message).toMatch(/mask.*10 values.*needs 1200/);
    const wrongType = errorOf(() => validateThreatItem({ ...item, high: new Float32Array(1200) as unknown as Uint16Array }));
    expect(wrongType.message).toMatch(/high-energy plane.*Uint16Array/);
    expectSentence(wrongType.message);
  });

  it('rejects an air value outside 1..65535 and a spacing that is not positive', () => {
    const item = ellipseItem(10, 10);
    for (const airValue of [0, 0.5, 65536, Number.NaN]) {
      const error = errorOf(() => validateThreatItem({ ...item, airValue }));
      expect(error.message).toMatch(/air value.*between 1 and 65535/);
      expectSentence(error.message);
    }
    expect(() => validateThreatItem({ ...item, airValue: 1 })).not.toThrow();
    expect(() => validateThreatItem({ ...item, airValue: 65535 })).not.toThrow();
    for (const pixelSpacingMm of [0, -1, Number.POSITIVE_INFINITY]) {
      expect(errorOf(() => validateThreatItem({ ...item, pixelSpacingMm })).message).toMatch(/pixel spacing.*positive/);
    }
  });

  it('rejects an empty mask and a mask with values other than 0 and 1', () => {
    const item = ellipseItem(10, 10);
    const empty = errorOf(() => validateThreatItem({ ...item, mask: new Uint8Array(100) }));
    expect(empty.message).toMatch(/mask.*empty/);
    expectSentence(empty.message);
    const mask = item.mask.slice();
    mask[23] = 255;
    expect(errorOf(() => validateThreatItem({ ...item, mask })).message).toMatch(/only 0 and 1; pixel 3, 2 is 255/);
  });
});

describe('threatItemFromPlanes', () => {
  const width = 4;
  const height = 2;
  const limit = 0.98 * AIR; // 58800
  const high = { width, height, data: Uint16Array.from([AIR, 58799, 58800, AIR, 100, AIR, 65535, AIR]) };
  const low = { width, height, data: Uint16Array.from([AIR, AIR, AIR, 58799, 100, 58800, 65535, 0]) };

  it('derives the mask: 1 where either plane is below 0.98 of air', () => {
    expect(limit).toBe(58800);
    const item = threatItemFromPlanes(high, low, { airValue: AIR, pixelSpacingMm: 1.5 });
    expect(Array.from(item.mask)).toEqual([0, 1, 0, 1, 1, 0, 0, 1]);
    expect(item).toMatchObject({ width, height, airValue: AIR, pixelSpacingMm: 1.5 });
    expect(Array.from(item.high)).toEqual(Array.from(high.data));
    expect(Array.from(item.low)).toEqual(Array.from(low.data));
  });

  it('takes a given mask (0/255 image or 0/1 array) and owns copies of the data', () => {
    const maskPlane = { width, height, data: Uint16Array.from([0, 255, 0, 0, 0, 0, 0, 255]) };
    const fromPlane = threatItemFromPlanes(high, low, { airValue: AIR, pixelSpacingMm: 1, mask: maskPlane });
    expect(Array.from(fromPlane.mask)).toEqual([0, 1, 0, 0, 0, 0, 0, 1]);
    const fromArray = threatItemFromPlanes(high, low, { airValue: AIR, pixelSpacingMm: 1, mask: Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]) });
    expect(Array.from(fromArray.mask)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    const before = high.data[1];
    fromArray.high[1] = 7;
    expect(high.data[1]).toBe(before);
  });

  it('rejects planes of different sizes, a mask of the wrong size and a derived mask that is empty', () => {
    const other = { width: 2, height: 4, data: new Uint16Array(8) };
    expect(errorOf(() => threatItemFromPlanes(high, other, { airValue: AIR, pixelSpacingMm: 1 })).message).toMatch(/differ in size.*4 x 2.*2 x 4/);
    expect(errorOf(() => threatItemFromPlanes(high, low, { airValue: AIR, pixelSpacingMm: 1, mask: other })).message).toMatch(/mask.*2 x 4/);
    expect(errorOf(() => threatItemFromPlanes(high, low, { airValue: AIR, pixelSpacingMm: 1, mask: new Uint8Array(3) })).message).toMatch(/mask.*3 values/);
    const air = { width, height, data: new Uint16Array(8).fill(AIR) };
    expect(errorOf(() => threatItemFromPlanes(air, air, { airValue: AIR, pixelSpacingMm: 1 })).message).toMatch(/empty/);
  });
});

describe('encodeThreatItem / decodeThreatItem', () => {
  it('round-trips every value of both planes and the mask losslessly', async () => {
    const item = ellipseItem(97, 61);
    // The extremes of the 16-bit range must survive too.
    item.high[0] = 0;
    item.low[0] = 65535;
    item.high[1] = 65535;
    item.low[1] = 1;
    const parts = await encodeThreatItem(item);
    for (const png of [parts.high, parts.low]) expect(await readRasterInfo(png)).toMatchObject({ format: 'png', bitDepth: 16, width: 97, height: 61, channels: 1 });
    const maskInfo = await readRasterInfo(parts.mask);
    expect(maskInfo).toMatchObject({ format: 'png', bitDepth: 8, width: 97, height: 61 });
    const maskImage = await decodeGrey(parts.mask);
    expect(new Set(maskImage.data)).toEqual(new Set([0, 255]));

    const back = await decodeThreatItem(parts, { airValue: AIR, pixelSpacingMm: 2 });
    expect(back.width).toBe(97);
    expect(back.height).toBe(61);
    expect(back.airValue).toBe(AIR);
    expect(back.pixelSpacingMm).toBe(2);
    expect(Buffer.from(back.high.buffer, back.high.byteOffset, back.high.byteLength).equals(Buffer.from(item.high.buffer))).toBe(true);
    expect(Buffer.from(back.low.buffer, back.low.byteOffset, back.low.byteLength).equals(Buffer.from(item.low.buffer))).toBe(true);
    expect(Array.from(back.mask)).toEqual(Array.from(item.mask));
  });

  it('rejects parts that are not images, 8-bit planes and a mask of another size with ThreatItemError', async () => {
    const item = ellipseItem(20, 10);
    const parts = await encodeThreatItem(item);
    const garbage = await rejectionOf(decodeThreatItem({ ...parts, low: Buffer.from('not a png') }, { airValue: AIR, pixelSpacingMm: 2 }));
    expect(garbage.message).toMatch(/^The low-energy plane of the threat item cannot be read/);
    const eightBit = await encodeGrey8(20, 10, new Uint8Array(200).fill(9), 'png');
    expect((await rejectionOf(decodeThreatItem({ ...parts, high: eightBit }, { airValue: AIR, pixelSpacingMm: 2 }))).message).toMatch(/high-energy plane.*16-bit/);
    const otherMask = await encodeGrey8(10, 10, new Uint8Array(100).fill(255), 'png');
    expect((await rejectionOf(decodeThreatItem({ ...parts, mask: otherMask }, { airValue: AIR, pixelSpacingMm: 2 }))).message).toMatch(/mask.*10 x 10.*20 x 10/);
    const otherLow = await encodePng16({ width: 10, height: 20, data: new Uint16Array(200) });
    expect((await rejectionOf(decodeThreatItem({ ...parts, low: otherLow }, { airValue: AIR, pixelSpacingMm: 2 }))).message).toMatch(/differ in size/);
  });

  it('refuses to encode an invalid item', async () => {
    await rejectionOf(encodeThreatItem({ ...ellipseItem(10, 10), mask: new Uint8Array(100) }));
  });
});

describe('threatItemPreview', () => {
  it('is a greyscale JPEG with the long side at most 256, the aspect kept, the object darker than air', async () => {
    const item = ellipseItem(600, 300);
    const jpeg = await threatItemPreview(item);
    expect(jpeg.subarray(0, 2).equals(Buffer.from([0xff, 0xd8]))).toBe(true);
    const info = await readRasterInfo(jpeg);
    expect(info).toMatchObject({ format: 'jpeg', width: 256, height: 128, channels: 1, bitDepth: 8 });
    const grey = await decodeGrey(jpeg);
    const centre = grey.data[64 * 256 + 128];
    const corner = grey.data[2 * 256 + 2];
    expect(corner).toBeGreaterThanOrEqual(250); // air is white, as in a scan
    expect(centre).toBeLessThan(corner - 20); // transmission 0.4: clearly darker
  });

  it('keeps a small item at its own size', async () => {
    const info = await readRasterInfo(await threatItemPreview(ellipseItem(120, 80)));
    expect(info).toMatchObject({ format: 'jpeg', width: 120, height: 80, channels: 1 });
    const tall = await readRasterInfo(await threatItemPreview(ellipseItem(100, 1000)));
    expect([tall.width, tall.height]).toEqual([26, 256]);
  });
});
