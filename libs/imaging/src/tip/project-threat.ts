import type { GreyPlane } from '../raster.js';
import { Prng } from '../synthetic/prng.js';
import { ThreatItemError, validateThreatItem, type ThreatItemImage } from './threat-item.js';

/**
 * Threat image projection (TIP): a threat item is inserted into a scan view so that the result is what the
 * scanner would have measured had the object been in the cargo. Planes hold transmitted intensity, so by
 * Beer–Lambert an object in the beam multiplies the measured value by its own transmission t = I/I0 at each
 * energy: out = background · t. Log-attenuations therefore add, and the dual-energy ratio of a pixel becomes the
 * attenuation-weighted mean of cargo and item, exactly as for real stacked materials: a projected pistol looks
 * like a pistol behind textiles, not like a pasted picture. Pixels outside the item's mask are never touched,
 * so a projection can be verified (and undone) exactly.
 */

/** x,y = top-left of the placed item's bounding box in scan pixels (whole numbers; may be negative or past the edge). */
export interface Placement {
  x: number;
  y: number;
  scale: number;
  rotationDeg: number;
}

/** A threat item resampled to the view's pixel grid: transmissions in (0,1], 1 outside the mask. */
export interface PlacedItem {
  width: number;
  height: number;
  tHigh: Float32Array;
  tLow: Float32Array;
  mask: Uint8Array;
}

export interface DualEnergyView {
  high: GreyPlane;
  low: GreyPlane;
  airValue: number;
  pixelSpacingMm: number;
}

/** Median background transmission under a placed box that counts as "in the cargo": not air, not opaque. */
export const PLACEMENT_TRANSMISSION_RANGE = { min: 0.05, max: 0.85 } as const;
/** Random positions tried before randomPlacement settles for the best one seen. */
export const MAX_PLACEMENT_TRIES = 200;
/** Scale drawn by randomPlacement when none is fixed: real objects vary a little in size. */
export const RANDOM_SCALE_RANGE = { min: 0.9, max: 1.1 } as const;

// Hot loops reach these through module constants: a global `Math.x` lookup per pixel is cheap in plain Node but
// about fifty times slower inside a vm sandbox such as jest's, which would make the timing specs meaningless.
const { floor, max, min } = Math;

// Beyond this a placed item would be larger than any scan; it also bounds the memory of the resampled item.
const MAX_PLACED_SIDE = 16384;
// Grid of background samples per axis for the median under a candidate box: enough for a stable median, cheap.
const MEDIAN_SAMPLES_PER_AXIS = 16;

interface Geometry {
  /** Overall scale factor item pixel → view pixel. */
  factor: number;
  cos: number;
  sin: number;
  width: number;
  height: number;
}

/**
 * cos/sin of the rotation, exact at multiples of 90° so that a quarter turn neither grows the box by a pixel
 * (cos 90° is 6e-17 in floating point) nor blurs the item.
 */
function rotation(deg: number): { cos: number; sin: number } {
  const r = ((deg % 360) + 360) % 360;
  if (r === 0) return { cos: 1, sin: 0 };
  if (r === 90) return { cos: 0, sin: 1 };
  if (r === 180) return { cos: -1, sin: 0 };
  if (r === 270) return { cos: 0, sin: -1 };
  const rad = (r * Math.PI) / 180;
  return { cos: Math.cos(rad), sin: Math.sin(rad) };
}

function geometry(item: { width: number; height: number; pixelSpacingMm: number }, scale: number, rotationDeg: number, targetPixelSpacingMm: number): Geometry {
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw new ThreatItemError(`The scale of a threat item projection must be a positive number; it is ${String(scale)}.`);
  }
  if (typeof rotationDeg !== 'number' || !Number.isFinite(rotationDeg)) {
    throw new ThreatItemError(`The rotation of a threat item projection must be a finite number of degrees; it is ${String(rotationDeg)}.`);
  }
  if (typeof targetPixelSpacingMm !== 'number' || !Number.isFinite(targetPixelSpacingMm) || targetPixelSpacingMm <= 0) {
    throw new ThreatItemError(`The pixel spacing of the view must be a positive number of millimetres; it is ${String(targetPixelSpacingMm)}.`);
  }
  const factor = (scale * item.pixelSpacingMm) / targetPixelSpacingMm;
  const { cos, sin } = rotation(rotationDeg);
  const ac = Math.abs(cos);
  const as = Math.abs(sin);
  // The tolerance keeps an exact size (w·1.0) from rounding up to w + 1 through floating-point noise.
  const width = Math.max(1, Math.ceil(factor * (item.width * ac + item.height * as) - 1e-9));
  const height = Math.max(1, Math.ceil(factor * (item.width * as + item.height * ac) - 1e-9));
  if (width > MAX_PLACED_SIDE || height > MAX_PLACED_SIDE) {
    throw new ThreatItemError(
      `The placed threat item would be ${width} x ${height} pixels, more than ${MAX_PLACED_SIDE} on a side: the scale or the pixel spacings are wrong.`,
    );
  }
  return { factor, cos, sin, width, height };
}

