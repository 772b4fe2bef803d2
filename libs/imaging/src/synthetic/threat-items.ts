import type { ThreatCategory } from '../../../exchange-format/src/verdict.js';
import type { ThreatItemImage } from '../tip/threat-item.js';
import { COPPER, STEEL, material, type Material } from './materials.js';
import { Prng } from './prng.js';
import { readOut, type DetectorModel } from './view-raster.js';

/**
 * The starter threat library: threat items made by the synthetic generator, so a fresh installation can run threat
 * image projection before anyone has acquired real items. They are modelled like the synthetic scans (same
 * materials, same Beer–Lambert model, same detector) so that, projected into a synthetic or a real scan, they
 * carry the right dual-energy signature: steel reads as metal, drugs and paper as organic.
 */
export interface StarterThreatItem {
  key: string;
  name: string;
  category: ThreatCategory;
  description: string;
  image: ThreatItemImage;
}

/**
 * Pixel spacing of the starter items: the x spacing of a default synthetic container scan (14 m of scene over
 * 8000 columns, see generate-scan.ts; its rows are 4.6 m / 2500 = 1.84 mm), so an item projected into such a
 * scan at scale 1 keeps its pixels one to one.
 */
export const STARTER_PIXEL_SPACING_MM = 1.75;
export const STARTER_AIR_VALUE = 60_000;

/**
 * The synthetic scanner's detector (generate-scan.ts) with a quarter of its variance: library items are acquired
 * with the average of four exposures, so they add a little noise, not a second scan's worth. No row gain spread:
 * the stripes of one scan should not be carried into another.
 */
const ITEM_DETECTOR: DetectorModel = { airValue: STARTER_AIR_VALUE, darkValue: 40, gain: 0.375, readNoise: 3, rowGainSpread: 0 };

/** Pixels whose noise-free high-energy attenuation exceeds this belong to the object (t < 0.999). */
const MASK_MIN_ATTENUATION = 0.001;
/** Sub-samples per pixel side: edges get fractional coverage, so thin walls and wrappings still show. */
const SUPERSAMPLE = 3;

// Shape paths run per sub-sample: module constants avoid a global `Math.x` lookup per call, which is slow inside a
// vm sandbox such as jest's.
const { abs, min, sqrt } = Math;

/** A shape: its extent in mm, and the path length (cm) of the beam through it at a point (mm). */
interface Shape {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  path: (x: number, y: number) => number;
}

/** Position and orientation of a part in the item, mm and degrees (clockwise as displayed, y down). */
interface Pose {
  x: number;
  y: number;
  angleDeg?: number;
}

/** Bounds of a w x h rectangle (mm) turned about its centre. */
function rotatedBounds(pose: Pose, halfW: number, halfH: number): Pick<Shape, 'x0' | 'y0' | 'x1' | 'y1'> {
  const a = ((pose.angleDeg ?? 0) * Math.PI) / 180;
  const ex = Math.abs(Math.cos(a)) * halfW + Math.abs(Math.sin(a)) * halfH;
  const ey = Math.abs(Math.sin(a)) * halfW + Math.abs(Math.cos(a)) * halfH;
  return { x0: pose.x - ex, x1: pose.x + ex, y0: pose.y - ey, y1: pose.y + ey };
}

