import type { Material } from './materials.js';
import type { ViewRaster } from './view-raster.js';

/**
 * The synthetic world, in millimetres: x along the vehicle (0 = front of the scanned area), y across it,
 * z up from the road. A view is a parallel projection: `side` integrates along y (image x = world x, image up =
 * world z), `top` integrates along z (image x = world x, image down = world y).
 */
export type ViewName = 'side' | 'top';

export interface Box {
  kind: 'box';
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  z0: number;
  z1: number;
  material: Material;
  /** Corrugated sheet: the path length varies along x by ±amplitude (relative) with this period (mm). */
  ripple?: { period: number; amplitude: number };
}

/** A (possibly hollow) cylinder: `axis` is its long axis; (u, v) its centre in the two other axes, in x, y, z order. */
export interface Cylinder {
  kind: 'cylinder';
  axis: 'x' | 'y' | 'z';
  u: number;
  v: number;
  radius: number;
  innerRadius: number;
  from: number;
  to: number;
  material: Material;
}

export type Primitive = Box | Cylinder;

export interface SceneSize {
  /** Length (x), width (y) and height (z) of the scanned volume in mm. */
  length: number;
  width: number;
  height: number;
}

export interface Bounds3 {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  z0: number;
  z1: number;
}

export function box(x0: number, x1: number, y0: number, y1: number, z0: number, z1: number, mat: Material, ripple?: Box['ripple']): Box {
  return { kind: 'box', x0, x1, y0, y1, z0, z1, material: mat, ripple };
}

export function cylinder(
  axis: Cylinder['axis'],
  u: number,
  v: number,
  radius: number,
  innerRadius: number,
  from: number,
  to: number,
  mat: Material,
): Cylinder {
  return { kind: 'cylinder', axis, u, v, radius, innerRadius, from, to, material: mat };
}

export function boundsOf(p: Primitive): Bounds3 {
  if (p.kind === 'box') return p;
  const r = p.radius;
  if (p.axis === 'x') return { x0: p.from, x1: p.to, y0: p.u - r, y1: p.u + r, z0: p.v - r, z1: p.v + r };
  if (p.axis === 'y') return { x0: p.u - r, x1: p.u + r, y0: p.from, y1: p.to, z0: p.v - r, z1: p.v + r };
  return { x0: p.u - r, x1: p.u + r, y0: p.v - r, y1: p.v + r, z0: p.from, z1: p.to };
}

/** Chord length in cm of a hollow circle at distance d (mm) from its centre. */
function chordCm(d: number, radius: number, inner: number): number {
  const dd = d * d;
  const outer = dd < radius * radius ? 2 * Math.sqrt(radius * radius - dd) : 0;
  const hole = inner > 0 && dd < inner * inner ? 2 * Math.sqrt(inner * inner - dd) : 0;
  return (outer - hole) / 10;
}

function triangle(x: number, period: number): number {
  const t = (x / period) % 1;
  return Math.abs(2 * t - 1) * 2 - 1;
}

export class Projection {
  /** Pixels per mm along the image x and y axes. */
  readonly sx: number;
  readonly sy: number;

  constructor(
    readonly view: ViewName,
    readonly size: SceneSize,
    width: number,
    height: number,
  ) {
    this.sx = width / size.length;
    this.sy = height / (view === 'side' ? size.height : size.width);
  }

  /** Pixel spacing in mm. */
  get spacing(): { x: number; y: number } {
    return { x: 1 / this.sx, y: 1 / this.sy };
  }

  /** The image rectangle covered by a world box, in (float) pixels. */
  rect(b: Bounds3): { x0: number; x1: number; y0: number; y1: number } {
    if (this.view === 'side') {
      return { x0: b.x0 * this.sx, x1: b.x1 * this.sx, y0: (this.size.height - b.z1) * this.sy, y1: (this.size.height - b.z0) * this.sy };
    }
    return { x0: b.x0 * this.sx, x1: b.x1 * this.sx, y0: b.y0 * this.sy, y1: b.y1 * this.sy };
  }

  /** World coordinate (mm) across the image rows: z for side, y for top. */
  private rowWorld(row: number): number {
    return this.view === 'side' ? this.size.height - row / this.sy : row / this.sy;
  }

  draw(p: Primitive, raster: ViewRaster): void {
    const m = p.material;
    if (p.kind === 'box') {
      const r = this.rect(p);
      const depthCm = (this.view === 'side' ? p.y1 - p.y0 : p.z1 - p.z0) / 10;
      const ripple = p.ripple;
      const sx = this.sx;
      const profile = ripple
        ? (c: number) => depthCm * (1 + ripple.amplitude * triangle(c / sx, ripple.period))
        : undefined;
      raster.addRect(r.x0, r.x1, r.y0, r.y1, m.muHigh * (profile ? 1 : depthCm), m.muLow * (profile ? 1 : depthCm), profile);
      return;
    }
    const { radius, innerRadius: inner, u, v, from, to } = p;
    const r = this.rect(boundsOf(p));
    const sx = this.sx;
    const alongX = (c: number) => chordCm(c / sx - u, radius, inner);
    const acrossRows = (centre: number) => (row: number) => chordCm(this.rowWorld(row) - centre, radius, inner);
    if (p.axis === 'x') {
      // Seen from either view as a band along x whose path length varies across the rows.
      raster.addRect(r.x0, r.x1, r.y0, r.y1, m.muHigh, m.muLow, undefined, acrossRows(this.view === 'side' ? v : u));
      return;
    }
    const discView = (p.axis === 'y' && this.view === 'side') || (p.axis === 'z' && this.view === 'top');
    if (discView) {
      const cy = this.view === 'side' ? (this.size.height - v) * this.sy : v * this.sy;
      raster.addDisc(u * sx, cy, radius * sx, radius * this.sy, inner / radius, (to - from) / 10, m.muHigh, m.muLow);
      return;
    }
    raster.addRect(r.x0, r.x1, r.y0, r.y1, m.muHigh, m.muLow, alongX);
  }
}
