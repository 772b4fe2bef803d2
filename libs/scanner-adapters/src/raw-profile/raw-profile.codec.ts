import { FIELD_SIZES, SAMPLE_SIZES, type HeaderField, type RawProfile } from './raw-profile.schema.js';

/**
 * The arithmetic shared by RawProfileAdapter and writeRawProfile: header fields, sample coding, and where each
 * stored sample lands in the image. Kept in one place so the writer is the exact inverse of the reader.
 */

type Endianness = 'little' | 'big';

export function readField(header: Buffer, field: HeaderField, endianness: Endianness): number {
  const little = (field.endianness ?? endianness) === 'little';
  const o = field.offset;
  switch (field.type) {
    case 'uint8':
      return header.readUInt8(o);
    case 'uint16':
      return little ? header.readUInt16LE(o) : header.readUInt16BE(o);
    case 'int16':
      return little ? header.readInt16LE(o) : header.readInt16BE(o);
    case 'uint32':
      return little ? header.readUInt32LE(o) : header.readUInt32BE(o);
    case 'int32':
      return little ? header.readInt32LE(o) : header.readInt32BE(o);
    case 'uint64': {
      const v = little ? header.readBigUInt64LE(o) : header.readBigUInt64BE(o);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v);
    }
    case 'float32':
      return little ? header.readFloatLE(o) : header.readFloatBE(o);
    case 'float64':
      return little ? header.readDoubleLE(o) : header.readDoubleBE(o);
  }
}

export function writeField(header: Buffer, field: HeaderField, endianness: Endianness, value: number): void {
  const little = (field.endianness ?? endianness) === 'little';
  const o = field.offset;
  if (field.type !== 'float32' && field.type !== 'float64') value = Math.round(value);
  switch (field.type) {
    case 'uint8':
      header.writeUInt8(value, o);
      return;
    case 'uint16':
      if (little) header.writeUInt16LE(value, o);
      else header.writeUInt16BE(value, o);
      return;
    case 'int16':
      if (little) header.writeInt16LE(value, o);
      else header.writeInt16BE(value, o);
      return;
    case 'uint32':
      if (little) header.writeUInt32LE(value, o);
      else header.writeUInt32BE(value, o);
      return;
    case 'int32':
      if (little) header.writeInt32LE(value, o);
      else header.writeInt32BE(value, o);
      return;
    case 'uint64':
      if (little) header.writeBigUInt64LE(BigInt(value), o);
      else header.writeBigUInt64BE(BigInt(value), o);
      return;
    case 'float32':
      if (little) header.writeFloatLE(value, o);
      else header.writeFloatBE(value, o);
      return;
    case 'float64':
      if (little) header.writeDoubleLE(value, o);
      else header.writeDoubleBE(value, o);
      return;
  }
}

export function fieldEnd(field: HeaderField): number {
  return field.offset + FIELD_SIZES[field.type];
}

/** Largest stored value of an integer sample type. */
function storedMax(profile: RawProfile): number {
  switch (profile.sample) {
    case 'uint8':
      return 255;
    case 'uint12':
      return 4095;
    default:
      return 65535;
  }
}

/**
 * Stored sample → plane value (uint16, transmission). Integer samples: clamped to the sample range, inverted
 * when attenuation-valued (`max - v`), then widened by bit replication: 8-bit `v * 257`, 12-bit
 * `(v << 4) | (v >> 8)` (0 → 0, 4095 → 65535, and `t >> 4` gives v back). float32: `v / floatFullScale`
 * (or `1 - v / floatFullScale`), clamped to 0..1, times 65535, rounded.
 * `clamped` is set when the stored value was outside the valid range (the caller counts these).
 */
export function toPlaneValue(profile: RawProfile, stored: number): { value: number; clamped: boolean } {
  if (profile.sample === 'float32') {
    let f = stored / profile.floatFullScale;
    if (profile.values === 'attenuation') f = 1 - f;
    const clamped = !(f >= 0 && f <= 1);
    if (Number.isNaN(f)) f = 0;
    return { value: Math.round(Math.min(1, Math.max(0, f)) * 65535), clamped };
  }
  const max = storedMax(profile);
  const clamped = stored < 0 || stored > max || !Number.isInteger(stored);
  let v = Math.min(max, Math.max(0, Math.round(stored)));
  if (profile.values === 'attenuation') v = max - v;
  if (profile.sample === 'uint8') return { value: v * 257, clamped };
  if (profile.sample === 'uint12') return { value: (v << 4) | (v >> 8), clamped };
  return { value: v, clamped };
}

/** Plane value → stored sample: the inverse of toPlaneValue (12-bit keeps `t >> 4`, 8-bit `round(t / 257)`). */
export function toStoredValue(profile: RawProfile, value: number): number {
  if (profile.sample === 'float32') {
    const f = value / 65535;
    return (profile.values === 'attenuation' ? 1 - f : f) * profile.floatFullScale;
  }
  const max = storedMax(profile);
  const v = profile.sample === 'uint8' ? Math.round(value / 257) : profile.sample === 'uint12' ? value >> 4 : value;
  return profile.values === 'attenuation' ? max - v : v;
}

export function bytesPerSample(profile: RawProfile): number {
  return SAMPLE_SIZES[profile.sample];
}

/** Number of pixel bytes after the header for an image of width x height. */
export function pixelBytes(profile: RawProfile, width: number, height: number): number {
  return width * height * profile.planes.length * bytesPerSample(profile);
}

/**
 * For each stored sample position s (0 .. width*height-1 within one plane, in file order), the index of the
 * pixel in the row-major, top-left-first image. Applies transposition (column storage) and flips.
 */
export function storageToImageIndex(profile: RawProfile, width: number, height: number): Uint32Array {
  const n = width * height;
  const map = new Uint32Array(n);
  const { storage, flipHorizontal, flipVertical } = profile.orientation;
  for (let s = 0; s < n; s++) {
    let x: number;
    let y: number;
    if (storage === 'rows') {
      x = s % width;
      y = (s - x) / width;
    } else {
      y = s % height;
      x = (s - y) / height;
    }
    if (flipHorizontal) x = width - 1 - x;
    if (flipVertical) y = height - 1 - y;
    map[s] = y * width + x;
  }
  return map;
}

/** Byte offset (after the header) of stored sample s of plane p. */
export function sampleOffset(profile: RawProfile, n: number, p: number, s: number): number {
  const size = bytesPerSample(profile);
  const planes = profile.planes.length;
  return (profile.interleave === 'planar' ? p * n + s : s * planes + p) * size;
}

export function readSample(profile: RawProfile, view: DataView, offset: number): number {
  const little = profile.endianness === 'little';
  switch (profile.sample) {
    case 'uint8':
      return view.getUint8(offset);
    case 'uint12':
    case 'uint16':
      return view.getUint16(offset, little);
    case 'float32':
      return view.getFloat32(offset, little);
  }
}

export function writeSample(profile: RawProfile, view: DataView, offset: number, value: number): void {
  const little = profile.endianness === 'little';
  switch (profile.sample) {
    case 'uint8':
      view.setUint8(offset, value);
      return;
    case 'uint12':
    case 'uint16':
      view.setUint16(offset, value, little);
      return;
    case 'float32':
      view.setFloat32(offset, value, little);
      return;
  }
}