/** Local coordinates (u along the part, v across) of a point, for a part at `pose`. */
function local(pose: Pose): (x: number, y: number) => [number, number] {
  const a = ((pose.angleDeg ?? 0) * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  return (x, y) => {
    const dx = x - pose.x;
    const dy = y - pose.y;
    return [c * dx + s * dy, -s * dx + c * dy];
  };
}

/**
 * A block w x h (mm, in the image plane) and `depth` mm along the beam whose edges are rounded with radius `edge`:
 * near an edge the beam crosses the rounding, so the path shrinks like a circle's chord. Pressed bricks, bundles
 * and machined steel all look thicker in the middle, as in a real X-ray.
 */
function block(pose: Pose, w: number, h: number, depth: number, edge = 0): Shape {
  const toLocal = local(pose);
  const r = Math.min(edge, depth / 2, w / 2, h / 2);
  return {
    ...rotatedBounds(pose, w / 2, h / 2),
    path: (x, y) => {
      const [u, v] = toLocal(x, y);
      const d = min(w / 2 - abs(u), h / 2 - abs(v));
      if (d <= 0) return 0;
      if (d >= r) return depth / 10;
      const e = r - d;
      return (depth - 2 * r + 2 * sqrt(r * r - e * e)) / 10;
    },
  };
}

/**
 * A cylinder lying in the image plane from (x0,y0) to (x1,y1), outer radius tapering from r0 to r1, with a bore:
 * the path is the chord of the hollow circle at the distance from the axis (a barrel, a bolt, a cartridge).
 */
function rod(x0: number, y0: number, x1: number, y1: number, r0: number, r1: number, bore = 0): Shape {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len = Math.hypot(dx, dy);
  const ux = dx / len;
  const uy = dy / len;
  const r = Math.max(r0, r1);
  return {
    x0: Math.min(x0, x1) - r,
    x1: Math.max(x0, x1) + r,
    y0: Math.min(y0, y1) - r,
    y1: Math.max(y0, y1) + r,
    path: (x, y) => {
      const along = (x - x0) * ux + (y - y0) * uy;
      if (along < 0 || along > len) return 0;
      const across = abs(-(x - x0) * uy + (y - y0) * ux);
      const radius = r0 + ((r1 - r0) * along) / len;
      if (across >= radius) return 0;
      const outer = 2 * sqrt(radius * radius - across * across);
      const hole = across < bore ? 2 * sqrt(bore * bore - across * across) : 0;
      return (outer - hole) / 10;
    },
  };
}

/** A sphere of radius r (mm): a knob. */
function sphere(cx: number, cy: number, r: number): Shape {
  return {
    x0: cx - r,
    x1: cx + r,
    y0: cy - r,
    y1: cy + r,
    path: (x, y) => {
      const dd = (x - cx) ** 2 + (y - cy) ** 2;
      return dd < r * r ? (2 * sqrt(r * r - dd)) / 10 : 0;
    },
  };
}

/** An elliptical band `band` mm wide and `depth` mm deep: a trigger guard. */
function ring(cx: number, cy: number, rx: number, ry: number, band: number, depth: number): Shape {
  return {
    x0: cx - rx,
    x1: cx + rx,
    y0: cy - ry,
    y1: cy + ry,
    path: (x, y) => {
      const outer = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      const inner = ((x - cx) / (rx - band)) ** 2 + ((y - cy) / (ry - band)) ** 2;
      return outer < 1 && inner >= 1 ? depth / 10 : 0;
    },
  };
}

/** Only the part of a shape inside an axis-aligned window (mm): a band around a bundle, the lower half of a ring. */
function clip(shape: Shape, x0: number, y0: number, x1: number, y1: number): Shape {
  return {
    x0: Math.max(shape.x0, x0),
    y0: Math.max(shape.y0, y0),
    x1: Math.min(shape.x1, x1),
    y1: Math.min(shape.y1, y1),
    path: (x, y) => (x >= x0 && x < x1 && y >= y0 && y < y1 ? shape.path(x, y) : 0),
  };
}

/**
 * Accumulates Σ μ·path per pixel at both energies, like ViewRaster for the scans, but for arbitrary shapes with
 * supersampled coverage; then reads the item out through the synthetic detector.
 */
class ItemCanvas {
  readonly width: number;
  readonly height: number;
  readonly attHigh: Float32Array;
  readonly attLow: Float32Array;

  constructor(
    widthMm: number,
    heightMm: number,
    readonly spacing = STARTER_PIXEL_SPACING_MM,
  ) {
    this.width = Math.ceil(widthMm / spacing);
    this.height = Math.ceil(heightMm / spacing);
    this.attHigh = new Float32Array(this.width * this.height);
    this.attLow = new Float32Array(this.width * this.height);
  }

  /**
   * Adds a shape of a material; `sign` −1 removes material (the cavity of a hollow part). The path is sampled at
   * the pixel corners first; only pixels whose corners and centre disagree (edges) are supersampled, which keeps
   * the whole starter set fast to build without losing thin walls.
   */
  add(mat: Material, shape: Shape, sign = 1): void {
    const s = this.spacing;
    const c0 = Math.max(0, Math.floor(shape.x0 / s));
    const c1 = Math.min(this.width, Math.ceil(shape.x1 / s));
    const r0 = Math.max(0, Math.floor(shape.y0 / s));
    const r1 = Math.min(this.height, Math.ceil(shape.y1 / s));
    if (c1 <= c0 || r1 <= r0) return;
    const cw = c1 - c0 + 1;
    const corners = new Float64Array(cw * (r1 - r0 + 1));
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) corners[(r - r0) * cw + (c - c0)] = shape.path(c * s, r * s);
    const n = SUPERSAMPLE * SUPERSAMPLE;
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const k0 = (r - r0) * cw + (c - c0);
        const a = corners[k0];
        let p: number;
        if (a === corners[k0 + 1] && a === corners[k0 + cw] && a === corners[k0 + cw + 1] && a === shape.path((c + 0.5) * s, (r + 0.5) * s)) {
          p = a;
        } else {
          let sum = 0;
          for (let j = 0; j < SUPERSAMPLE; j++) {
            const y = (r + (j + 0.5) / SUPERSAMPLE) * s;
            for (let i = 0; i < SUPERSAMPLE; i++) sum += shape.path((c + (i + 0.5) / SUPERSAMPLE) * s, y);
          }
          p = sum / n;
        }
        if (p === 0) continue;
        const k = r * this.width + c;
        this.attHigh[k] += sign * p * mat.muHigh;
        this.attLow[k] += sign * p * mat.muLow;
      }
    }
  }

  /**
   * A hollow block: walls `wall` mm thick all round, seen edge-on at the rim (long path) and face-on inside (2 walls).
   * The cavity's rounding is concentric with the outside (radius edge − wall), so the wall is equally thick
   * everywhere and the difference never goes negative.
   */
  addShell(mat: Material, pose: Pose, w: number, h: number, depth: number, wall: number, edge = 0): void {
    this.add(mat, block(pose, w, h, depth, edge));
    this.add(mat, block(pose, w - 2 * wall, h - 2 * wall, depth - 2 * wall, Math.max(0, edge - wall)), -1);
  }

  toItem(seed: number): ThreatItemImage {
    const { width, height } = this;
    const rng = new Prng(seed);
    const high = readOut(this.attHigh, width, height, ITEM_DETECTOR, rng);
    const low = readOut(this.attLow, width, height, ITEM_DETECTOR, rng);
    const mask = new Uint8Array(width * height);
    const air = ITEM_DETECTOR.airValue;
    for (let i = 0; i < mask.length; i++) {
      // A cavity larger than its part would be a modelling error; float rounding of part minus cavity is not.
      if (this.attHigh[i] < -1e-4 || this.attLow[i] < -1e-4) throw new Error(`the item model removes more material than it adds at pixel ${i}`);
      if (this.attHigh[i] < 0) this.attHigh[i] = 0;
      if (this.attLow[i] < 0) this.attLow[i] = 0;
      if (this.attHigh[i] > MASK_MIN_ATTENUATION) {
        mask[i] = 1;
        // An object only removes intensity: a noise spike above air at a thin edge is read as air.
        if (high[i] > air) high[i] = air;
        if (low[i] > air) low[i] = air;
      }
    }
    return { width, height, high, low, airValue: air, mask, pixelSpacingMm: this.spacing };
  }
}

