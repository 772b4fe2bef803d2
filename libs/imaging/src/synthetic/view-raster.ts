import type { Prng } from './prng.js';

/** Column or row weight: a multiplier of the path length for one pixel column/row (coverage × thickness in cm). */
export type Profile = (centre: number) => number;

/**
 * Accumulates attenuation (Σ μ·t) of one view at both energies in Float32Arrays, then turns it into detector
 * values once per pixel through a lookup table (no exp per pixel). Coordinates are in pixels, as floats.
 */
export class ViewRaster {
  readonly attHigh: Float32Array;
  readonly attLow: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.attHigh = new Float32Array(width * height);
    this.attLow = new Float32Array(width * height);
  }

  /**
   * Adds a rectangle [x0, x1) × [y0, y1) whose path length at a pixel is colProfile(x) · rowProfile(y) cm (1 when
   * a profile is absent), with fractional coverage on the edges so thin sheets still show.
   */
  addRect(
    x0: number,
    x1: number,
    y0: number,
    y1: number,
    muHigh: number,
    muLow: number,
    colProfile?: Profile,
    rowProfile?: Profile,
  ): void {
    const c0 = Math.max(0, Math.floor(x0));
    const c1 = Math.min(this.width, Math.ceil(x1));
    const r0 = Math.max(0, Math.floor(y0));
    const r1 = Math.min(this.height, Math.ceil(y1));
    if (c1 <= c0 || r1 <= r0) return;
    const cols = new Float32Array(c1 - c0);
    for (let c = c0; c < c1; c++) {
      const cover = Math.min(c + 1, x1) - Math.max(c, x0);
      cols[c - c0] = cover * (colProfile ? colProfile(c + 0.5) : 1);
    }
    const { attHigh, attLow, width } = this;
    for (let r = r0; r < r1; r++) {
      const cover = Math.min(r + 1, y1) - Math.max(r, y0);
      const w = cover * (rowProfile ? rowProfile(r + 0.5) : 1);
      if (w === 0) continue;
      const kh = w * muHigh;
      const kl = w * muLow;
      const base = r * width + c0;
      for (let i = 0; i < cols.length; i++) {
        const t = cols[i];
        attHigh[base + i] += kh * t;
        attLow[base + i] += kl * t;
      }
    }
  }

  /**
   * Adds an ellipse (radii rx, ry in pixels; a circle in world units when the pixel spacing differs) minus an
   * inner one, with a constant path length of `thickness` cm: a wheel seen from the side, a drum seen from above.
   */
  addDisc(
    cx: number,
    cy: number,
    rx: number,
    ry: number,
    innerFraction: number,
    thickness: number,
    muHigh: number,
    muLow: number,
  ): void {
    const r0 = Math.max(0, Math.floor(cy - ry));
    const r1 = Math.min(this.height, Math.ceil(cy + ry));
    const kh = thickness * muHigh;
    const kl = thickness * muLow;
    for (let r = r0; r < r1; r++) {
      const dy = (r + 0.5 - cy) / ry;
      if (dy * dy >= 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      const ri = innerFraction;
      const innerHalf = ri > 0 && dy * dy < ri * ri ? rx * Math.sqrt(ri * ri - dy * dy) : 0;
      this.addSpan(r, cx - half, cx + half, kh, kl);
      if (innerHalf > 0) this.addSpan(r, cx - innerHalf, cx + innerHalf, -kh, -kl);
    }
  }

  private addSpan(r: number, x0: number, x1: number, kh: number, kl: number): void {
    const c0 = Math.max(0, Math.floor(x0));
    const c1 = Math.min(this.width, Math.ceil(x1));
    const base = r * this.width;
    for (let c = c0; c < c1; c++) {
      const cover = Math.min(c + 1, x1) - Math.max(c, x0);
      this.attHigh[base + c] += kh * cover;
      this.attLow[base + c] += kl * cover;
    }
  }
}

export interface DetectorModel {
  /** Mean value with nothing in the beam. */
  airValue: number;
  /** Dark offset: the mean reading behind an opaque object (never 0). */
  darkValue: number;
  /** Variance per unit signal (shot noise), so σ = √(gain·I + read²). */
  gain: number;
  readNoise: number;
  /** Relative gain spread between detector rows left after calibration. */
  rowGainSpread: number;
}

const STEPS_PER_UNIT = 2048;
const MAX_ATTENUATION = 14;
const NOISE_TABLE = 1 << 16;

let noiseTable: Float32Array | null = null;

/**
 * 65,536 standard normal deviates from a fixed seed, made once per process (each scan reads them from its own
 * seeded offsets). Irwin–Hall sums of four uniforms: close enough to Gaussian for detector noise, and no Math.log.
 */
function normalTable(): Float32Array {
  if (noiseTable) return noiseTable;
  const table = new Float32Array(NOISE_TABLE);
  let state = 0x2545f491;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  for (let i = 0; i < NOISE_TABLE; i++) table[i] = (uniform() + uniform() + uniform() + uniform() - 2) * Math.sqrt(3);
  noiseTable = table;
  return table;
}

const responseTables = new Map<string, { mean: Float32Array; sigma: Float32Array }>();

/** Mean reading and its σ for every attenuation step, cached per detector model. */
function responseTable(detector: DetectorModel): { mean: Float32Array; sigma: Float32Array } {
  const key = JSON.stringify(detector);
  const cached = responseTables.get(key);
  if (cached) return cached;
  const size = STEPS_PER_UNIT * MAX_ATTENUATION + 1;
  const mean = new Float32Array(size);
  const sigma = new Float32Array(size);
  const span = detector.airValue - detector.darkValue;
  for (let q = 0; q < size; q++) {
    const m = detector.darkValue + span * Math.exp(-q / STEPS_PER_UNIT);
    mean[q] = m;
    sigma[q] = Math.sqrt(detector.gain * m + detector.readNoise * detector.readNoise);
  }
  const table = { mean, sigma };
  responseTables.set(key, table);
  return table;
}

/**
 * Detector readout of an attenuation image: mean = dark + (air − dark)·exp(−A), times a per-row gain, plus
 * Gaussian noise of σ = √(gain·mean + read²). exp and σ come from a table of A in steps of 1/2048; the noise
 * comes from a table of normal deviates read from a seeded random offset per row.
 */
export function readOut(attenuation: Float32Array, width: number, height: number, detector: DetectorModel, rng: Prng): Uint16Array {
  const { mean, sigma } = responseTable(detector);
  const noise = normalTable();
  const out = new Uint16Array(width * height);
  const last = mean.length - 1;
  for (let r = 0; r < height; r++) {
    const gainRow = 1 + detector.rowGainSpread * (rng.next() + rng.next() + rng.next() + rng.next() - 2) * Math.sqrt(3);
    const offset = Math.floor(rng.next() * NOISE_TABLE);
    const base = r * width;
    for (let c = 0; c < width; c++) {
      let q = (attenuation[base + c] * STEPS_PER_UNIT + 0.5) | 0;
      if (q > last) q = last;
      else if (q < 0) q = 0;
      const v = mean[q] * gainRow + sigma[q] * noise[(offset + c) & (NOISE_TABLE - 1)];
      out[base + c] = v < 1 ? 1 : v > 65535 ? 65535 : v + 0.5;
    }
  }
  return out;
}
