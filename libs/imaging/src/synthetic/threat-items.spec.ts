import { createHash } from 'node:crypto';
import { THREAT_CATEGORIES } from '../../../exchange-format/src/verdict.js';
import { MATERIAL_RATIO_THRESHOLDS } from '../material-map.js';
import { validateThreatItem, type ThreatItemImage } from '../tip/threat-item.js';
import { generateScan } from './generate-scan.js';
import { STARTER_AIR_VALUE, STARTER_PIXEL_SPACING_MM, starterThreatItems, type StarterThreatItem } from './threat-items.js';

function hashOf(items: StarterThreatItem[]): string {
  const hash = createHash('sha256');
  for (const { key, image } of items) {
    hash.update(key);
    for (const a of [image.high, image.low, image.mask]) hash.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  return hash.digest('hex');
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/** High-energy log-attenuations ln(air/high) of the object's pixels. */
function attenuations(image: ThreatItemImage): number[] {
  const out: number[] = [];
  for (let i = 0; i < image.mask.length; i++) if (image.mask[i]) out.push(Math.log(image.airValue / image.high[i]));
  return out;
}

function classOf(ratio: number): 'organic' | 'mixed' | 'metal' {
  return ratio >= MATERIAL_RATIO_THRESHOLDS.organic ? 'organic' : ratio >= MATERIAL_RATIO_THRESHOLDS.mixed ? 'mixed' : 'metal';
}

describe(starterThreatItems.name, () => {
  let items: StarterThreatItem[];
  const byKey = (key: string) => {
    const found = items.find((i) => i.key === key);
    if (!found) throw new Error(`no ${key}`);
    return found;
  };

  beforeAll(() => {
    items = starterThreatItems();
  });

  it('holds exactly the six starter items with their categories', () => {
    expect(items.map((i) => [i.key, i.category])).toEqual([
      ['pistol', 'weapons'],
      ['rifle-parts', 'weapons'],
      ['drug-blocks', 'narcotics'],
      ['cigarette-cartons', 'tobacco'],
      ['cash-bundles', 'currency'],
      ['hidden-compartment', 'concealment'],
    ]);
    for (const item of items) {
      expect(THREAT_CATEGORIES).toContain(item.category);
      expect(item.name.length).toBeGreaterThan(3);
      expect(item.description).toMatch(/^[A-Z].*\.$/);
    }
  });

  it('is deterministic, and each call returns copies the caller may change', () => {
    const again = starterThreatItems();
    expect(hashOf(again)).toBe(hashOf(items));
    again[0].image.high[0] = 1;
    again[0].image.mask.fill(0);
    expect(hashOf(starterThreatItems())).toBe(hashOf(items));
  });

  it('gives valid, small items at the air value and the pixel spacing of a default synthetic container scan', () => {
    // generate-scan.ts: a default container scan is 8000 columns wide; at 800 columns the spacing is ten times larger.
    const [view] = generateScan({ seed: 1, kind: 'container', width: 800, height: 250 }).views;
    expect(STARTER_PIXEL_SPACING_MM).toBeCloseTo((view.pixelSpacingMm.x * 800) / 8000, 10);
    expect(STARTER_AIR_VALUE).toBe(view.airValue);
    for (const { key, image } of items) {
      expect(() => validateThreatItem(image)).not.toThrow();
      expect({ key, air: image.airValue, spacing: image.pixelSpacingMm }).toEqual({ key, air: 60000, spacing: STARTER_PIXEL_SPACING_MM });
      expect(image.width).toBeLessThanOrEqual(400);
      expect(image.height).toBeLessThanOrEqual(400);
      expect(image.width).toBeGreaterThanOrEqual(60);
      expect(image.height).toBeGreaterThanOrEqual(60);
    }
  });

  it.each([
    ['pistol', 'metal'],
    ['rifle-parts', 'metal'],
    ['drug-blocks', 'organic'],
    ['cigarette-cartons', 'organic'],
    ['cash-bundles', 'organic'],
  ] as const)('%s has the dual-energy ratio of its material: %s', (key, cls) => {
    const { image } = byKey(key);
    const ratios: number[] = [];
    for (let i = 0; i < image.mask.length; i++) {
      if (!image.mask[i]) continue;
      const ah = Math.log(image.airValue / image.high[i]);
      if (ah > 0.05) ratios.push(Math.log(image.airValue / image.low[i]) / ah);
    }
    expect(ratios.length).toBeGreaterThan(0.7 * image.mask.reduce((a, b) => a + b, 0));
    const r = quantile(ratios, 0.5);
    expect(classOf(r)).toBe(cls);
    // Single materials: the ratio of the class in materials.ts (1.06 steel and copper, 1.30 organic).
    expect(r).toBeCloseTo(cls === 'metal' ? 1.06 : 1.3, 1);
  });

  it('models the hidden compartment as steel walls (metal) around organic goods seen through steel (mixed)', () => {
    const { image } = byKey('hidden-compartment');
    const classes = { organic: 0, mixed: 0, metal: 0 };
    for (let i = 0; i < image.mask.length; i++) {
      if (!image.mask[i]) continue;
      const ah = Math.log(image.airValue / image.high[i]);
      if (ah > 0.05) classes[classOf(Math.log(image.airValue / image.low[i]) / ah)]++;
    }
    const total = classes.organic + classes.mixed + classes.metal;
    expect(classes.mixed / total).toBeGreaterThan(0.45);
    expect(classes.metal / total).toBeGreaterThan(0.15);
    // The edge-on steel walls are dark: far more attenuating than the face-on plates and goods.
    expect(quantile(attenuations(image), 0.99)).toBeGreaterThan(2);
  });

  it('varies the thickness across each object, as an X-ray does', () => {
    for (const { key, image } of items) {
      const a = attenuations(image);
      const spread = quantile(a, 0.95) / quantile(a, 0.05);
      expect({ key, varies: spread > 1.3 }).toEqual({ key, varies: true });
    }
    // A drug brick is rounded: thicker in the middle than near its top and bottom edges.
    const { image } = byKey('drug-blocks');
    const column = Math.floor(image.width / 2);
    const profile: number[] = [];
    for (let y = 0; y < image.height; y++) profile.push(Math.log(image.airValue / image.high[y * image.width + column]));
    // The top brick: from the first row that attenuates to the first row where the gap to the next brick starts.
    const top = profile.findIndex((a) => a > 0.2);
    const bottom = profile.findIndex((a, y) => y > top + 5 && a < 0.35) - 1;
    expect(bottom - top).toBeGreaterThan(25); // 50 mm at 1.75 mm
    const middle = profile[Math.round((top + bottom) / 2)];
    expect(middle).toBeGreaterThan(0.45);
    // Two pixels (3.5 mm) inside the outline the rounding already shortens the path by a tenth.
    expect(profile[top + 2]).toBeLessThan(middle - 0.04);
    expect(profile[bottom - 2]).toBeLessThan(middle - 0.04);
  });

  it('carries a little detector noise: air around the object scatters by about 0.25 %', () => {
    for (const { key, image } of items) {
      const air: number[] = [];
      for (let i = 0; i < image.mask.length; i++) if (!image.mask[i]) air.push(image.high[i]);
      expect(air.length).toBeGreaterThan(100);
      const mean = air.reduce((s, v) => s + v, 0) / air.length;
      const sd = Math.sqrt(air.reduce((s, v) => s + (v - mean) ** 2, 0) / air.length);
      expect({ key, mean: Math.abs(mean / image.airValue - 1) < 0.001 }).toEqual({ key, mean: true });
      expect(sd / image.airValue).toBeGreaterThan(0.0005);
      expect(sd / image.airValue).toBeLessThan(0.005);
    }
  });

  it('keeps object pixels at or below air (an object only removes intensity)', () => {
    for (const { image } of items) {
      for (let i = 0; i < image.mask.length; i++) {
        if (image.mask[i] && (image.high[i] > image.airValue || image.low[i] > image.airValue)) throw new Error(`pixel ${i} above air`);
      }
    }
  });
});