// Brass cases and lead bullets: both metal to the material map, modelled as copper.
const CARTRIDGE = COPPER;
const DRUG = material('compressed powder', 'organic', 1.2);
const WRAPPING = material('plastic film and tape', 'organic', 0.95);
const TOBACCO = material('cigarettes in packs', 'organic', 0.22);
const CARTON = material('carton board', 'organic', 0.7);
const CORRUGATED = material('corrugated board', 'organic', 0.15);
const BANKNOTES = material('banknote paper', 'organic', 0.9);
const GOODS = material('wrapped goods', 'organic', 1.0);

/** A semi-automatic pistol seen from the side, muzzle right: hollow slide, barrel, frame, trigger guard, grip, loaded magazine. */
function pistol(): ThreatItemImage {
  const c = new ItemCanvas(232, 168);
  // Slide: a steel shell with the barrel and recoil spring inside, ejection port cut into the wall.
  c.addShell(STEEL, { x: 120, y: 30 }, 196, 32, 24, 4, 3);
  c.add(STEEL, block({ x: 150, y: 24 }, 40, 10, 4), -1); // ejection port: one wall cut away
  c.add(STEEL, rod(30, 28, 216, 28, 7, 7, 4.5));
  c.add(STEEL, rod(40, 40, 200, 40, 4, 4, 3.2));
  c.add(STEEL, block({ x: 208, y: 12 }, 6, 5, 5)); // front sight
  c.add(STEEL, block({ x: 30, y: 12 }, 8, 5, 14)); // rear sight
  // Frame rail under the slide, trigger guard, trigger, hammer.
  c.add(STEEL, block({ x: 110, y: 53 }, 150, 14, 20, 3));
  c.add(STEEL, clip(ring(108, 62, 24, 18, 4, 10), 0, 62, 232, 168));
  c.add(STEEL, block({ x: 102, y: 66 }, 5, 16, 6, 1.5));
  c.add(STEEL, block({ x: 24, y: 48 }, 10, 16, 10, 2));
  // Grip: steel front and back straps seen edge-on (the outline), thin side walls face-on, tilted back 18°.
  const grip = { x: 55, y: 105, angleDeg: 18 };
  c.addShell(STEEL, grip, 40, 92, 30, 3.5, 4);
  // Magazine inside the grip: a thin steel box with a column of cartridges (brass and lead, modelled as copper).
  c.addShell(STEEL, grip, 26, 86, 22, 1.2, 1);
  const a = (grip.angleDeg * Math.PI) / 180;
  for (let k = 0; k < 7; k++) {
    // Stacked along the magazine's axis, staggered left/right like a double stack.
    const along = -34 + k * 10.5;
    const across = k % 2 === 0 ? -2.5 : 2.5;
    const cx = grip.x + Math.cos(a) * across - Math.sin(a) * along;
    const cy = grip.y + Math.sin(a) * across + Math.cos(a) * along;
    c.add(CARTRIDGE, rod(cx - 10, cy, cx + 9, cy, 4.8, 4.5));
  }
  c.add(STEEL, block({ x: grip.x - Math.sin(a) * 47, y: grip.y + Math.cos(a) * 47, angleDeg: grip.angleDeg }, 34, 6, 26, 2)); // base plate
  return c.toItem(101);
}

