import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { originalPartPath, writeBundle } from '../../libs/exchange-format/src/bundle.js';
import { ENERGIES, type Manifest, type PlaneEntry, type ViewEntry } from '../../libs/exchange-format/src/manifest.js';
import { type PackagePart, planePath } from '../../libs/exchange-format/src/package.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { type Principal, REVIEW_ROLES, TRAINER_ROLES, hasAnyRole } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { SCAN_STATUSES, type ScanStatus } from '../database/schema.js';
import { JobName } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { OBJECT_STORAGE, ObjectNotFoundError, type ObjectStorage } from '../storage/object-storage.js';
import { type Layer, scanObjects } from './scan-objects.js';
import { ScanRepository, type ScanRow } from './scan.repository.js';
import { isUuid } from '../common/ids.js';

export const scanResponse = z.object({
  id: z.string(),
  status: z.enum(SCAN_STATUSES),
  stationId: z.string(),
  receivedAt: z.string(),
  convertingAt: z.string().nullable(),
  queuedAt: z.string().nullable(),
  progress: z.number().nullable().describe('percent of the current pipeline step while converting'),
  manifest: z.unknown().optional().describe('the exchange manifest (docs/exchange-format.md) once converted'),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ScanResponse = z.infer<typeof scanResponse>;

/**
 * Who reads which scan. Live scans: the station that sent them and the analysis centre; trainers read decided
 * ones (the archive). Training scans: nobody by role; only a request the training service granted.
 */
function mayRead(principal: Principal, scan: ScanRow): boolean {
  if (principal.kind === 'user' && principal.grantedScanId === scan.id) return true;
  if (scan.purpose !== 'live') return false;
  if (principal.kind === 'station') return scan.stationId === principal.id;
  return hasAnyRole(principal, REVIEW_ROLES) || (hasAnyRole(principal, TRAINER_ROLES) && scan.status === 'decided');
}

const TILE = /^(\d{1,9})_(\d{1,9})\.(jpeg|png)$/;
const INDEX_CACHE_SIZE = 500;

/** Reading scans and their images, with the rule: a station sees only its own scans; reviewers see all. */
@Injectable()
export class ScansService {
  private readonly tileIndexes = new Map<string, { format: string; index: Record<string, [number, number]> }>();

  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly scans: ScanRepository,
    private readonly queues: QueueRepository,
    private readonly audit: AuditRepository,
  ) {}

  async get(principal: Principal, id: string): Promise<ScanResponse> {
    const scan = await this.readable(principal, id);
    if (scan.purpose !== 'live' || scan.status === 'preparing' || scan.status === 'ready') {
      throw ApiError.notFound('scan_not_found', `no scan ${id} that you may read`);
    }
    const progress = scan.status === 'converting' ? await this.progress(scan) : null;
    return {
      id: scan.id,
      status: scan.status as ScanStatus,
      stationId: scan.stationId,
      receivedAt: scan.receivedAt.toISOString(),
      convertingAt: scan.convertingAt?.toISOString() ?? null,
      queuedAt: scan.queuedAt?.toISOString() ?? null,
      progress,
      ...(scan.manifest ? { manifest: scan.manifest } : {}),
      ...(scan.status === 'failed' ? { failure: { code: scan.failureCode ?? 'failed', message: scan.failureMessage ?? '' } } : {}),
    };
  }

  /** A viewer image of one view: display, thumbnail or the deep-zoom descriptor. */
  async image(principal: Principal, id: string, viewId: string, layer: Layer, name: 'display.jpg' | 'thumbnail.jpg' | 'tiles.dzi'): Promise<Buffer> {
    const scan = await this.rendered(principal, id, viewId);
    if (name !== 'thumbnail.jpg') await this.recordView(principal, scan.id, `${layer}/${name}`, viewId);
    return this.object(scanObjects.rendition(scan.id, viewId, `${layer}-${name}`), `the ${layer} ${name} of view ${viewId}`);
  }

  /** One deep-zoom tile, read as a byte range of the view's tile archive. */
  async tile(principal: Principal, id: string, viewId: string, layer: Layer, level: string, tile: string): Promise<{ data: Buffer; format: string }> {
    const match = TILE.exec(tile);
    if (!/^\d{1,2}$/.test(level) || !match) throw ApiError.notFound('tile_not_found', `no tile ${level}/${tile}`);
    const scan = await this.rendered(principal, id, viewId);
    const cacheKey = `${scan.id}/${viewId}/${layer}`;
    let tiles = this.tileIndexes.get(cacheKey);
    if (!tiles) {
      tiles = JSON.parse((await this.object(scanObjects.rendition(scan.id, viewId, `${layer}-tiles.json`), 'the tile index')).toString('utf8')) as {
        format: string;
        index: Record<string, [number, number]>;
      };
      if (this.tileIndexes.size >= INDEX_CACHE_SIZE) this.tileIndexes.delete(this.tileIndexes.keys().next().value!);
      this.tileIndexes.set(cacheKey, tiles);
    }
    const range = tiles.index[`${Number(level)}/${Number(match[1])}_${Number(match[2])}`];
    if (!range || match[3] !== tiles.format) throw ApiError.notFound('tile_not_found', `no tile ${level}/${tile} in view ${viewId}`);
    const data = await this.storage.getRange(scanObjects.rendition(scan.id, viewId, `${layer}-tiles.bin`), range[0], range[1]);
    return { data, format: tiles.format };
  }

  /** A lossless 16-bit plane of the exchange package. */
  async plane(principal: Principal, id: string, viewId: string, energy: string): Promise<Buffer> {
    const { scan, view, plane } = await this.readablePlane(principal, id, viewId, energy);
    await this.recordView(principal, scan.id, `plane/${energy}`, viewId);
    return this.object(scanObjects.packagePart(scan.id, planePath(view.id, plane.energy)), `the ${energy} plane of view ${viewId}`);
  }

  /** The single-file bundle (manifest, planes, originals) for exchange with another centre. */
  async bundle(principal: Principal, id: string): Promise<Readable> {
    const scan = await this.readable(principal, id);
    const manifest = this.manifestOf(scan);
    await this.recordView(principal, scan.id, 'bundle');
    const storage = this.storage;
    async function* parts(): AsyncGenerator<PackagePart> {
      for (const view of manifest.views) {
        for (const plane of view.planes) {
          yield { path: plane.path, data: await storage.get(scanObjects.packagePart(scan.id, plane.path)) };
        }
      }
      for (const original of manifest.provenance.originals) {
        yield { path: originalPartPath(original.name), data: await storage.get(original.object) };
      }
    }
    return writeBundle(manifest, parts());
  }

  /** A plane of the exchange package of a scan this principal may read; 409 before conversion, 404 when absent. */
  async readablePlane(principal: Principal, id: string, viewId: string, energy: string): Promise<{ scan: ScanRow; view: ViewEntry; plane: PlaneEntry }> {
    const scan = await this.readable(principal, id);
    const view = this.manifestOf(scan).views.find((candidate) => candidate.id === viewId);
    const plane = view?.planes.find((candidate) => candidate.energy === energy);
    if (!view || !plane || !(ENERGIES as readonly string[]).includes(energy)) {
      throw ApiError.notFound('plane_not_found', `scan ${id} has no ${energy} plane in view ${viewId}`);
    }
    return { scan, view, plane };
  }

  /** The scan if this principal may read it; 404 otherwise, so other stations' scan ids reveal nothing. */
  async readable(principal: Principal, id: string): Promise<ScanRow> {
    const scan = isUuid(id) ? await this.scans.findById(id) : undefined;
    if (!scan || !mayRead(principal, scan)) throw ApiError.notFound('scan_not_found', `no scan ${id} that you may read`);
    return scan;
  }

  private async rendered(principal: Principal, id: string, viewId: string): Promise<ScanRow> {
    const scan = await this.readable(principal, id);
    if (scan.status !== 'queued' && scan.status !== 'decided' && scan.status !== 'ready') {
      throw ApiError.conflict('scan_not_ready', `scan ${id} is ${scan.status}; its images exist once it is queued`);
    }
    if (!this.manifestOf(scan).views.some((view) => view.id === viewId)) {
      throw ApiError.notFound('view_not_found', `scan ${id} has no view ${viewId}`);
    }
    return scan;
  }

  private manifestOf(scan: ScanRow): Manifest {
    if (!scan.manifest) throw ApiError.conflict('scan_not_ready', `scan ${scan.id} is ${scan.status} and has no exchange package yet`);
    return scan.manifest as Manifest;
  }

  private async object(key: string, what: string): Promise<Buffer> {
    try {
      return await this.storage.get(key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw ApiError.notFound('image_not_found', `${what} does not exist`);
      throw error;
    }
  }

  private async progress(scan: ScanRow): Promise<number | null> {
    const job = scan.manifest ? JobName.RenderScan : JobName.ConvertScan;
    return this.queues.progress(job, { scanId: scan.id }).catch(() => null);
  }

  private async recordView(principal: Principal, scanId: string, what: string, viewId?: string): Promise<void> {
    await this.audit.record({
      actorType: principal.kind,
      actorId: principal.id,
      action: 'scan.viewed',
      scanId,
      detail: { what, ...(viewId ? { view: viewId } : {}) },
    });
  }
}
