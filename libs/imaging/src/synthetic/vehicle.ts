import {
  ALUMINIUM,
  CAST_IRON,
  DIESEL,
  FOAM,
  GLASS,
  LEAD,
  PLYWOOD,
  RUBBER,
  STEEL,
  material,
  withDensity,
  type Material,
} from './materials.js';
import type { Prng } from './prng.js';
import { box, cylinder, type Bounds3, type Primitive } from './scene.js';

/** Centre line of the vehicle across the scanned volume (mm). */
export const CENTRE_Y = 1500;

const steel = (fraction: number): Material => withDensity(STEEL, STEEL.density * fraction);

/** A tyre with its rim, hub and brake drum, seen as a disc from the side. */
function wheel(out: Primitive[], x: number, radius: number, y0: number, y1: number): void {
  const tread = material('tyre tread', 'organic', 1.3);
  out.push(cylinder('y', x, radius, radius, radius - 36, y0, y1, tread));
  // The two sidewalls: ~15 mm of rubber each across the beam.
  out.push(cylinder('y', x, radius, radius - 36, 290, y0, y0 + 15, RUBBER));
  out.push(cylinder('y', x, radius, radius - 36, 290, y1 - 15, y1, RUBBER));
  // Rim barrel, rim disc, hub, brake drum.
  out.push(cylinder('y', x, radius, 290, 283, y0, y1, STEEL));
  out.push(cylinder('y', x, radius, 283, 150, y0 + (y1 - y0) / 2 - 6, y0 + (y1 - y0) / 2 + 6, STEEL));
  out.push(cylinder('y', x, radius, 150, 0, y0, y1, steel(0.35)));
  out.push(cylinder('y', x, radius, 215, 200, y0 + 20, y1 - 20, CAST_IRON));
}

/** An axle across the vehicle with single (super single) or twin tyres on each end. */
function axle(out: Primitive[], x: number, radius: number, twin: boolean, halfTrack = 1300): void {
  const tyreWidth = twin ? 290 : 385;
  const left = CENTRE_Y - halfTrack;
  const right = CENTRE_Y + halfTrack;
  wheel(out, x, radius, left - tyreWidth / 2, left + tyreWidth / 2);
  wheel(out, x, radius, right - tyreWidth / 2, right + tyreWidth / 2);
  if (twin) {
    wheel(out, x, radius, left + tyreWidth / 2 + 10, left + (3 * tyreWidth) / 2 + 10);
    wheel(out, x, radius, right - (3 * tyreWidth) / 2 - 10, right - tyreWidth / 2 - 10);
  }
  out.push(cylinder('y', x, radius, 70, 58, left, right, STEEL));
}

/** Two I-beams along x with cross-members: the chassis of a trailer, its top at `deck`. */
function trailerChassis(out: Primitive[], x0: number, x1: number, deck: number, rng: Prng): void {
  for (const yc of [CENTRE_Y - 450, CENTRE_Y + 450]) {
    out.push(box(x0, x1, yc - 4, yc + 4, deck - 450, deck - 15, STEEL));
    out.push(box(x0, x1, yc - 70, yc + 70, deck - 15, deck, STEEL));
    out.push(box(x0, x1, yc - 70, yc + 70, deck - 465, deck - 450, STEEL));
  }
  for (let x = x0 + 400; x < x1 - 200; x += 1100 + rng.int(-50, 50)) {
    out.push(box(x, x + 8, CENTRE_Y - 446, CENTRE_Y + 446, deck - 350, deck - 60, STEEL));
    out.push(box(x - 36, x + 44, CENTRE_Y - 446, CENTRE_Y + 446, deck - 70, deck - 60, STEEL));
  }
  // Landing gear, kingpin, rear under-run bar.
  const leg = x0 + 2400;
  for (const yc of [CENTRE_Y - 900, CENTRE_Y + 900]) {
    out.push(box(leg, leg + 110, yc - 55, yc + 55, 360, deck - 450, steel(0.2)));
    out.push(box(leg - 60, leg + 170, yc - 100, yc + 100, 300, 360, steel(0.4)));
  }
  out.push(box(leg + 40, leg + 70, CENTRE_Y - 900, CENTRE_Y + 900, 700, 760, steel(0.3)));
  out.push(cylinder('z', x0 + 900, CENTRE_Y, 45, 0, deck - 540, deck - 450, STEEL));
  out.push(box(x1 - 320, x1 - 220, CENTRE_Y - 1200, CENTRE_Y + 1200, 430, 560, steel(0.2)));
  for (let k = 0; k < 3; k++) axle(out, x1 - 1700 - k * 1310, 536, false);
}

export interface Interior extends Bounds3 {
  /** Where the load space begins and ends, and the container number when it is an ISO container. */
  label: string;
}

