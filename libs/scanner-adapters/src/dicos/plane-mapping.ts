import type { StoredFrames, StoredValues } from './dicom-file.reader.js';

/**
 * From stored values to the plane convention (uint16, value grows with transmitted intensity, air high).
 *
 * Direction. DICOS DX and DICOM DX carry Pixel Intensity Relationship Sign (0028,1041): +1 means pixel values
 * grow with X-ray beam intensity, -1 that they fall; when it is present it decides and the photometric
 * interpretation (a display instruction) is ignored. Without it, niix follows the security display
 * convention (cargo images are shown with air bright): the image as displayed is the transmission image, so
 * MONOCHROME2 is kept and MONOCHROME1 (minimum shown white) is inverted. A negative rescale slope flips once
 * more. Medical test images have no transmission meaning; they just get this deterministic rule.
 *
 * Scale. Integer samples of up to 16 bits are stretched from their declared range (BitsStored and
 * PixelRepresentation) to 0..65535: unsigned data stay proportional (v * 65535 / (2^bits - 1); 16-bit data
 * pass through unchanged, 8-bit data become v * 257), signed data are shifted by 2^(bits-1). This is
 * lossless, the same for every frame and file, and a linear rescale cancels out in it (except its sign).
 * 32-bit integers and floating-point samples are rescaled (slope, intercept) and stretched over their actual
 * range in the file (from 0 when no value is negative, so they stay proportional), with a warning.
 */
export interface PlaneMapping {
  invert: boolean;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export function mapToPlanes(stored: StoredFrames, mapping: PlaneMapping): { planes: Uint16Array[]; warnings: string[] } {
  const invert = mapping.rescaleSlope < 0 ? !mapping.invert : mapping.invert;
  const warnings = [...stored.warnings];
  const bits = stored.bits;
  if (!stored.float && bits !== undefined && bits <= 16) {
    if (bits < 16 && bits <= 8) warnings.push(`${bits}-bit source widened to 16 bits`);
    const low = stored.signed ? -(2 ** (bits - 1)) : 0;
    const full = 2 ** bits - 1;
    return { planes: stored.frames.map((frame) => scaleDeclared(frame, low, full, invert)), warnings };
  }
  if (!stored.float) warnings.push(`${bits}-bit integer pixels normalised to 16 bits`);
  let min = Infinity;
  let max = -Infinity;
  const { rescaleSlope: slope, rescaleIntercept: intercept } = mapping;
  for (const frame of stored.frames) {
    for (let i = 0; i < frame.length; i++) {
      const v = frame[i] * slope + intercept;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    min = 0;
    max = 0;
  }
  const low = invert ? min : Math.min(0, min);
  const high = invert ? max : max;
  const range = high - low;
  const planes = stored.frames.map((frame) => {
    const out = new Uint16Array(frame.length);
    if (range <= 0) return out;
    const k = 65535 / range;
    for (let i = 0; i < frame.length; i++) {
      const v = frame[i] * slope + intercept;
      const t = invert ? high - v : v - low;
      out[i] = Number.isFinite(t) ? Math.round(t * k) : 0;
    }
    return out;
  });
  return { planes, warnings };
}

function scaleDeclared(frame: StoredValues, low: number, full: number, invert: boolean): Uint16Array {
  const out = new Uint16Array(frame.length);
  if (full === 65535 && low === 0 && !invert) {
    out.set(frame);
    return out;
  }
  const k = 65535 / full;
  if (full === 65535) {
    for (let i = 0; i < frame.length; i++) out[i] = invert ? full - (frame[i] - low) : frame[i] - low;
    return out;
  }
  for (let i = 0; i < frame.length; i++) {
    const t = frame[i] - low;
    out[i] = Math.round((invert ? full - t : t) * k);
  }
  return out;
}

/** Air value of a view: the 99.5th percentile of its planes (robust to hot pixels), at least 1. */
export function estimateAirValue(planes: Uint16Array[]): number {
  let air = 1;
  for (const plane of planes) {
    const histogram = new Uint32Array(65536);
    for (let i = 0; i < plane.length; i++) histogram[plane[i]]++;
    const target = Math.ceil(plane.length * 0.995);
    let seen = 0;
    for (let v = 0; v < 65536; v++) {
      seen += histogram[v];
      if (seen >= target) {
        air = Math.max(air, v);
        break;
      }
    }
  }
  return air;
}
