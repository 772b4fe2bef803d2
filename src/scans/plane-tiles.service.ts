import { Inject, Injectable } from '@nestjs/common';
import type { Energy } from '../../libs/exchange-format/src/manifest.js';
import { planePath } from '../../libs/exchange-format/src/package.js';
import {
  type PlanePyramid,
  type PlaneTileGeometry,
  buildPlanePyramid,
  hasPlaneTile,
  planeDzi,
  planeTile,
  planeTileGeometry,
} from '../../libs/imaging/src/plane-tiles.js';
import { decodePng16 } from '../../libs/imaging/src/raster.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Principal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { OBJECT_STORAGE, ObjectNotFoundError, type ObjectStorage } from '../storage/object-storage.js';
import { scanObjects } from './scan-objects.js';
import { ScansService } from './scans.service.js';

/**
 * Bytes of built 16-bit pyramids kept in memory per process (least recently used first out). A pyramid holds
 * about 4/3 of its plane: 53 MB for an 8000 x 2500 plane, so 512 MB keeps the planes of about 4-5 dual-energy
 * views. Transient on top of it: each decode in progress holds the plane PNG and the decoded plane.
 */
export const PLANE_PYRAMID_CACHE_BYTES = 512 * 1024 ** 2;

const TILE = /^(\d{1,9})_(\d{1,9})\.png$/;
const LEVEL = /^\d{1,2}$/;

/**
 * Built pyramids, least recently used first out, bounded by their total bytes; a pyramid being built is shared
 * by every request for it (one decode however many tiles are asked for at once). A failed build is not kept.
 */
export class PyramidCache {
  private readonly ready = new Map<string, PlanePyramid>();
  private readonly building = new Map<string, Promise<PlanePyramid>>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string, build: () => Promise<PlanePyramid>): Promise<PlanePyramid> {
    const hit = this.ready.get(key);
    if (hit) {
      this.ready.delete(key);
      this.ready.set(key, hit);
      return Promise.resolve(hit);
    }
    let pending = this.building.get(key);
    if (!pending) {
      pending = build()
        .then((pyramid) => {
          this.keep(key, pyramid);
          return pyramid;
        })
        .finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  get stats(): { entries: number; bytes: number; building: number } {
    return { entries: this.ready.size, bytes: this.bytes, building: this.building.size };
  }

  private keep(key: string, pyramid: PlanePyramid): void {
    if (pyramid.byteLength > this.maxBytes) return;
    for (const [oldest, evicted] of this.ready) {
      if (this.bytes + pyramid.byteLength <= this.maxBytes) break;
      this.ready.delete(oldest);
      this.bytes -= evicted.byteLength;
    }
    this.ready.set(key, pyramid);
    this.bytes += pyramid.byteLength;
  }
}

interface LocatedPlane {
  scanId: string;
  viewId: string;
  energy: Energy;
  geometry: PlaneTileGeometry;
}

/**
 * Lossless 16-bit Deep Zoom tiles of the exchange package's planes for the WebGL viewer (R = high byte,
 * G = low byte). Built on demand from the plane PNG and kept in memory; who may read what is ScansService's rule.
 */
@Injectable()
export class PlaneTilesService {
  private readonly cache = new PyramidCache(PLANE_PYRAMID_CACHE_BYTES);

  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly scans: ScansService,
    private readonly audit: AuditRepository,
  ) {}

  /** The Deep Zoom descriptor of a plane's 16-bit tiles; known from the manifest, nothing is decoded. */
  async dzi(principal: Principal, id: string, viewId: string, energy: string): Promise<string> {
    const plane = await this.locate(principal, id, viewId, energy);
    await this.audit.record({
      actorType: principal.kind,
      actorId: principal.id,
      action: 'scan.viewed',
      scanId: plane.scanId,
      detail: { what: `plane/${energy}/tiles.dzi`, view: viewId },
    });
    return planeDzi(plane.geometry);
  }

  /** One tile, `{col}_{row}.png` at a level; a tile the plane cannot have is 404 before anything is decoded. */
  async tile(principal: Principal, id: string, viewId: string, energy: string, level: string, name: string): Promise<Buffer> {
    const match = TILE.exec(name);
    if (!LEVEL.test(level) || !match) throw ApiError.notFound('tile_not_found', `no tile ${level}/${name}`);
    const plane = await this.locate(principal, id, viewId, energy);
    const [z, col, row] = [Number(level), Number(match[1]), Number(match[2])];
    if (!hasPlaneTile(plane.geometry, z, col, row)) {
      throw ApiError.notFound('tile_not_found', `no tile ${level}/${name} in the ${energy} plane of view ${viewId}`);
    }
    const pyramid = await this.cache.get(`${plane.scanId}/${viewId}/${energy}`, () => this.build(plane));
    return planeTile(pyramid, z, col, row);
  }

  /** The plane of a scan this principal may read (ScansService.readablePlane), with its tile geometry. */
  private async locate(principal: Principal, id: string, viewId: string, energy: string): Promise<LocatedPlane> {
    const { scan, view, plane } = await this.scans.readablePlane(principal, id, viewId, energy);
    return { scanId: scan.id, viewId: view.id, energy: plane.energy, geometry: planeTileGeometry(view.width, view.height) };
  }

  private async build(plane: LocatedPlane): Promise<PlanePyramid> {
    let png: Buffer;
    try {
      png = await this.storage.get(scanObjects.packagePart(plane.scanId, planePath(plane.viewId, plane.energy)));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw ApiError.notFound('image_not_found', `the ${plane.energy} plane of view ${plane.viewId} does not exist`);
      throw error;
    }
    const decoded = await decodePng16(png);
    const { width, height } = plane.geometry;
    if (decoded.width !== width || decoded.height !== height) {
      throw new Error(`the ${plane.energy} plane of scan ${plane.scanId} view ${plane.viewId} is ${decoded.width} x ${decoded.height}, its manifest says ${width} x ${height}`);
    }
    return buildPlanePyramid(decoded);
  }
}
