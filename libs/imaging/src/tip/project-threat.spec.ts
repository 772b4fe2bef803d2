import { classifyColour, materialMap, MATERIAL_RATIO_THRESHOLDS, type MaterialColourClass } from '../material-map.js';
import { generateScan } from '../synthetic/generate-scan.js';
import { starterThreatItems, type StarterThreatItem } from '../synthetic/threat-items.js';
import {
  MAX_PLACEMENT_TRIES,
  PLACEMENT_TRANSMISSION_RANGE,
  placeItem,
  projectThreat,
  randomPlacement,
  type DualEnergyView,
  type PlacedItem,
  type Placement,
} from './project-threat.js';
import { ThreatItemError, type ThreatItemImage } from './threat-item.js';

const AIR = 60000;

function median(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[sorted.length >> 1];
}

function classOf(ratio: number): 'organic' | 'mixed' | 'metal' {
  return ratio >= MATERIAL_RATIO_THRESHOLDS.organic ? 'organic' : ratio >= MATERIAL_RATIO_THRESHOLDS.mixed ? 'mixed' : 'metal';
}

/** A view of constant values (transmission tHigh/tLow everywhere). */
function uniformView(width: number, height: number, tHigh: number, tLow: number, pixelSpacingMm: number, airValue = AIR): DualEnergyView {
  return {
    high: { width, height, data: new Uint16Array(width * height).fill(Math.round(airValue * tHigh)) },
    low: { width, height, data: new Uint16Array(width * height).fill(Math.round(airValue * tLow)) },
    airValue,
    pixelSpacingMm,
  };
}

/** A small synthetic container scan (800 x 250, 17.5 mm pixels) as a dual-energy view. */
function syntheticView(seed: number): DualEnergyView {
  const [view] = generateScan({ seed, kind: 'container', width: 800, height: 250 }).views;
  const plane = (energy: string) => {
    const found = view.planes.find((p) => p.energy === energy);
    if (!found) throw new Error(`no ${energy} plane`);
    return { width: view.width, height: view.height, data: found.data };
  };
  return { high: plane('high'), low: plane('low'), airValue: view.airValue, pixelSpacingMm: view.pixelSpacingMm.x };
}

/**
 * The acceptance check of a projection, pixel by pixel over the WHOLE view: inside the placed mask out equals
 * round(background · t) on both energies, everywhere else out equals the background exactly. Returns the number of
 * pixels that were changed by the item, so a test can also see the check was not vacuous.
 */
function expectPhysicallyConsistent(
  background: DualEnergyView,
  out: { high: { data: Uint16Array }; low: { data: Uint16Array } },
  placement: Placement,
  tHigh: (k: number) => number,
  tLow: (k: number) => number,
  placed: Pick<PlacedItem, 'width' | 'height' | 'mask'>,
): number {
  const { width: W, height: H } = background.high;
  let inside = 0;
  let wrong = 0;
  const firstWrong: string[] = [];
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const i = r * W + c;
      const px = c - placement.x;
      const py = r - placement.y;
      const inMask = px >= 0 && py >= 0 && px < placed.width && py < placed.height && placed.mask[py * placed.width + px] === 1;
      let expectHigh = background.high.data[i];
      let expectLow = background.low.data[i];
      if (inMask) {
        const k = py * placed.width + px;
        expectHigh = Math.min(65535, Math.round(background.high.data[i] * tHigh(k)));
        expectLow = Math.min(65535, Math.round(background.low.data[i] * tLow(k)));
        inside++;
      }
      if (out.high.data[i] !== expectHigh || out.low.data[i] !== expectLow) {
        wrong++;
        if (firstWrong.length < 5) firstWrong.push(`(${c},${r}) got ${out.high.data[i]}/${out.low.data[i]} want ${expectHigh}/${expectLow}`);
      }
    }
  }
  expect(firstWrong).toEqual([]);
  expect(wrong).toBe(0);
  return inside;
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (const m of mask) n += m;
  return n;
}