/** A bolt-action rifle taken apart, as smuggled: barrel, receiver and bolt as separate steel pieces. */
function rifleParts(): ThreatItemImage {
  const c = new ItemCanvas(560, 190);
  // Barrel: tapering, with the bore, a muzzle crown and a front sight base.
  c.add(STEEL, rod(14, 34, 536, 30, 13, 9, 3.1));
  c.add(STEEL, rod(520, 30, 544, 30, 11, 11, 3.1));
  c.add(STEEL, block({ x: 500, y: 17 }, 16, 8, 12, 2));
  // Receiver: a machined steel shell with the magazine well and ejection port, slightly turned.
  const receiver = { x: 150, y: 112, angleDeg: -3 };
  c.addShell(STEEL, receiver, 230, 58, 32, 4, 5);
  c.add(STEEL, block({ x: 175, y: 104, angleDeg: -3 }, 70, 20, 4), -1); // ejection port: one wall cut away
  c.add(STEEL, block({ x: 120, y: 146, angleDeg: -3 }, 80, 14, 28, 3)); // magazine well
  c.add(STEEL, block({ x: 40, y: 120, angleDeg: -3 }, 24, 30, 20, 3)); // tang
  // Bolt: solid body with locking lugs, the handle and its knob.
  c.add(STEEL, rod(320, 96, 432, 112, 9, 9));
  c.add(STEEL, block({ x: 324, y: 96, angleDeg: 8 }, 10, 26, 14, 2));
  c.add(STEEL, rod(410, 108, 418, 150, 4, 3.5));
  c.add(STEEL, sphere(419, 156, 8));
  return c.toItem(102);
}