/** An ISO container of given length (6058 or 12192 mm) standing on `deck`; returns its load space. */
export function isoContainer(out: Primitive[], x0: number, length: number, deck: number, height: number, label: string): Interior {
  const x1 = x0 + length;
  const y0 = CENTRE_Y - 1219;
  const y1 = CENTRE_Y + 1219;
  const zt = deck + height;
  const corrugated = { period: 278, amplitude: 0.35 };
  // Bottom and top side rails, corrugated side walls, roof.
  out.push(box(x0, x1, y0, y0 + 12, deck, deck + 160, STEEL), box(x0, x1, y1 - 12, y1, deck, deck + 160, STEEL));
  out.push(box(x0, x1, y0, y0 + 10, zt - 100, zt, STEEL), box(x0, x1, y1 - 10, y1, zt - 100, zt, STEEL));
  out.push(box(x0, x1, y0, y0 + 2, deck + 160, zt - 100, STEEL, corrugated));
  out.push(box(x0, x1, y1 - 2, y1, deck + 160, zt - 100, STEEL, corrugated));
  out.push(box(x0, x1, y0, y1, zt - 22, zt - 2, steel(0.1), { period: 230, amplitude: 0.2 }));
  // Floor: cross-members every ~300 mm, plywood on top.
  for (let x = x0 + 150; x < x1 - 150; x += 298) {
    out.push(box(x, x + 4.5, y0, y1, deck, deck + 122, STEEL));
    out.push(box(x - 20, x + 25, y0, y1, deck, deck + 4.5, STEEL));
    out.push(box(x - 20, x + 25, y0, y1, deck + 117.5, deck + 122, STEEL));
  }
  out.push(box(x0, x1, y0 + 12, y1 - 12, deck + 122, deck + 150, PLYWOOD));
  // Corrugated front wall, corner posts, door end with header, sill and locking bars, corner castings.
  out.push(box(x0, x0 + 36, y0, y1, deck + 160, zt - 100, steel(0.07)));
  for (const [px0, px1] of [
    [x0, x0 + 150],
    [x1 - 150, x1],
  ]) {
    out.push(box(px0, px1, y0, y0 + 110, deck, zt, steel(0.15)), box(px0, px1, y1 - 110, y1, deck, zt, steel(0.15)));
  }
  out.push(box(x1 - 60, x1 - 20, y0, y1, deck + 150, zt - 150, steel(0.05)));
  out.push(box(x1 - 200, x1, y0, y1, zt - 150, zt, steel(0.18)), box(x1 - 200, x1, y0, y1, deck, deck + 150, steel(0.25)));
  for (const yc of [y0 + 300, y0 + 900, y1 - 900, y1 - 300]) {
    out.push(cylinder('z', x1 - 10, yc, 14, 10, deck + 60, zt - 60, STEEL));
  }
  for (const cx of [x0, x1 - 178]) {
    for (const cy of [y0, y1 - 162]) {
      out.push(box(cx, cx + 178, cy, cy + 162, deck, deck + 118, steel(0.45)));
      out.push(box(cx, cx + 178, cy, cy + 162, zt - 118, zt, steel(0.45)));
    }
  }
  return { x0: x0 + 45, x1: x1 - 80, y0: y0 + 25, y1: y1 - 25, z0: deck + 150, z1: zt - 30, label };
}

/** Container(s) on a skeletal trailer, the tractor outside the scanned area. Returns the load spaces. */
export function containerVehicle(out: Primitive[], rng: Prng, numbers: string[]): Interior[] {
  const deck = 1250;
  trailerChassis(out, 600, 13100, deck, rng);
  const height = rng.chance(0.6) ? 2896 : 2591;
  if (numbers.length === 2) {
    return [
      isoContainer(out, 800, 6058, deck, height, numbers[0]),
      isoContainer(out, 800 + 6058 + 76, 6058, deck, height, numbers[1]),
    ];
  }
  return [isoContainer(out, 800, 12192, deck, height, numbers[0])];
}

