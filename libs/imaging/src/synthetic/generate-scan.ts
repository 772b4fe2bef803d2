import { loadCargo } from './cargo.js';
import { acquisitionTime, containerNumber, declarationReference, licencePlate, SCANNERS } from './metadata.js';
import { Prng } from './prng.js';
import { Projection, type Primitive, type SceneSize, type ViewName } from './scene.js';
import { containerVehicle, truckVehicle } from './vehicle.js';
import { readOut, ViewRaster, type DetectorModel } from './view-raster.js';

export interface SyntheticOptions {
  seed: number;
  kind: 'container' | 'truck';
  width?: number;
  height?: number;
  views?: ('top' | 'side')[];
  dualEnergy?: boolean;
  concealed?: number;
}

export interface SyntheticObject {
  view: string;
  x: number;
  y: number;
  width: number;
  height: number;
  material: 'organic' | 'mixed' | 'metal';
  label: string;
  concealed: boolean;
}

export interface SyntheticView {
  id: string;
  width: number;
  height: number;
  pixelSpacingMm: { x: number; y: number };
  airValue: number;
  planes: { energy: 'high' | 'low' | 'single'; data: Uint16Array }[];
}

export interface SyntheticScan {
  seed: number;
  kind: 'container' | 'truck';
  scanner: { vendor: string; model: string; software: string };
  acquiredAt: string;
  views: SyntheticView[];
  objects: SyntheticObject[];
  metadata: { containers: string[]; licencePlates: string[]; declarations: string[]; declaredGoods: string; riskScore: number };
}

const SCENES: Record<SyntheticOptions['kind'], SceneSize> = {
  container: { length: 14_000, width: 3_000, height: 4_600 },
  truck: { length: 18_500, width: 3_000, height: 4_600 },
};

const DETECTOR: DetectorModel = { airValue: 60_000, darkValue: 40, gain: 1.5, readNoise: 6, rowGainSpread: 0.002 };

/**
 * A deterministic synthetic cargo scan: a container on a skeletal trailer, or a tractor with a box semi-trailer,
 * loaded with pallets, drums, machinery, metal parts and bulk goods, optionally with concealed dense objects.
 * Each view is a parallel projection of the same 3-D scene through a Beer–Lambert model at a 6 MV (high) and
 * 4 MV (low) energy (see materials.ts), read out with detector noise. Same options → byte-identical planes.
 */
export function generateScan(options: SyntheticOptions): SyntheticScan {
  const width = options.width ?? 8000;
  const height = options.height ?? 2500;
  const viewNames: ViewName[] = options.views ?? ['side'];
  const dualEnergy = options.dualEnergy ?? true;
  const concealed = options.concealed ?? 0;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16) {
    throw new RangeError(`invalid synthetic scan size ${width} x ${height}`);
  }
  const root = new Prng(options.seed);
  const metaRng = root.fork(1);
  const sceneRng = root.fork(2);
  const cargoRng = root.fork(3);
  const noiseRng = root.fork(4);

  const scanner = { ...metaRng.pick(SCANNERS) };
  const { iso: acquiredAt, year } = acquisitionTime(metaRng);
  const containers =
    options.kind === 'container' ? (metaRng.chance(0.3) ? [containerNumber(metaRng), containerNumber(metaRng)] : [containerNumber(metaRng)]) : [];
  const licencePlates = [licencePlate(metaRng), licencePlate(metaRng, true)];
  const declarations = Array.from({ length: metaRng.int(1, 2) }, () => declarationReference(metaRng, year));

  const primitives: Primitive[] = [];
  const spaces = options.kind === 'container' ? containerVehicle(primitives, sceneRng, containers) : truckVehicle(primitives, sceneRng);
  const cargo = loadCargo(spaces, cargoRng, concealed);
  primitives.push(...cargo.primitives);

  const size = SCENES[options.kind];
  const views: SyntheticView[] = [];
  const objects: SyntheticObject[] = [];
  for (const name of viewNames) {
    const projection = new Projection(name, size, width, height);
    const raster = new ViewRaster(width, height);
    for (const p of primitives) projection.draw(p, raster);
    const viewRng = noiseRng.fork(name === 'side' ? 1 : 2);
    const planes: SyntheticView['planes'] = dualEnergy
      ? [
          { energy: 'high', data: readOut(raster.attHigh, width, height, DETECTOR, viewRng) },
          { energy: 'low', data: readOut(raster.attLow, width, height, DETECTOR, viewRng) },
        ]
      : [{ energy: 'single', data: readOut(raster.attHigh, width, height, DETECTOR, viewRng) }];
    views.push({ id: name, width, height, pixelSpacingMm: projection.spacing, airValue: DETECTOR.airValue, planes });
    for (const o of cargo.objects) {
      const r = projection.rect(o);
      const x = Math.max(0, Math.round(r.x0));
      const y = Math.max(0, Math.round(r.y0));
      const w = Math.min(width, Math.round(r.x1)) - x;
      const h = Math.min(height, Math.round(r.y1)) - y;
      if (w <= 0 || h <= 0) continue;
      objects.push({ view: name, x, y, width: w, height: h, material: o.material, label: o.label, concealed: o.concealed });
    }
  }

  const riskScore = Math.round(Math.min(1, metaRng.range(0.05, 0.6) + (concealed > 0 ? metaRng.range(0.1, 0.4) : 0)) * 100) / 100;
  return {
    seed: options.seed,
    kind: options.kind,
    scanner,
    acquiredAt,
    views,
    objects,
    metadata: { containers, licencePlates, declarations, declaredGoods: cargo.goods.join(', '), riskScore },
  };
}
