import { greyLut } from './display.js';
import { classifyColour, MATERIAL_RATIO_THRESHOLDS, materialMap } from './material-map.js';
import { ALUMINIUM, CERAMIC, COPPER, GLASS, LEAD, RUBBER, STEEL, WATER, WOOD, type Material } from './synthetic/materials.js';

const air = 60000;
const grey = greyLut(air);

/** One pixel behind `cm` centimetres of a material, at both energies. */
function pixel(mat: Material, cm: number): { high: number; low: number } {
  return { high: Math.round(air * Math.exp(-mat.muHigh * cm)), low: Math.round(air * Math.exp(-mat.muLow * cm)) };
}

function colourOf(high: number, low: number): [number, number, number] {
  const rgb = materialMap(Uint16Array.of(high), Uint16Array.of(low), air, grey);
  return [rgb[0], rgb[1], rgb[2]];
}

describe('material map', () => {
  it('has thresholds between the ratios of the synthetic generator materials', () => {
    const ratio = (m: Material) => m.muLow / m.muHigh;
    for (const m of [WOOD, RUBBER, WATER]) expect(ratio(m)).toBeGreaterThan(MATERIAL_RATIO_THRESHOLDS.organic + 0.03);
    for (const m of [ALUMINIUM, GLASS, CERAMIC]) {
      expect(ratio(m)).toBeLessThan(MATERIAL_RATIO_THRESHOLDS.organic - 0.03);
      expect(ratio(m)).toBeGreaterThan(MATERIAL_RATIO_THRESHOLDS.mixed + 0.03);
    }
    for (const m of [STEEL, COPPER, LEAD]) expect(ratio(m)).toBeLessThan(MATERIAL_RATIO_THRESHOLDS.mixed - 0.03);
  });

  it('colours organic orange, aluminium green, steel blue at moderate thickness', () => {
    const cases: [Material, number, string][] = [
      [WATER, 40, 'organic'],
      [WOOD, 100, 'organic'],
      [ALUMINIUM, 15, 'mixed'],
      [GLASS, 20, 'mixed'],
      [STEEL, 5, 'metal'],
      [LEAD, 3, 'metal'],
    ];
    for (const [mat, cm, expected] of cases) {
      const { high, low } = pixel(mat, cm);
      expect({ name: mat.name, cls: classifyColour(...colourOf(high, low)) }).toEqual({ name: mat.name, cls: expected });
    }
    const [r, g, b] = colourOf(pixel(WATER, 40).high, pixel(WATER, 40).low);
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
  });

  it('leaves air white, and impenetrable or near-empty pixels without a class', () => {
    expect(colourOf(air, air)).toEqual([255, 255, 255]);
    expect(classifyColour(...colourOf(Math.round(air * 0.97), Math.round(air * 0.96)))).toBe('none');
    const dense = pixel(STEEL, 40);
    const [r, g, b] = colourOf(dense.high, Math.max(1, dense.low));
    expect(classifyColour(r, g, b)).toBe('none');
    expect(Math.max(r, g, b)).toBeLessThan(80);
  });

  it('follows the grey display brightness', () => {
    const thin = colourOf(pixel(WATER, 20).high, pixel(WATER, 20).low);
    const thick = colourOf(pixel(WATER, 120).high, pixel(WATER, 120).low);
    expect(thin[0] + thin[1] + thin[2]).toBeGreaterThan(thick[0] + thick[1] + thick[2]);
  });

  it('refuses planes of different sizes', () => {
    expect(() => materialMap(new Uint16Array(4), new Uint16Array(5), air, grey)).toThrow(RangeError);
  });
});
