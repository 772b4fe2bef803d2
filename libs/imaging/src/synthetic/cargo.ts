import {
  ALUMINIUM,
  COPPER,
  GLASS,
  CERAMIC,
  LEAD,
  STEEL,
  WOOD,
  material,
  withDensity,
  type Material,
  type MaterialClass,
} from './materials.js';
import type { Prng } from './prng.js';
import { box, cylinder, type Bounds3, type Primitive } from './scene.js';
import type { Interior } from './vehicle.js';

export interface CargoObject extends Bounds3 {
  material: MaterialClass;
  label: string;
  concealed: boolean;
}

export interface Cargo {
  primitives: Primitive[];
  objects: CargoObject[];
  /** Declared goods, as a shipper would describe them. */
  goods: string[];
}

type SectionKind = 'boxes' | 'drums' | 'machinery' | 'parts' | 'profiles' | 'bottles' | 'tiles';

const ORGANIC_GOODS = ['textiles', 'paper products', 'furniture', 'footwear', 'toys', 'foodstuffs', 'tea', 'cotton yarn'];
const LIQUIDS = ['lubricating oil', 'vegetable oil', 'cleaning agents', 'fruit concentrate'];

const PALLET = withDensity(WOOD, 0.3);
// Carton walls and packing spread over the carton's volume.
const CARDBOARD = material('cardboard', 'organic', 0.012);

function palletPositions(space: Interior): number[] {
  // Two 1000 mm wide pallets side by side across a 2.35 m wide load space.
  const free = space.y1 - space.y0 - 2000;
  return [space.y0 + free / 3, space.y0 + (2 * free) / 3 + 1000];
}

class CargoBuilder {
  readonly primitives: Primitive[] = [];
  readonly objects: CargoObject[] = [];
  readonly goods: string[] = [];

  constructor(private readonly rng: Prng) {}

  add(...p: Primitive[]): void {
    this.primitives.push(...p);
  }

  object(bounds: Bounds3, mat: MaterialClass, label: string): void {
    const { x0, x1, y0, y1, z0, z1 } = bounds;
    this.objects.push({ x0, x1, y0, y1, z0, z1, material: mat, label, concealed: false });
  }

  /** Pallets of cartons (organic), glass bottles (mixed), boxes of steel parts (metal) or tiles (mixed). */
  stacks(space: Interior, x0: number, length: number, goods: Material, label: string, maxHeight: number): void {
    const rng = this.rng;
    const pallets = Math.max(1, Math.floor(length / 1220));
    const height = Math.min(maxHeight, space.z1 - space.z0 - 160);
    for (let p = 0; p < pallets; p++) {
      const px = x0 + p * 1220;
      for (const py of palletPositions(space)) {
        this.add(box(px, px + 1200, py, py + 1000, space.z0, space.z0 + 144, PALLET));
        const stackTop = space.z0 + 144 + height * rng.range(0.8, 1);
        const nx = rng.int(2, 4);
        const nz = Math.max(1, Math.round((stackTop - space.z0 - 144) / rng.range(280, 500)));
        const w = 1200 / nx;
        const h = (stackTop - space.z0 - 144) / nz;
        for (let i = 0; i < nx; i++) {
          for (let k = 0; k < nz; k++) {
            const bx = px + i * w;
            const bz = space.z0 + 144 + k * h;
            const density = goods.density * rng.range(0.85, 1.15);
            this.add(box(bx + 6, bx + w - 6, py + 6, py + 994, bz + 6, bz + h - 6, withDensity(goods, density)));
            this.add(box(bx + 1, bx + w - 1, py + 1, py + 999, bz + 1, bz + h - 1, CARDBOARD));
          }
        }
      }
      this.object(
        { x0: px, x1: px + 1200, y0: space.y0, y1: space.y1, z0: space.z0 + 144, z1: space.z0 + 144 + height * 0.8 },
        goods.materialClass,
        label,
      );
    }
  }