/** Transmissions of the item on its own grid: value / airValue inside the mask, clamped to (0, 1]; exactly 1 outside. */
function sourceTransmissions(item: ThreatItemImage): { tHigh: Float32Array; tLow: Float32Array } {
  const n = item.width * item.height;
  const tHigh = new Float32Array(n);
  const tLow = new Float32Array(n);
  const air = item.airValue;
  for (let i = 0; i < n; i++) {
    if (item.mask[i]) {
      const h = item.high[i];
      const l = item.low[i];
      // An object cannot add intensity: a noisy reading above air is taken as air, 0 as the weakest measurable signal.
      tHigh[i] = h >= air ? 1 : max(h, 1) / air;
      tLow[i] = l >= air ? 1 : max(l, 1) / air;
    } else {
      tHigh[i] = 1;
      tLow[i] = 1;
    }
  }
  return { tHigh, tLow };
}

interface SourceGrid {
  width: number;
  height: number;
  tHigh: Float32Array;
  tLow: Float32Array;
  mask: Uint8Array;
}

/**
 * Box-averages the item by a whole factor k before a strong reduction: a detector pixel integrates intensity over
 * its area, so the mean TRANSMISSION is the physically right value, and plain bilinear sampling at a factor below
 * 0.5 would skip thin steel parts altogether. A block is object if any of its pixels is.
 */
function reduce(src: SourceGrid, k: number): SourceGrid {
  const width = Math.ceil(src.width / k);
  const height = Math.ceil(src.height / k);
  const tHigh = new Float32Array(width * height);
  const tLow = new Float32Array(width * height);
  const mask = new Uint8Array(width * height);
  for (let by = 0; by < height; by++) {
    for (let bx = 0; bx < width; bx++) {
      let sh = 0;
      let sl = 0;
      let m = 0;
      // Blocks past the item's edge are padded with air (t = 1): the item is surrounded by air.
      for (let y = by * k; y < by * k + k; y++) {
        for (let x = bx * k; x < bx * k + k; x++) {
          if (x < src.width && y < src.height) {
            const i = y * src.width + x;
            sh += src.tHigh[i];
            sl += src.tLow[i];
            m |= src.mask[i];
          } else {
            sh += 1;
            sl += 1;
          }
        }
      }
      const o = by * width + bx;
      tHigh[o] = sh / (k * k);
      tLow[o] = sl / (k * k);
      mask[o] = m;
    }
  }
  return { width, height, tHigh, tLow, mask };
}

/**
 * Scales (scale * item.pixelSpacingMm / targetPixelSpacingMm) and rotates (about the centre, any angle; positive
 * turns clockwise as displayed, y down) the item's TRANSMISSIONS (value/airValue), bilinear; mask by nearest
 * neighbour; the output box is the rotated bounding box. Transmissions rather than values are resampled so that
 * the result is independent of the item's airValue. At scale factor 1 and rotation 0 the transmissions equal item
 * value / item airValue exactly (as Float32) inside the mask. Reductions below 1/2 are box-averaged first.
 */