let starters: StarterThreatItem[];
const starter = (key: string): ThreatItemImage => {
  const found = starters.find((s) => s.key === key);
  if (!found) throw new Error(`no starter item ${key}`);
  return found.image;
};

beforeAll(() => {
  starters = starterThreatItems();
});

describe('projectThreat: physical consistency in a synthetic scan', () => {
  let view: DualEnergyView;
  let highBefore: Uint16Array;
  let lowBefore: Uint16Array;

  beforeAll(() => {
    view = syntheticView(11);
    highBefore = view.high.data.slice();
    lowBefore = view.low.data.slice();
  });

  afterEach(() => {
    // The input planes are never modified.
    expect(Buffer.from(view.high.data.buffer).equals(Buffer.from(highBefore.buffer))).toBe(true);
    expect(Buffer.from(view.low.data.buffer).equals(Buffer.from(lowBefore.buffer))).toBe(true);
  });

  it('at scale 1, rotation 0: out = round(bg · value/air) inside the mask on both energies, bg exactly elsewhere', () => {
    // The pistol at the view's own pixel spacing, so that the scale factor is exactly 1.
    const item = { ...starter('pistol'), pixelSpacingMm: view.pixelSpacingMm };
    const placement = { x: 300, y: 80, scale: 1, rotationDeg: 0 };
    const out = projectThreat(view, item, placement);
    expect(out.high.data).not.toBe(view.high.data);
    expect(out.low.data).not.toBe(view.low.data);
    expect([out.high.width, out.high.height, out.low.width, out.low.height]).toEqual([800, 250, 800, 250]);

    // The placed item is the item itself: same box, same mask, t = value / air exactly as Float32.
    expect([out.placed.width, out.placed.height]).toEqual([item.width, item.height]);
    expect(Array.from(out.placed.mask)).toEqual(Array.from(item.mask));
    for (let k = 0; k < item.mask.length; k++) {
      const wantHigh = item.mask[k] ? Math.fround(item.high[k] / item.airValue) : 1;
      const wantLow = item.mask[k] ? Math.fround(item.low[k] / item.airValue) : 1;
      if (out.placed.tHigh[k] !== wantHigh || out.placed.tLow[k] !== wantLow) throw new Error(`placed transmission differs at ${k}`);
    }

    // Independent of `placed`: the expected values come from the item's own planes.
    const tHigh = (k: number) => Math.fround(item.high[k] / item.airValue);
    const tLow = (k: number) => Math.fround(item.low[k] / item.airValue);
    const changed = expectPhysicallyConsistent(view, out, placement, tHigh, tLow, item);
    expect(changed).toBe(count(item.mask));
    expect(out.region).toEqual(maskBounds(item.mask, item.width, item.height, placement.x, placement.y, 800, 250));
  });

  it('at scale 1.3, rotation 37°: out = round(bg · placed t) inside the placed mask, bg exactly elsewhere', () => {
    const item = { ...starter('pistol'), pixelSpacingMm: view.pixelSpacingMm };
    const placement = { x: 300, y: 20, scale: 1.3, rotationDeg: 37 };
    const out = projectThreat(view, item, placement);
    const { placed } = out;
    const rad = (37 * Math.PI) / 180;
    expect(placed.width).toBe(Math.ceil(1.3 * (item.width * Math.cos(rad) + item.height * Math.sin(rad))));
    expect(placed.height).toBe(Math.ceil(1.3 * (item.width * Math.sin(rad) + item.height * Math.cos(rad))));
    const changed = expectPhysicallyConsistent(view, out, placement, (k) => placed.tHigh[k], (k) => placed.tLow[k], placed);
    // The whole placed item lies inside the view: every mask pixel was projected.
    expect(placement.y + placed.height).toBeLessThanOrEqual(250);
    expect(changed).toBe(count(placed.mask));
    expect(changed).toBeGreaterThan(5000);
  });

  it('resamples consistently: area and total attenuation grow with the square of the scale, t stays in (0, 1]', () => {
    const item = starter('rifle-parts');
    const total = (t: Float32Array, mask: Uint8Array) => {
      let sum = 0;
      for (let k = 0; k < t.length; k++) if (mask[k]) sum -= Math.log(t[k]);
      return sum;
    };
    const original = placeItem(item, { scale: 1, rotationDeg: 0, targetPixelSpacingMm: item.pixelSpacingMm });
    const placed = placeItem(item, { scale: 1.3, rotationDeg: 37, targetPixelSpacingMm: item.pixelSpacingMm });
    const area = 1.3 * 1.3;
    expect(count(placed.mask) / count(original.mask)).toBeGreaterThan(area * 0.95);
    expect(count(placed.mask) / count(original.mask)).toBeLessThan(area * 1.05);
    for (const energy of ['tHigh', 'tLow'] as const) {
      const ratio = total(placed[energy], placed.mask) / total(original[energy], original.mask);
      expect(ratio).toBeGreaterThan(area * 0.95);
      expect(ratio).toBeLessThan(area * 1.05);
    }
    for (let k = 0; k < placed.mask.length; k++) {
      const ok = placed.mask[k] ? placed.tHigh[k] > 0 && placed.tHigh[k] <= 1 && placed.tLow[k] > 0 && placed.tLow[k] <= 1 : placed.tHigh[k] === 1 && placed.tLow[k] === 1;
      if (!ok) throw new Error(`placed transmission out of range at ${k}: ${placed.tHigh[k]} ${placed.tLow[k]}`);
    }
  });

  it('scales by scale · item spacing / view spacing and keeps thin parts when reducing strongly', () => {
    const item = starter('pistol'); // 1.75 mm pixels into the 17.5 mm view: a tenth of the size
    const placed = placeItem(item, { scale: 1, rotationDeg: 0, targetPixelSpacingMm: view.pixelSpacingMm });
    expect(placed.width).toBe(Math.ceil(item.width / 10));
    expect(placed.height).toBe(Math.ceil(item.height / 10));
    // Transmission is averaged over each view pixel, so the total attenuation-area is roughly conserved
    // (-ln of a mean is below the mean of -ln, hence the lower bound only).
    let before = 0;
    for (let k = 0; k < item.mask.length; k++) if (item.mask[k]) before += 1 - item.high[k] / item.airValue;
    let after = 0;
    for (let k = 0; k < placed.mask.length; k++) after += 1 - placed.tHigh[k];
    expect(after * 100).toBeGreaterThan(before * 0.9);
    expect(after * 100).toBeLessThan(before * 1.1);
    const half = placeItem(item, { scale: 0.5, rotationDeg: 0, targetPixelSpacingMm: item.pixelSpacingMm });
    expect([half.width, half.height]).toEqual([Math.ceil(item.width / 2), Math.ceil(item.height / 2)]);
  });

  it('turns a quarter turn exactly: no blur, the box swaps sides', () => {
    const item = starter('pistol');
    const placed = placeItem(item, { scale: 1, rotationDeg: 90, targetPixelSpacingMm: item.pixelSpacingMm });
    expect([placed.width, placed.height]).toEqual([item.height, item.width]);
    // Clockwise as displayed: the item's top-left pixel lands at the top-right.
    for (let y = 0; y < item.height; y++) {
      for (let x = 0; x < item.width; x++) {
        const k = x * placed.width + (placed.width - 1 - y);
        const j = y * item.width + x;
        expect(placed.mask[k]).toBe(item.mask[j]);
        if (item.mask[j]) expect(placed.tHigh[k]).toBe(Math.fround(item.high[j] / item.airValue));
      }
    }
  });
});