/** Tractor unit with cab and engine, pulling a box semi-trailer. Returns the trailer's load space. */
export function truckVehicle(out: Primitive[], rng: Prng): Interior[] {
  // Tractor frame.
  for (const yc of [CENTRE_Y - 430, CENTRE_Y + 430]) {
    out.push(box(300, 6300, yc - 4, yc + 4, 950, 1250, STEEL));
    out.push(box(300, 6300, yc - 45, yc + 45, 1240, 1250, STEEL), box(300, 6300, yc - 45, yc + 45, 950, 960, STEEL));
  }
  // Cab shell: side walls with windows, roof, front with grille, back wall, floor.
  for (const [a, b] of [
    [250, 251.5],
    [2748.5, 2750],
  ]) {
    out.push(box(300, 2500, a, b, 1400, 2650, STEEL), box(800, 2500, a, b, 2650, 3500, GLASS));
    out.push(box(300, 800, a, b, 2650, 3800, STEEL), box(800, 2500, a, b, 3500, 3800, STEEL));
  }
  out.push(box(300, 2500, 250, 2750, 3800, 3850, steel(0.05)));
  out.push(box(300, 360, 250, 2750, 1150, 2650, steel(0.03)), box(330, 360, 300, 2700, 2650, 3500, GLASS));
  out.push(box(2440, 2500, 250, 2750, 1400, 3800, steel(0.03)), box(300, 2500, 250, 2750, 1400, 1450, steel(0.04)));
  // Seats, bunk, dashboard, steering column.
  for (const yc of [850, 2150]) {
    out.push(box(1300, 1900, yc - 250, yc + 250, 1700, 2150, FOAM), box(1700, 1900, yc - 250, yc + 250, 2150, 2900, FOAM));
    out.push(box(1350, 1850, yc - 150, yc + 150, 1450, 1700, steel(0.02)));
  }
  out.push(box(1950, 2430, 300, 2700, 1900, 2050, FOAM));
  out.push(box(400, 850, 350, 2650, 2300, 2700, material('dashboard', 'organic', 0.25)));
  out.push(cylinder('x', 850, 2700, 20, 0, 700, 1150, STEEL));
  // Engine: block with six bores, head, crankshaft, oil pan; gearbox; radiator; drive shaft.
  const block = withDensity(CAST_IRON, 2.6);
  out.push(box(500, 1500, 1150, 1850, 900, 1600, block));
  for (let k = 0; k < 6; k++) out.push(cylinder('z', 580 + k * 150, CENTRE_Y, 64, 0, 1150, 1600, withDensity(block, -2.6)));
  out.push(box(500, 1500, 1200, 1800, 1600, 1800, withDensity(ALUMINIUM, 1.2)));
  out.push(cylinder('x', CENTRE_Y, 1000, 45, 0, 480, 1520, STEEL), box(520, 1480, 1200, 1800, 800, 900, steel(0.08)));
  out.push(cylinder('x', CENTRE_Y, 1150, 260, 250, 1500, 1650, ALUMINIUM));
  out.push(box(1650, 2300, 1300, 1700, 900, 1250, withDensity(ALUMINIUM, 0.8)), box(1750, 2200, 1400, 1600, 950, 1200, steel(0.3)));
  out.push(box(300, 380, 600, 2400, 1200, 2100, withDensity(ALUMINIUM, 0.5)));
  out.push(cylinder('x', CENTRE_Y, 900, 50, 44, 2300, 4900, STEEL));
  // Fuel tank (aluminium shell, diesel), batteries, fifth wheel, exhaust stack.
  out.push(cylinder('x', 560, 850, 300, 296, 2700, 3900, ALUMINIUM), cylinder('x', 560, 850, 296, 0, 2700, 3900, DIESEL));
  out.push(box(4000, 4500, 250, 750, 700, 1000, withDensity(LEAD, 2.2)));
  out.push(box(4800, 5800, 600, 2400, 1250, 1300, steel(0.5)));
  out.push(cylinder('z', 2600, 2600, 65, 62, 1300, 3900, STEEL));
  // Front steering axle, drive axle with differential.
  axle(out, 1300, 538, false, 1250);
  axle(out, 5100, 510, true, 1100);
  out.push(box(4950, 5250, 1250, 1750, 350, 650, withDensity(CAST_IRON, 3)));
  // Box semi-trailer: chassis, floor, aluminium walls with steel posts, roof bows, front wall, rear doors.
  const t0 = 4300;
  const t1 = 17800;
  const deck = 1330;
  const top = 4000;
  trailerChassis(out, t0, t1, deck - 30, rng);
  out.push(box(t0, t1, 260, 2740, deck - 30, deck, PLYWOOD));
  out.push(box(t0, t1, 258, 260, deck, top, ALUMINIUM), box(t0, t1, 2740, 2742, deck, top, ALUMINIUM));
  for (let x = t0 + 600; x < t1 - 300; x += 1200) {
    out.push(box(x, x + 60, 260, 300, deck, top, steel(0.2)), box(x, x + 60, 2700, 2740, deck, top, steel(0.2)));
  }
  out.push(box(t0, t1, 258, 2742, top, top + 2, ALUMINIUM));
  for (let x = t0 + 300; x < t1; x += 600) out.push(box(x, x + 40, 258, 2742, top - 50, top, steel(0.06)));
  out.push(box(t0, t0 + 40, 258, 2742, deck, top, withDensity(ALUMINIUM, 0.3)));
  out.push(box(t1 - 60, t1, 258, 2742, deck, top, withDensity(ALUMINIUM, 0.12)));
  for (const yc of [500, 1100, 1900, 2500]) out.push(cylinder('z', t1 - 20, yc, 14, 10, deck + 50, top - 50, STEEL));
  return [{ x0: t0 + 50, x1: t1 - 80, y0: 310, y1: 2690, z0: deck, z1: top - 60, label: 'trailer' }];
}