/** Five pressed bricks of a drug (~1.2 g/cm³) in plastic film and tape, stacked a little askew. */
function drugBlocks(): ThreatItemImage {
  const c = new ItemCanvas(300, 290);
  const rng = new Prng(203);
  for (let k = 0; k < 5; k++) {
    const pose = { x: 150 + rng.range(-8, 8), y: 33 + k * 56 + rng.range(-2, 2), angleDeg: rng.range(-2.5, 2.5) };
    // Pressed and wrapped bricks bulge: the rounding spans the whole 50 mm height, like a pillow.
    c.add(DRUG, block(pose, 250, 50, 150, 25));
    // Film and tape wrapped round the brick: a shell a millimetre thick, seen edge-on at the brick's outline.
    c.addShell(WRAPPING, pose, 254, 54, 154, 1.2, 27);
  }
  return c.toItem(103);
}

/** A master case of 50 cigarette cartons (10 packs each), low-density organic, in corrugated board. */
function cigaretteCartons(): ThreatItemImage {
  const c = new ItemCanvas(580, 480);
  const cx = 290;
  const cy = 240;
  // 2 x 5 cartons in the image plane, 5 deep along the beam: the cartons behind each other line up.
  const depth = 5 * 50;
  for (let row = 0; row < 5; row++) {
    for (let col = 0; col < 2; col++) {
      const x = cx - 135 + col * 272;
      const y = cy - 182 + row * 91;
      for (let p = 0; p < 5; p++) c.add(TOBACCO, block({ x: x - 108 + p * 54, y }, 53, 88, depth, 3));
      c.addShell(CARTON, { x, y }, 270, 90, depth, 0.5);
    }
  }
  c.addShell(CORRUGATED, { x: cx, y: cy }, 560, 466, depth + 10, 5, 2);
  return c.toItem(104);
}

/** Banded bundles of banknotes (paper ~0.9 g/cm³) in three piles, two bundles deep along the beam. */
function cashBundles(): ThreatItemImage {
  const c = new ItemCanvas(520, 170);
  const rng = new Prng(205);
  const depth = 2 * 66;
  for (let pile = 0; pile < 3; pile++) {
    for (let k = 0; k < 12; k++) {
      const pose = { x: pileX(pile) + rng.range(-1.5, 1.5), y: 160 - 6.5 - k * 12.4, angleDeg: rng.range(-1, 1) };
      c.add(BANKNOTES, block(pose, 156, 11.5, depth, 2));
      // The paper band round the middle: edge-on at the bundle's top and bottom, a darker tick on each bundle.
      const band = block(pose, 156, 12.3, depth, 0);
      const inner = block(pose, 156, 11.5, depth, 0);
      c.add(BANKNOTES, clip(band, pose.x - 15, 0, pose.x + 15, 170));
      c.add(BANKNOTES, clip(inner, pose.x - 15, 0, pose.x + 15, 170), -1);
    }
  }
  return c.toItem(105);
}