function maskBounds(mask: Uint8Array, w: number, h: number, x: number, y: number, W: number, H: number) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const c = x + i;
      const r = y + j;
      if (!mask[j * w + i] || c < 0 || r < 0 || c >= W || r >= H) continue;
      minX = Math.min(minX, c);
      maxX = Math.max(maxX, c);
      minY = Math.min(minY, r);
      maxY = Math.max(maxY, r);
    }
  }
  return { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

describe('projectThreat: attenuation adds (Beer–Lambert)', () => {
  it.each([
    ['drug-blocks', 0],
    ['pistol', 0],
    ['hidden-compartment', 23],
  ])('over a uniform background, −ln(out/air) = −ln(bg/air) − ln t on both energies (%s, %d°)', (key, rotationDeg) => {
    const bgHigh = 0.3;
    const bgLow = 0.22;
    const view = uniformView(420, 420, bgHigh, bgLow, 1.75);
    const out = projectThreat(view, starter(key), { x: 20, y: 30, scale: 1, rotationDeg });
    const { placed } = out;
    const B = [view.high.data[0], view.low.data[0]];
    let checked = 0;
    let worst = 0;
    for (let py = 0; py < placed.height; py++) {
      for (let px = 0; px < placed.width; px++) {
        const k = py * placed.width + px;
        if (!placed.mask[k]) continue;
        const i = (30 + py) * 420 + (20 + px);
        const pairs: [number, number, number][] = [
          [out.high.data[i], B[0], placed.tHigh[k]],
          [out.low.data[i], B[1], placed.tLow[k]],
        ];
        for (const [value, bg, t] of pairs) {
          const measured = -Math.log(value / AIR);
          const expected = -Math.log(bg / AIR) - Math.log(t);
          // out = round(bg·t): the only error is the rounding, at most 0.5 count, i.e. 0.5/out in ln.
          const tolerance = 0.5 / (value - 0.5) + 1e-9;
          worst = Math.max(worst, Math.abs(measured - expected) / tolerance);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('projectThreat: material colouring', () => {
  const expected: Record<string, 'organic' | 'mixed' | 'metal'> = {
    pistol: 'metal',
    'rifle-parts': 'metal',
    'drug-blocks': 'organic',
    'cigarette-cartons': 'organic',
    'cash-bundles': 'organic',
    // Steel walls with organic goods inside: the goods read as the attenuation-weighted mean, mixed.
    'hidden-compartment': 'mixed',
  };

  const MID_GREY = new Uint8Array(65536).fill(128);

  /** Ratios R = ln(air/low)/ln(air/high) and material-map classes of the projected pixels under the placed mask. */
  function classify(view: DualEnergyView, out: ReturnType<typeof projectThreat>, placement: Placement) {
    const { placed } = out;
    const W = view.high.width;
    // Mid-grey brightness everywhere: the class colours at full saturation, so classifyColour reads the class even
    // for faint items that the display would show almost white.
    const rgb = materialMap(out.high.data, out.low.data, view.airValue, MID_GREY);
    const ratios: number[] = [];
    const classes: Record<MaterialColourClass, number> = { none: 0, organic: 0, mixed: 0, metal: 0 };
    for (let py = 0; py < placed.height; py++) {
      for (let px = 0; px < placed.width; px++) {
        if (!placed.mask[py * placed.width + px]) continue;
        const i = (placement.y + py) * W + placement.x + px;
        const ah = Math.log(view.airValue / out.high.data[i]);
        const al = Math.log(view.airValue / out.low.data[i]);
        if (ah > 0.02) ratios.push(al / ah);
        classes[classifyColour(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2])]++;
      }
    }
    return { ratio: median(ratios), classes, total: ratios.length };
  }

  it('has an expectation for every starter item', () => {
    expect(Object.keys(expected).sort()).toEqual(starters.map((s) => s.key).sort());
  });

  it.each(Object.entries(expected))('%s projected over air reads as %s', (key, cls) => {
    const view = uniformView(420, 420, 1, 1, 1.75);
    const placement = { x: 10, y: 10, scale: 1, rotationDeg: 0 };
    const out = projectThreat(view, starter(key), placement);
    const { ratio, classes } = classify(view, out, placement);
    expect(classOf(ratio)).toBe(cls);
    // The material map itself colours most of the item in the expected class.
    const coloured = classes.organic + classes.mixed + classes.metal;
    expect(coloured).toBeGreaterThan(0.8 * (coloured + classes.none));
    const winner = (['organic', 'mixed', 'metal'] as const).reduce((a, b) => (classes[b] > classes[a] ? b : a));
    expect(winner).toBe(cls);
    if (key === 'hidden-compartment') {
      // ...while its steel walls, seen alone, are metal.
      expect(classes.metal).toBeGreaterThan(0.15 * coloured);
    }
  });

  it.each(['pistol', 'rifle-parts'])('%s over organic cargo shifts the region from organic toward metal', (key) => {
    // Organic cargo: ln(air/high) = 0.8, R = 1.30.
    const view = uniformView(420, 420, Math.exp(-0.8), Math.exp(-0.8 * 1.3), 1.75);
    const placement = { x: 40, y: 60, scale: 1, rotationDeg: 15 };
    const before = classify(view, { ...projectThreat(view, starter(key), placement), high: view.high, low: view.low }, placement);
    const after = classify(view, projectThreat(view, starter(key), placement), placement);
    expect(classOf(before.ratio)).toBe('organic');
    expect(before.ratio).toBeCloseTo(1.3, 2);
    // Attenuation-weighted mean of cargo (1.30) and steel (1.06): clearly lower, not yet all the way to metal.
    expect(after.ratio).toBeLessThan(before.ratio - 0.04);
    expect(after.ratio).toBeGreaterThan(1.06);
    expect(after.classes.organic).toBeLessThan(before.classes.organic);
    expect(after.classes.mixed + after.classes.metal).toBeGreaterThan(before.classes.mixed + before.classes.metal);
  });
});

describe('projectThreat: image borders', () => {
  const view = uniformView(200, 150, 0.4, 0.3, 1.75);

  it.each([
    ['the left and bottom edges', -50, 100],
    ['the right and top edges', 150, -40],
    ['the right and bottom edges (a corner of the item only)', 150, 110],
  ])('clips at %s and reports the clipped region', (_label, x, y) => {
    const item = starter('pistol');
    const placement = { x, y, scale: 1, rotationDeg: 0 };
    const out = projectThreat(view, item, placement);
    const { region, placed } = out;
    expect(region).toEqual(maskBounds(placed.mask, placed.width, placed.height, x, y, 200, 150));
    expect(region.x).toBeGreaterThanOrEqual(0);
    expect(region.y).toBeGreaterThanOrEqual(0);
    expect(region.x + region.width).toBeLessThanOrEqual(200);
    expect(region.y + region.height).toBeLessThanOrEqual(150);
    const changed = expectPhysicallyConsistent(view, out, placement, (k) => placed.tHigh[k], (k) => placed.tLow[k], placed);
    expect(changed).toBeGreaterThan(0);
    // Every changed pixel lies inside the region, and the region is tight (touched on all four sides).
    let minX = Infinity;
    let maxX = -1;
    let minY = Infinity;
    let maxY = -1;
    for (let i = 0; i < out.high.data.length; i++) {
      if (out.high.data[i] === view.high.data[i] && out.low.data[i] === view.low.data[i]) continue;
      const c = i % 200;
      const r = Math.floor(i / 200);
      minX = Math.min(minX, c);
      maxX = Math.max(maxX, c);
      minY = Math.min(minY, r);
      maxY = Math.max(maxY, r);
    }
    expect(minX).toBeGreaterThanOrEqual(region.x);
    expect(maxX).toBeLessThan(region.x + region.width);
    expect(minY).toBeGreaterThanOrEqual(region.y);
    expect(maxY).toBeLessThan(region.y + region.height);
  });

  it.each([
    ['right of the view', 200, 0],
    ['left of the view', -133, 0],
    ['below the view', 0, 150],
    ['above the view', 0, -96],
    ['far away', 5000, -5000],
  ])('throws ThreatItemError when the item lies entirely %s', (_label, x, y) => {
    const item = starter('pistol');
    expect([item.width, item.height]).toEqual([133, 96]);
    expect(() => projectThreat(view, item, { x, y, scale: 1, rotationDeg: 0 })).toThrow(ThreatItemError);
    expect(() => projectThreat(view, item, { x, y, scale: 1, rotationDeg: 0 })).toThrow(/does not overlap the 200 x 150 view/);
  });

  it('throws when only empty parts of the box overlap, and accepts a single pixel of overlap', () => {
    // A 10 x 10 item whose object is only its right-most column.
    const mask = new Uint8Array(100);
    for (let y = 0; y < 10; y++) mask[y * 10 + 9] = 1;
    const item: ThreatItemImage = {
      width: 10,
      height: 10,
      high: new Uint16Array(100).fill(30000),
      low: new Uint16Array(100).fill(25000),
      airValue: AIR,
      mask,
      pixelSpacingMm: 1.75,
    };
    expect(() => projectThreat(view, item, { x: -9, y: 0, scale: 1, rotationDeg: 0 })).not.toThrow();
    expect(projectThreat(view, item, { x: -9, y: 145, scale: 1, rotationDeg: 0 }).region).toEqual({ x: 0, y: 145, width: 1, height: 5 });
    expect(() => projectThreat(view, item, { x: -9, y: 0, scale: 1, rotationDeg: 180 })).toThrow(ThreatItemError);
    expect(() => projectThreat(view, item, { x: 191, y: 0, scale: 1, rotationDeg: 180 })).not.toThrow();
  });

  it('rejects placements it cannot honour with readable ThreatItemErrors', () => {
    const item = starter('pistol');
    expect(() => projectThreat(view, item, { x: 1.5, y: 0, scale: 1, rotationDeg: 0 })).toThrow(/whole pixel positions/);
    expect(() => projectThreat(view, item, { x: 0, y: 0, scale: 0, rotationDeg: 0 })).toThrow(/scale.*positive/);
    expect(() => projectThreat(view, item, { x: 0, y: 0, scale: 1, rotationDeg: Number.NaN })).toThrow(/rotation/);
    expect(() => projectThreat({ ...view, pixelSpacingMm: 0 }, item, { x: 0, y: 0, scale: 1, rotationDeg: 0 })).toThrow(/pixel spacing of the view/);
    const badView = { ...view, low: { width: 100, height: 150, data: new Uint16Array(15000) } };
    expect(() => projectThreat(badView, item, { x: 0, y: 0, scale: 1, rotationDeg: 0 })).toThrow(ThreatItemError);
    expect(() => projectThreat(view, { ...item, mask: new Uint8Array(item.mask.length) }, { x: 0, y: 0, scale: 1, rotationDeg: 0 })).toThrow(/empty/);
  });
});

describe('randomPlacement', () => {
  /** Left 40 % air, the rest cargo at transmission 0.3: the only acceptable places are in the cargo. */
  function halfLoaded(): DualEnergyView {
    const view = uniformView(640, 400, 0.3, 0.25, 1.75);
    for (let r = 0; r < 400; r++) {
      for (let c = 0; c < 256; c++) {
        view.high.data[r * 640 + c] = AIR;
        view.low.data[r * 640 + c] = AIR;
      }
    }
    return view;
  }

  function boxOf(view: DualEnergyView, item: ThreatItemImage, p: Placement) {
    return placeItem(item, { scale: p.scale, rotationDeg: p.rotationDeg, targetPixelSpacingMm: view.pixelSpacingMm });
  }

  /** Median transmission of ALL pixels under the box (the implementation samples; this does not). */
  function medianUnder(view: DualEnergyView, x: number, y: number, w: number, h: number): number {
    const values: number[] = [];
    for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) values.push(view.high.data[r * view.high.width + c] / view.airValue);
    return median(values);
  }

  it('is deterministic per seed and differs between seeds', () => {
    const view = halfLoaded();
    const item = starter('pistol');
    const a = randomPlacement(view, item, 42);
    expect(randomPlacement(view, item, 42)).toEqual(a);
    const others = [1, 2, 3, 4, 5].map((seed) => randomPlacement(view, item, seed));
    expect(new Set(others.map((p) => `${p.x},${p.y},${p.scale},${p.rotationDeg}`)).size).toBe(5);
  });

  it('draws scale in [0.9, 1.1] and rotation in [0, 360) unless fixed, and keeps fixed values', () => {
    const view = halfLoaded();
    const item = starter('drug-blocks');
    const rotations: number[] = [];
    for (let seed = 0; seed < 40; seed++) {
      const p = randomPlacement(view, item, seed);
      expect(p.scale).toBeGreaterThanOrEqual(0.9);
      expect(p.scale).toBeLessThan(1.1);
      expect(p.rotationDeg).toBeGreaterThanOrEqual(0);
      expect(p.rotationDeg).toBeLessThan(360);
      rotations.push(p.rotationDeg);
    }
    expect(Math.max(...rotations) - Math.min(...rotations)).toBeGreaterThan(180);
    const fixed = randomPlacement(view, item, 7, { scale: 1.25, rotationDeg: 0 });
    expect(fixed.scale).toBe(1.25);
    expect(fixed.rotationDeg).toBe(0);
    expect(randomPlacement(view, item, 7, { rotationDeg: 90 }).scale).toBe(randomPlacement(view, item, 7).scale);
  });

  it('puts the whole box inside the view, over cargo and not over air', () => {
    const view = halfLoaded();
    for (const key of ['pistol', 'drug-blocks', 'cash-bundles']) {
      for (let seed = 1; seed <= 15; seed++) {
        const item = starter(key);
        const p = randomPlacement(view, item, seed);
        const box = boxOf(view, item, p);
        expect(Number.isInteger(p.x) && Number.isInteger(p.y)).toBe(true);
        expect(p.x).toBeGreaterThanOrEqual(0);
        expect(p.y).toBeGreaterThanOrEqual(0);
        expect(p.x + box.width).toBeLessThanOrEqual(640);
        expect(p.y + box.height).toBeLessThanOrEqual(400);
        const m = medianUnder(view, p.x, p.y, box.width, box.height);
        expect(m).toBeGreaterThanOrEqual(PLACEMENT_TRANSMISSION_RANGE.min);
        expect(m).toBeLessThanOrEqual(PLACEMENT_TRANSMISSION_RANGE.max);
        expect(() => projectThreat(view, item, p)).not.toThrow();
      }
    }
  });

  it('finds the cargo in a synthetic scan', () => {
    const view = syntheticView(5);
    const item = starter('hidden-compartment');
    for (let seed = 1; seed <= 10; seed++) {
      const p = randomPlacement(view, item, seed);
      const box = boxOf(view, item, p);
      const m = medianUnder(view, p.x, p.y, box.width, box.height);
      expect(m).toBeGreaterThanOrEqual(PLACEMENT_TRANSMISSION_RANGE.min);
      expect(m).toBeLessThanOrEqual(PLACEMENT_TRANSMISSION_RANGE.max);
    }
  });

  it('falls back to the best candidate inside the view when there is no cargo, and centres an item larger than the view', () => {
    const air = uniformView(300, 200, 1, 1, 1.75);
    const item = starter('pistol');
    expect(MAX_PLACEMENT_TRIES).toBe(200);
    const p = randomPlacement(air, item, 3);
    expect(randomPlacement(air, item, 3)).toEqual(p);
    const box = boxOf(air, item, p);
    expect(p.x).toBeGreaterThanOrEqual(0);
    expect(p.x + box.width).toBeLessThanOrEqual(300);
    expect(p.y + box.height).toBeLessThanOrEqual(200);
    const tiny = uniformView(100, 300, 0.5, 0.4, 1.75);
    const wide = randomPlacement(tiny, item, 3, { scale: 1, rotationDeg: 0 });
    expect(wide.x).toBe(Math.floor((100 - 133) / 2));
    expect(() => projectThreat(tiny, item, wide)).not.toThrow();
  });
});
