import { attenuationLut } from './display.js';

/**
 * Dual-energy material map. For each pixel the ratio of log-attenuations R = ln(air/low) / ln(air/high) estimates
 * the effective atomic number: at MV energies pair production grows with Z, so R falls as Z rises. The
 * synthetic generator's materials (synthetic/materials.ts) have R = 1.30 organic, 1.18 mixed (aluminium, glass,
 * ceramics), 1.06 metal (steel; lead 0.95); the thresholds sit half-way:
 *
 *   R ≥ 1.24           organic   orange
 *   1.12 ≤ R < 1.24    mixed     green
 *   R < 1.12           metal     blue
 *
 * A stack of materials gives the attenuation-weighted mean of their ratios, as real scanners see it.
 * Brightness follows the grey display value (air white, thick dark). Pixels with almost nothing in the beam
 * (A_high < MIN_ATTENUATION: the ratio is noise) stay neutral grey-white; pixels with too little signal left
 * (A_high > MAX_ATTENUATION, or the low plane under MIN_SIGNAL counts above zero) are neutral grey to black.
 */
export const MATERIAL_RATIO_THRESHOLDS = { organic: 1.24, mixed: 1.12 } as const;
export const MIN_ATTENUATION = 0.08;
export const MAX_ATTENUATION = 5.5;
export const MIN_SIGNAL = 60;

export type MaterialColourClass = 'none' | 'organic' | 'mixed' | 'metal';

/** Base colours (sRGB) of the classes at mid brightness. */
export const MATERIAL_COLOURS: Record<MaterialColourClass, readonly [number, number, number]> = {
  none: [128, 128, 128],
  organic: [255, 140, 0],
  mixed: [40, 180, 40],
  metal: [40, 90, 255],
};

const CLASS_ORDER: MaterialColourClass[] = ['none', 'organic', 'mixed', 'metal'];

/** 4 classes × 256 brightness levels × RGB: white → colour (at grey 128) → black. */
function palette(): Uint8Array {
  const p = new Uint8Array(4 * 256 * 3);
  CLASS_ORDER.forEach((name, k) => {
    const base = MATERIAL_COLOURS[name];
    for (let g = 0; g < 256; g++) {
      const f = g / 255;
      for (let ch = 0; ch < 3; ch++) {
        const c = f >= 0.5 ? base[ch] + (255 - base[ch]) * (f - 0.5) * 2 : base[ch] * f * 2;
        p[(k * 256 + g) * 3 + ch] = name === 'none' ? g : Math.round(c);
      }
    }
  });
  return p;
}

const PALETTE = palette();

/**
 * RGB (3 bytes per pixel) material map of a dual-energy view. `grey` is the 16 → 8-bit display table of the
 * high plane (display.ts greyLut) so the colour map and the grey image share brightness.
 */
export function materialMap(high: Uint16Array, low: Uint16Array, airValue: number, grey: Uint8Array): Uint8Array {
  if (high.length !== low.length) throw new RangeError('the high and low planes differ in size');
  const att = attenuationLut(airValue);
  const rgb = new Uint8Array(high.length * 3);
  const organic = MATERIAL_RATIO_THRESHOLDS.organic;
  const mixed = MATERIAL_RATIO_THRESHOLDS.mixed;
  const n = high.length;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const h = high[i];
    const l = low[i];
    const ah = att[h];
    const g = grey[h];
    let k = 0;
    if (ah >= MIN_ATTENUATION && ah <= MAX_ATTENUATION && l >= MIN_SIGNAL) {
      const al = att[l];
      k = al >= organic * ah ? 1 : al >= mixed * ah ? 2 : 3;
    }
    const p = (k * 256 + g) * 3;
    rgb[o] = PALETTE[p];
    rgb[o + 1] = PALETTE[p + 1];
    rgb[o + 2] = PALETTE[p + 2];
  }
  return rgb;
}

/** The class a colour of the map belongs to (nearest hue), for tests and tools. */
export function classifyColour(r: number, g: number, b: number): MaterialColourClass {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max - min < 24) return 'none';
  if (b === max) return 'metal';
  if (g === max && g - r > 20) return 'mixed';
  return r === max ? 'organic' : 'mixed';
}
