import { createHash } from 'node:crypto';
import { isValidContainerNumber } from '../../../exchange-format/src/iso6346.js';
import { MATERIAL_RATIO_THRESHOLDS } from '../material-map.js';
import { generateScan, type SyntheticScan } from './generate-scan.js';

function planesHash(scan: SyntheticScan): string {
  const hash = createHash('sha256');
  for (const view of scan.views) {
    for (const plane of view.planes) hash.update(Buffer.from(plane.data.buffer, plane.data.byteOffset, plane.data.byteLength));
  }
  return hash.digest('hex');
}

type View = SyntheticScan['views'][number];

function plane(view: View, energy: 'high' | 'low' | 'single'): Uint16Array {
  const found = view.planes.find((p) => p.energy === energy);
  if (!found) throw new Error(`no ${energy} plane`);
  return found.data;
}

/** Attenuation ln(air/v) of the pixels of a rectangle (shrunk by `inset` of its size on each side). */
function attenuations(view: View, energy: 'high' | 'low' | 'single', r: { x: number; y: number; width: number; height: number }, inset = 0.2): Float64Array {
  const data = plane(view, energy);
  const x0 = Math.round(r.x + r.width * inset);
  const x1 = Math.round(r.x + r.width * (1 - inset));
  const y0 = Math.round(r.y + r.height * inset);
  const y1 = Math.round(r.y + r.height * (1 - inset));
  const out: number[] = [];
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.push(Math.log(view.airValue / data[y * view.width + x]));
  return Float64Array.from(out);
}

function median(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function classOf(ratio: number): 'organic' | 'mixed' | 'metal' {
  return ratio >= MATERIAL_RATIO_THRESHOLDS.organic ? 'organic' : ratio >= MATERIAL_RATIO_THRESHOLDS.mixed ? 'mixed' : 'metal';
}

describe(generateScan.name, () => {
  const small = { width: 800, height: 250 } as const;

  it('gives byte-identical planes and metadata for the same seed, different ones for another seed', () => {
    const a = generateScan({ seed: 42, kind: 'container', concealed: 1, ...small });
    const b = generateScan({ seed: 42, kind: 'container', concealed: 1, ...small });
    const c = generateScan({ seed: 43, kind: 'container', concealed: 1, ...small });
    expect(planesHash(a)).toBe(planesHash(b));
    expect(planesHash(a)).not.toBe(planesHash(c));
    expect({ ...a, views: null }).toEqual({ ...b, views: null });
  });

  it('uses the defaults: one side view, dual energy, nothing concealed', () => {
    const scan = generateScan({ seed: 1, kind: 'truck', ...small });
    expect(scan.views.map((v) => v.id)).toEqual(['side']);
    const [view] = scan.views;
    expect(view.planes.map((p) => p.energy)).toEqual(['high', 'low']);
    expect(view.planes[0].data).toHaveLength(800 * 250);
    expect(view.pixelSpacingMm.x).toBeGreaterThan(0);
    expect(scan.objects.some((o) => o.concealed)).toBe(false);
  });

  it('makes single-energy and top views on request', () => {
    const scan = generateScan({ seed: 2, kind: 'container', views: ['top', 'side'], dualEnergy: false, ...small });
    expect(scan.views.map((v) => v.id)).toEqual(['top', 'side']);
    for (const view of scan.views) expect(view.planes.map((p) => p.energy)).toEqual(['single']);
    expect(new Set(scan.objects.map((o) => o.view))).toEqual(new Set(['top', 'side']));
    // The vehicle is in the top view too: something attenuates well in its middle rows.
    const top = scan.views[0];
    const middle = attenuations(top, 'single', { x: 0, y: 0, width: top.width, height: top.height }, 0.4);
    expect(Math.max(...middle)).toBeGreaterThan(1);
  });

  it('reads about the air value where only air is in the beam, and never 0', () => {
    const scan = generateScan({ seed: 3, kind: 'truck', ...small });
    const view = scan.views[0];
    for (const energy of ['high', 'low'] as const) {
      const data = plane(view, energy);
      // The top 5 % of the image is above any vehicle (scene 4.6 m high, vehicles under 4.2 m).
      const rows = Math.floor(view.height * 0.05);
      let sum = 0;
      for (let i = 0; i < rows * view.width; i++) sum += data[i];
      expect(Math.abs(sum / (rows * view.width) / view.airValue - 1)).toBeLessThan(0.01);
      expect(data.reduce((m, v) => Math.min(m, v), 65535)).toBeGreaterThan(0);
    }
  });

  it('gives every cargo object the low/high attenuation ratio of its material', () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const scan = generateScan({ seed, kind: seed % 2 ? 'container' : 'truck', ...small });
      const view = scan.views[0];
      for (const object of scan.objects.filter((o) => !o.concealed)) {
        const high = attenuations(view, 'high', object);
        const low = attenuations(view, 'low', object);
        const ratios: number[] = [];
        for (let i = 0; i < high.length; i++) if (high[i] > 0.3 && high[i] < 5) ratios.push(low[i] / high[i]);
        expect(ratios.length).toBeGreaterThan(high.length / 2);
        expect({ label: object.label, material: classOf(median(ratios)) }).toEqual({ label: object.label, material: object.material });
        seen.add(object.material);
      }
    }
    expect(seen).toEqual(new Set(['organic', 'mixed', 'metal']));
  });

  it('hides the requested number of concealed objects, each adding attenuation where it lies', () => {
    for (const seed of [7, 8, 9]) {
      const scan = generateScan({ seed, kind: seed === 8 ? 'truck' : 'container', concealed: 2, ...small });
      const hidden = scan.objects.filter((o) => o.concealed);
      expect(hidden).toHaveLength(2);
      const view = scan.views[0];
      for (const object of hidden) {
        expect(object.view).toBe('side');
        expect(object.width).toBeGreaterThan(2);
        const inside = median(attenuations(view, 'high', object, 0.25));
        // The same host cargo beside it: a box of the same size just left or right.
        const beside = { ...object, x: object.x > view.width / 2 ? object.x - object.width - 2 : object.x + object.width + 2 };
        expect(inside).toBeGreaterThan(median(attenuations(view, 'high', beside, 0.25)) + 0.3);
      }
    }
  });

  it('makes valid ISO 6346 container numbers, plates, references and a dated acquisition', () => {
    for (const seed of [10, 11, 12, 13]) {
      const scan = generateScan({ seed, kind: 'container', width: 64, height: 32 });
      expect(scan.metadata.containers.length).toBeGreaterThanOrEqual(1);
      for (const number of scan.metadata.containers) expect(isValidContainerNumber(number)).toBe(true);
      expect(scan.acquiredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
      expect(Number.isNaN(Date.parse(scan.acquiredAt))).toBe(false);
      expect(scan.metadata.licencePlates).toHaveLength(2);
      expect(scan.metadata.declarations.every((d) => /^\d\d[A-Z]{2}[A-Z0-9]{14}$/.test(d))).toBe(true);
      expect(scan.metadata.riskScore).toBeGreaterThanOrEqual(0);
      expect(scan.metadata.riskScore).toBeLessThanOrEqual(1);
      expect(scan.scanner.vendor).not.toBe('');
    }
    expect(generateScan({ seed: 10, kind: 'truck', width: 64, height: 32 }).metadata.containers).toEqual([]);
  });
});