  drums(space: Interior, x0: number, length: number, label: string): void {
    const rng = this.rng;
    const liquid = material(label, 'organic', rng.range(0.85, 1.05));
    const tiers = space.z1 - space.z0 > 2200 && rng.chance(0.5) ? 2 : 1;
    const pallets = Math.max(1, Math.floor(length / 1220));
    for (let p = 0; p < pallets; p++) {
      const px = x0 + p * 1220;
      for (let tier = 0; tier < tiers; tier++) {
        const z0 = space.z0 + tier * 1040;
        // One row of pallets along the centre line: four drums across would stop the beam.
        const py = (space.y0 + space.y1) / 2 - 500;
        {
          this.add(box(px, px + 1200, py, py + 1000, z0, z0 + 144, PALLET));
          for (const dx of [300, 900]) {
            for (const dy of [250, 750]) {
              const cx = px + dx;
              const cy = py + dy;
              const zb = z0 + 144;
              const fill = rng.range(0.8, 0.95);
              this.add(cylinder('z', cx, cy, 292, 290.8, zb, zb + 880, STEEL));
              this.add(cylinder('z', cx, cy, 292, 0, zb, zb + 1.2, STEEL), cylinder('z', cx, cy, 292, 0, zb + 878.8, zb + 880, STEEL));
              this.add(cylinder('z', cx, cy, 290.8, 0, zb + 1.2, zb + 1.2 + 877 * fill, liquid));
            }
          }
        }
        this.object({ x0: px + 50, x1: px + 1150, y0: py, y1: py + 1000, z0: z0 + 200, z1: z0 + 144 + 700 }, 'organic', `drums of ${label}`);
      }
    }
  }

  /** A crated machine: base plate, a hollow cast housing, an electric motor. */
  machinery(space: Interior, x0: number, length: number): void {
    const rng = this.rng;
    const y0 = space.y0 + 200;
    const y1 = space.y1 - 200;
    const depth = y1 - y0;
    const height = Math.min(space.z1 - space.z0 - 100, rng.range(1400, 2000));
    const crate = withDensity(WOOD, (WOOD.density * 50) / depth);
    this.add(box(x0, x0 + length, y0, y1, space.z0, space.z0 + height, crate));
    const base = space.z0 + 120;
    this.add(box(x0 + 100, x0 + length - 100, y0 + 100, y1 - 100, base, base + 40, STEEL));
    const hx0 = x0 + 200;
    const hx1 = x0 + length * 0.55;
    const wall = rng.range(25, 40);
    const hz1 = base + 40 + height * 0.7;
    this.add(box(hx0, hx1, y0 + 300, y1 - 300, base + 40, hz1, STEEL));
    this.add(box(hx0 + wall, hx1 - wall, y0 + 300 + wall, y1 - 300 - wall, base + 40 + wall, hz1 - wall, withDensity(STEEL, -STEEL.density)));
    this.object({ x0: hx0 + 60, x1: hx1 - 60, y0: y0 + 300, y1: y1 - 300, z0: base + 100, z1: hz1 - 60 }, 'metal', 'machine housing');
    const mx0 = hx1 + 150;
    const mx1 = x0 + length - 200;
    const r = Math.min(350, (height - 200) / 2);
    const cz = base + 40 + r + 30;
    this.add(cylinder('x', (y0 + y1) / 2, cz, r, r - 12, mx0, mx1, STEEL));
    this.add(cylinder('x', (y0 + y1) / 2, cz, r * 0.6, r * 0.15, mx0 + 80, mx1 - 80, withDensity(COPPER, 2.5)));
    this.add(cylinder('x', (y0 + y1) / 2, cz, r * 0.15, 0, mx0 - 100, mx1 + 80, STEEL));
    this.object({ x0: mx0 + 100, x1: mx1 - 100, y0: y0, y1: y1, z0: cz - r * 0.5, z1: cz + r * 0.5 }, 'metal', 'electric motor');
  }

  /** Bundles of aluminium profiles lying along the vehicle on timber bearers. */
  profiles(space: Interior, x0: number, length: number): void {
    const rng = this.rng;
    const layers = rng.int(2, 4);
    const layer = 280;
    for (let k = 0; k < layers; k++) {
      const z0 = space.z0 + 80 + k * (layer + 80);
      for (const [a, b] of [
        [space.y0 + 50, space.y0 + 1100],
        [space.y1 - 1100, space.y1 - 50],
      ]) {
        this.add(box(x0, x0 + length, a, b, z0, z0 + layer, withDensity(ALUMINIUM, rng.range(0.2, 0.3))));
      }
      for (let x = x0 + 300; x < x0 + length - 100; x += 1500) this.add(box(x, x + 80, space.y0 + 50, space.y1 - 50, z0 - 80, z0, WOOD));
    }
    this.object(
      { x0: x0 + 100, x1: x0 + length - 100, y0: space.y0, y1: space.y1, z0: space.z0 + 80, z1: space.z0 + 80 + layers * (layer + 80) - 80 },
      'mixed',
      'aluminium profiles',
    );
  }
}