export function placeItem(item: ThreatItemImage, options: { scale: number; rotationDeg: number; targetPixelSpacingMm: number }): PlacedItem {
  validateThreatItem(item);
  const geo = geometry(item, options.scale, options.rotationDeg, options.targetPixelSpacingMm);
  let src: SourceGrid = { width: item.width, height: item.height, mask: item.mask, ...sourceTransmissions(item) };
  let factor = geo.factor;
  const k = Math.floor(1 / factor);
  if (k >= 2) {
    src = reduce(src, k);
    factor *= k;
  }
  const { width, height, cos, sin } = geo;
  const n = width * height;
  const tHigh = new Float32Array(n).fill(1);
  const tLow = new Float32Array(n).fill(1);
  const mask = new Uint8Array(n);
  const sw = src.width;
  const sh = src.height;
  // The item's centre in (possibly reduced) source pixels.
  const unit = k >= 2 ? k : 1;
  const scx = item.width / 2 / unit;
  const scy = item.height / 2 / unit;
  const inv = 1 / factor;
  const sHigh = src.tHigh;
  const sLow = src.tLow;
  const sMask = src.mask;
  // Outside the item is air: transmission 1.
  const at = (t: Float32Array, x: number, y: number) => (x >= 0 && y >= 0 && x < sw && y < sh ? t[y * sw + x] : 1);
  for (let oy = 0; oy < height; oy++) {
    const py = oy + 0.5 - height / 2;
    // Only the run of this row that maps into the item (plus a pixel of margin) is visited: in a turned box the
    // corners are empty, and each pixel below still checks its own position.
    let lo = 0;
    let hi = width - 1;
    const u0 = (cos * (0.5 - width / 2) + sin * py) * inv + scx;
    const v0 = (-sin * (0.5 - width / 2) + cos * py) * inv + scy;
    for (const [start, step, limit] of [
      [u0, cos * inv, sw],
      [v0, -sin * inv, sh],
    ]) {
      if (step === 0) {
        if (start < 0 || start >= limit) hi = -1;
        continue;
      }
      const a = -start / step;
      const b = (limit - start) / step;
      lo = max(lo, floor(a < b ? a : b) - 1);
      hi = min(hi, floor(a < b ? b : a) + 1);
    }
    for (let ox = lo; ox <= hi; ox++) {
      const px = ox + 0.5 - width / 2;
      // Inverse mapping: where in the item does the centre of this output pixel come from?
      const u = (cos * px + sin * py) * inv + scx;
      const v = (-sin * px + cos * py) * inv + scy;
      if (u < 0 || v < 0 || u >= sw || v >= sh) continue;
      // u, v ≥ 0 here, so truncation is floor (and cheaper than a Math call per pixel).
      if (!sMask[(v | 0) * sw + (u | 0)]) continue;
      const o = oy * width + ox;
      mask[o] = 1;
      const fu = u - 0.5;
      const fv = v - 0.5;
      const x0 = fu < 0 ? -1 : fu | 0;
      const y0 = fv < 0 ? -1 : fv | 0;
      const ax = fu - x0;
      const ay = fv - y0;
      const w00 = (1 - ax) * (1 - ay);
      const w10 = ax * (1 - ay);
      const w01 = (1 - ax) * ay;
      const w11 = ax * ay;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
        // Interior: all four neighbours exist (the common case, without bounds checks).
        const i = y0 * sw + x0;
        tHigh[o] = sHigh[i] * w00 + sHigh[i + 1] * w10 + sHigh[i + sw] * w01 + sHigh[i + sw + 1] * w11;
        tLow[o] = sLow[i] * w00 + sLow[i + 1] * w10 + sLow[i + sw] * w01 + sLow[i + sw + 1] * w11;
      } else {
        tHigh[o] = at(sHigh, x0, y0) * w00 + at(sHigh, x0 + 1, y0) * w10 + at(sHigh, x0, y0 + 1) * w01 + at(sHigh, x0 + 1, y0 + 1) * w11;
        tLow[o] = at(sLow, x0, y0) * w00 + at(sLow, x0 + 1, y0) * w10 + at(sLow, x0, y0 + 1) * w01 + at(sLow, x0 + 1, y0 + 1) * w11;
      }
    }
  }
  return { width, height, tHigh, tLow, mask };
}

function validateView(view: DualEnergyView): void {
  const { high, low } = view;
  if (high.width !== low.width || high.height !== low.height) {
    throw new ThreatItemError(`The high- and low-energy planes of the view differ in size (${high.width} x ${high.height} and ${low.width} x ${low.height}).`);
  }
  const n = high.width * high.height;
  if (high.data.length !== n || low.data.length !== n) {
    throw new ThreatItemError(`The planes of the view do not hold ${high.width} x ${high.height} values.`);
  }
  if (!Number.isFinite(view.airValue) || view.airValue <= 0) {
    throw new ThreatItemError(`The air value of the view must be a positive number; it is ${String(view.airValue)}.`);
  }
}

/**
 * Beer–Lambert projection: inside the mask, out = round(background * t) for both energies (clamped to 0..65535);
 * outside the mask, out == background exactly. Returns NEW planes (the input is untouched) and the truth region
 * (bounding box of the mask pixels actually inside the image, clipped), which is what an analyst must mark to
 * score a hit. Throws ThreatItemError if the placed item does not overlap the image at all (no mask pixel lands
 * inside), because a projection nobody can see would count as a miss. Only the box is visited: cost is the two
 * plane copies plus the item's size, not the scan's.
 */