/** Centre x (mm) of a pile of bundles. */
function pileX(pile: number): number {
  return 92 + pile * 168;
}

/** A welded steel compartment (double wall) hiding wrapped organic packets: the steel dominates, the goods show as mixed. */
function hiddenCompartment(): ThreatItemImage {
  const c = new ItemCanvas(520, 340);
  const pose = { x: 260, y: 170 };
  c.addShell(STEEL, pose, 480, 300, 140, 4, 2);
  // A welded flange round the opening and a stiffener across the middle.
  c.add(STEEL, block(pose, 496, 316, 8));
  c.add(STEEL, block(pose, 480, 300, 8), -1);
  c.add(STEEL, block({ x: 260, y: 170 }, 480, 6, 10));
  const rng = new Prng(206);
  for (let row = 0; row < 2; row++) {
    for (let col = 0; col < 3; col++) {
      const p = { x: 105 + col * 155 + rng.range(-4, 4), y: 95 + row * 150 + rng.range(-3, 3), angleDeg: rng.range(-3, 3) };
      c.add(GOODS, block(p, 140, 125, 120, 14));
    }
  }
  return c.toItem(106);
}

/** The starter items with the function that models each one's image. */
const STARTERS: (Omit<StarterThreatItem, 'image'> & { image: () => ThreatItemImage })[] = [
  {
    key: 'pistol',
    name: 'Pistol',
    category: 'weapons',
    description: 'Semi-automatic pistol, all steel: slide with barrel, frame, grip outline and a loaded magazine.',
    image: pistol,
  },
  {
    key: 'rifle-parts',
    name: 'Rifle parts',
    category: 'weapons',
    description: 'A rifle taken apart: steel barrel, receiver and bolt as separate pieces.',
    image: rifleParts,
  },
  {
    key: 'drug-blocks',
    name: 'Drug blocks',
    category: 'narcotics',
    description: 'Five stacked bricks of compressed powder (about 1.2 g/cm³), wrapped in film and tape.',
    image: drugBlocks,
  },
  {
    key: 'cigarette-cartons',
    name: 'Cigarette cartons',
    category: 'tobacco',
    description: 'A master case of 50 cigarette cartons: low-density organic packs in corrugated board.',
    image: cigaretteCartons,
  },
  {
    key: 'cash-bundles',
    name: 'Cash bundles',
    category: 'currency',
    description: 'Banded bundles of banknotes (paper, about 0.9 g/cm³) in three piles.',
    image: cashBundles,
  },
  {
    key: 'hidden-compartment',
    name: 'Hidden compartment',
    category: 'concealment',
    description: 'A welded steel-walled compartment (double wall) with wrapped organic goods inside; the goods read as mixed through the steel.',
    image: hiddenCompartment,
  },
];

/** The keys of the starter set, known without modelling any image (a library that has them all needs no work). */
export const STARTER_THREAT_ITEM_KEYS: readonly string[] = STARTERS.map((starter) => starter.key);

let built: StarterThreatItem[] | null = null;

function build(): StarterThreatItem[] {
  return STARTERS.map((starter) => ({ ...starter, image: starter.image() }));
}

/**
 * The starter set made by the synthetic generator: deterministic (fixed seeds), physically modelled with
 * materials.ts (Beer–Lambert exp(−μ·thickness) on both beams), airValue 60000, the pixel spacing of a default
 * synthetic container scan, each side ≤ 400 px, with a little detector noise. Modelling takes a few hundred ms,
 * so the set is built once per process; each call returns fresh copies, so a caller may modify its own.
 */
export function starterThreatItems(): StarterThreatItem[] {
  built ??= build();
  return built.map((item) => ({
    ...item,
    image: { ...item.image, high: item.image.high.slice(), low: item.image.low.slice(), mask: item.image.mask.slice() },
  }));
}