const SECTION_LENGTHS: Record<SectionKind, [number, number]> = {
  boxes: [2, 5],
  drums: [1, 3],
  machinery: [2, 3],
  parts: [1, 3],
  profiles: [3, 5],
  bottles: [1, 3],
  tiles: [1, 3],
};

/** Fills load spaces with sections of cargo, then hides `concealed` dense objects among them. */
export function loadCargo(spaces: Interior[], rng: Prng, concealed: number): Cargo {
  const b = new CargoBuilder(rng);
  const kinds: SectionKind[] = ['boxes', 'boxes', 'boxes', 'drums', 'machinery', 'parts', 'profiles', 'bottles', 'tiles'];
  const hosts: CargoObject[] = [];
  for (const space of spaces) {
    let x = space.x0 + rng.range(0, 200);
    const end = space.x1 - (rng.chance(0.3) ? rng.range(500, 2500) : 0);
    while (x < end - 1300) {
      const kind = rng.pick(kinds);
      const [minUnits, maxUnits] = SECTION_LENGTHS[kind];
      const units = Math.min(rng.int(minUnits, maxUnits), Math.floor((end - x) / 1220));
      if (units < 1) break;
      const length = units * 1220;
      const before = b.objects.length;
      switch (kind) {
        case 'boxes': {
          const label = rng.pick(ORGANIC_GOODS);
          b.stacks(space, x, length, material(label, 'organic', rng.range(0.15, 0.4)), label, rng.range(1500, 2300));
          b.goods.push(label);
          break;
        }
        case 'drums': {
          const label = rng.pick(LIQUIDS);
          b.drums(space, x, length, label);
          b.goods.push(label);
          break;
        }
        case 'machinery':
          b.machinery(space, x, length - 100);
          b.goods.push('industrial machinery');
          break;
        case 'parts':
          b.stacks(space, x, length, withDensity(STEEL, rng.range(0.15, 0.25)), 'steel auto parts', rng.range(900, 1400));
          b.goods.push('auto parts');
          break;
        case 'profiles':
          b.profiles(space, x, length);
          b.goods.push('aluminium profiles');
          break;
        case 'bottles':
          b.stacks(space, x, length, withDensity(GLASS, rng.range(0.2, 0.3)), 'glass bottles', rng.range(1200, 1800));
          b.goods.push('glassware');
          break;
        case 'tiles':
          b.stacks(space, x, length, withDensity(CERAMIC, rng.range(0.3, 0.4)), 'ceramic tiles', rng.range(600, 900));
          b.goods.push('ceramic tiles');
          break;
      }
      for (const o of b.objects.slice(before)) if (o.material !== 'metal') hosts.push(o);
      x += length + rng.range(0, 300);
    }
  }
  for (let k = 0; k < concealed; k++) hide(b, rng, hosts, spaces[0]);
  return { primitives: b.primitives, objects: b.objects, goods: [...new Set(b.goods)] };
}

const HIDDEN: { label: string; material: MaterialClass; make: () => Material; size: [number, number, number] }[] = [
  { label: 'compressed packages', material: 'organic', make: () => material('packages', 'organic', 1.2), size: [400, 350, 300] },
  { label: 'cigarette cartons', material: 'organic', make: () => material('cigarettes', 'organic', 0.7), size: [600, 500, 400] },
  { label: 'firearms', material: 'metal', make: () => withDensity(STEEL, 1.6), size: [700, 300, 200] },
  { label: 'shielded container', material: 'metal', make: () => withDensity(LEAD, 3), size: [300, 300, 300] },
];

/** Puts a dense object inside a non-metal load (or, without any, against the front wall of the first space). */
function hide(b: CargoBuilder, rng: Prng, hosts: CargoObject[], fallback: Interior): void {
  const kind = rng.pick(HIDDEN);
  const [sx, sy, sz] = kind.size;
  const host: Bounds3 = hosts.length > 0 ? rng.pick(hosts) : { ...fallback, x1: Math.min(fallback.x1, fallback.x0 + 1500) };
  const x0 = host.x0 + rng.range(0, Math.max(0, host.x1 - host.x0 - sx));
  const y0 = host.y0 + rng.range(0, Math.max(0, host.y1 - host.y0 - sy));
  const z0 = host.z0 + rng.range(0, Math.max(0, host.z1 - host.z0 - sz));
  const bounds = { x0, x1: x0 + sx, y0, y1: y0 + sy, z0, z1: z0 + sz };
  b.add(box(bounds.x0, bounds.x1, bounds.y0, bounds.y1, bounds.z0, bounds.z1, kind.make()));
  b.objects.push({ ...bounds, material: kind.material, label: kind.label, concealed: true });
}