export function projectThreat(
  background: DualEnergyView,
  item: ThreatItemImage,
  placement: Placement,
): { high: GreyPlane; low: GreyPlane; region: { x: number; y: number; width: number; height: number }; placed: PlacedItem } {
  validateView(background);
  const { x, y } = placement;
  if (!Number.isInteger(x) || !Number.isInteger(y)) {
    throw new ThreatItemError(`A threat item must be placed at whole pixel positions; it was placed at ${String(x)}, ${String(y)}.`);
  }
  const placed = placeItem(item, { scale: placement.scale, rotationDeg: placement.rotationDeg, targetPixelSpacingMm: background.pixelSpacingMm });
  const { width: W, height: H } = background.high;
  const c0 = Math.max(0, x);
  const c1 = Math.min(W, x + placed.width);
  const r0 = Math.max(0, y);
  const r1 = Math.min(H, y + placed.height);
  const outside = () =>
    new ThreatItemError(
      `The threat item placed at ${x}, ${y} (${placed.width} x ${placed.height} pixels) does not overlap the ${W} x ${H} view.`,
    );
  if (c1 <= c0 || r1 <= r0) throw outside();

  const bgHigh = background.high.data;
  const bgLow = background.low.data;
  const high = bgHigh.slice();
  const low = bgLow.slice();
  const pw = placed.width;
  const { tHigh, tLow, mask } = placed;
  let minX = W;
  let minY = H;
  let maxX = -1;
  let maxY = -1;
  for (let r = r0; r < r1; r++) {
    const row = r * W;
    const prow = (r - y) * pw - x;
    let any = false;
    for (let c = c0; c < c1; c++) {
      const k = prow + c;
      if (!mask[k]) continue;
      const i = row + c;
      // round(bg · t): bg is a 16-bit integer and t a Float32, so the product is exact in a double and so is
      // adding 0.5; truncating that non-negative sum is Math.round exactly, without a call per pixel. With t ≤ 1
      // the result cannot exceed the background, so it stays within 0..65535.
      high[i] = (bgHigh[i] * tHigh[k] + 0.5) | 0;
      low[i] = (bgLow[i] * tLow[k] + 0.5) | 0;
      if (c < minX) minX = c;
      if (c > maxX) maxX = c;
      any = true;
    }
    if (any) {
      if (r < minY) minY = r;
      maxY = r;
    }
  }
  if (maxX < 0) throw outside();
  return {
    high: { width: W, height: H, data: high },
    low: { width: W, height: H, data: low },
    region: { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 },
    placed,
  };
}

/** Median high-energy transmission of the background on a sample grid over a box that lies inside the view. */
function medianTransmission(view: DualEnergyView, x: number, y: number, w: number, h: number): number {
  const W = view.high.width;
  const data = view.high.data;
  const nx = Math.min(w, MEDIAN_SAMPLES_PER_AXIS);
  const ny = Math.min(h, MEDIAN_SAMPLES_PER_AXIS);
  const values = new Float64Array(nx * ny);
  let k = 0;
  for (let j = 0; j < ny; j++) {
    const r = y + floor(((j + 0.5) * h) / ny);
    for (let i = 0; i < nx; i++) {
      const c = x + floor(((i + 0.5) * w) / nx);
      values[k++] = data[r * W + c] / view.airValue;
    }
  }
  values.sort();
  return values[values.length >> 1];
}

/**
 * Chooses a placement with a seeded PRNG: scale in [0.9,1.1] unless given, rotation in [0,360) unless given, and
 * a position where the placed box lies fully inside the image and the median background transmission under the
 * box is between 0.05 and 0.85 — inside the cargo, where a real threat would be, not in air (an obvious give-away)
 * nor behind something opaque (invisible, an unfair test). Tries up to 200 positions, then falls back to the best
 * candidate found (median closest to the range). An item larger than the view along an axis is centred on it.
 * The same view, item and seed always give the same placement.
 */
export function randomPlacement(
  background: DualEnergyView,
  item: ThreatItemImage,
  seed: number,
  fixed?: Partial<Pick<Placement, 'scale' | 'rotationDeg'>>,
): Placement {
  validateView(background);
  validateThreatItem(item);
  const rng = new Prng(seed);
  // Both are drawn even when fixed, so fixing one does not shift the sequence of positions.
  const drawnScale = rng.range(RANDOM_SCALE_RANGE.min, RANDOM_SCALE_RANGE.max);
  const drawnRotation = rng.range(0, 360);
  const scale = fixed?.scale ?? drawnScale;
  const rotationDeg = fixed?.rotationDeg ?? drawnRotation;
  const { width: pw, height: ph } = geometry(item, scale, rotationDeg, background.pixelSpacingMm);
  const { width: W, height: H } = background.high;
  const { min, max } = PLACEMENT_TRANSMISSION_RANGE;
  let best: Placement | null = null;
  let bestScore = Infinity;
  for (let attempt = 0; attempt < MAX_PLACEMENT_TRIES; attempt++) {
    const x = pw <= W ? rng.int(0, W - pw) : Math.floor((W - pw) / 2);
    const y = ph <= H ? rng.int(0, H - ph) : Math.floor((H - ph) / 2);
    const bx = Math.max(0, x);
    const by = Math.max(0, y);
    const median = medianTransmission(background, bx, by, Math.min(W, x + pw) - bx, Math.min(H, y + ph) - by);
    const score = median < min ? min - median : median > max ? median - max : 0;
    if (score < bestScore) {
      bestScore = score;
      best = { x, y, scale, rotationDeg };
      if (score === 0) break;
    }
  }
  return best as Placement;
}
