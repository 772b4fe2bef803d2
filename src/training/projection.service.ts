import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ScanMetadata } from '../../libs/exchange-format/src/metadata.js';
import { buildPackage, PackageIntegrityError, readPackage, type PackageView } from '../../libs/exchange-format/src/package.js';
import type { Region, ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import type { GreyPlane } from '../../libs/imaging/src/raster.js';
import { type Placement, projectThreat, randomPlacement } from '../../libs/imaging/src/tip/project-threat.js';
import { ThreatItemError, type ThreatItemImage } from '../../libs/imaging/src/tip/threat-item.js';
import { ConversionError } from '../../libs/scanner-adapters/src/adapter.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { Clock } from '../common/clock.js';
import { type JobContext, OnJob, OnJobExhausted } from '../queue/job-handler.decorator.js';
import { JobName, type JobOf } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { ScanObjectsWriter } from '../scans/scan-objects.writer.js';
import { scanObjects } from '../scans/scan-objects.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import type { ChosenPlacement } from '../database/schema.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { ThreatLibraryService } from './threat-library.service.js';
import { type TrainingCaseRow, TrainingRepository } from './training.repository.js';

/** Adapter id recorded in the provenance of a projected-threat package. */
export const PROJECTION_ADAPTER = { id: 'tip-projection', version: '1.0.0' } as const;

/** How many placements are drawn for the second and later views, to find one in line with the first view. */
const ALIGNMENT_CANDIDATES = 12;

/** A stable seed from an id: the same case always gets the same placement, also when its job is retried. */
export function seedOf(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32LE(0) & 0x7fffffff;
}

/**
 * Threat image projection for training: a threat item is projected into every view of a clean archived scan
 * (Beer–Lambert, both energies, libs/imaging/src/tip), and the result becomes a training-only scan with its own
 * exchange package (version 1.1, with the truth in `training`) and viewer images. The scan is never queued for
 * review and never has a result for a station.
 *
 * Placement: the item lies at one place of the conveyance, so after the first view's random placement the other
 * views take the candidate whose position along the conveyance (x, as a share of the width) is closest.
 */
@Injectable()
export class ProjectionService {
  private readonly logger = new Logger(ProjectionService.name);

  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly scans: ScanRepository,
    private readonly training: TrainingRepository,
    private readonly library: ThreatLibraryService,
    private readonly writer: ScanObjectsWriter,
    private readonly queues: QueueRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async start(scanIds: string[]): Promise<void> {
    for (const scanId of scanIds) await this.queues.add(JobName.ProjectThreat, { scanId });
  }

  /**
   * Puts back the jobs of training scans still being made that Redis does not have (after a crash or a lost Redis),
   * and marks ready the sets whose cases all are. Run by ReconcileService at start and every NIIX_RECONCILE_SECONDS,
   * maybe by several processes at once: job ids are deterministic, a job that exists is left alone (one that failed
   * for good is retried), and a set is made ready by a conditional update. Returns how many jobs were put back.
   */
  async reconcile(): Promise<number> {
    let added = 0;
    for (const scanId of await this.training.preparingScanIds()) {
      const state = await this.queues.state(JobName.ProjectThreat, { scanId });
      if (state !== null && state !== 'failed' && state !== 'completed' && state !== 'unknown') continue;
      await this.queues.add(JobName.ProjectThreat, { scanId });
      added++;
    }
    for (const setId of await this.training.preparingSetIds()) await this.training.readyIfComplete(setId, this.clock.now());
    if (added) this.logger.log(`put back ${added} threat projections`);
    return added;
  }

  @OnJob(JobName.ProjectThreat)
  async project({ scanId }: JobOf<JobName.ProjectThreat>, context: JobContext): Promise<void> {
    const scan = await this.scans.findById(scanId);
    const trainingCase = await this.training.caseOfScan(scanId);
    if (!scan || scan.purpose !== 'training' || !trainingCase) return;
    // Made already (a retry after a crash between the last steps): only the set may still wait for it.
    if (scan.status === 'ready') {
      await this.training.updateCase(trainingCase.id, { status: 'ready' });
      await this.training.readyIfComplete(trainingCase.setId, this.clock.now());
      return;
    }
    if (scan.status !== 'preparing') return;
    const source = trainingCase.sourceScanId ? await this.scans.findById(trainingCase.sourceScanId) : undefined;
    const itemRow = trainingCase.threatItemId ? await this.training.threatItem(trainingCase.threatItemId) : undefined;
    if (!source?.manifest || !itemRow) return this.fail(scan, trainingCase, 'the archived scan or the threat item of this case no longer exists');
    try {
      const [{ manifest, views }, item] = await Promise.all([
        readPackage(source.manifest, (part) => this.storage.get(scanObjects.packagePart(source.id, part))),
        this.library.image(itemRow),
      ]);
      await context.progress(20);
      const projected = this.projectIntoViews(views, item, seedOf(trainingCase.id), trainingCase.placement ?? {});
      await context.progress(40);
      const category = itemRow.category as ThreatCategory;
      const regions: Region[] = projected.map(({ view, region }) => ({ view, ...region, category, note: `projected: ${itemRow.name}` }));
      const [built, rendered] = await Promise.all([
        buildPackage({
          scanId,
          stationId: source.stationId,
          conversion: {
            scanner: manifest.scanner,
            acquiredAt: manifest.acquiredAt,
            views: projected.map((entry) => entry.packageView),
            warnings: manifest.provenance.warnings,
            conveyance: manifest.conveyance,
          },
          adapter: PROJECTION_ADAPTER,
          originals: manifest.provenance.originals,
          metadata: source.metadata as ScanMetadata,
          convertedAt: this.clock.now(),
          training: {
            purpose: 'training',
            sourceScanId: source.id,
            projectedThreats: projected.map(({ view, region, placement }) => ({ threatItemId: itemRow.id, name: itemRow.name, category, view, region, placement })),
          },
        }),
        this.writer.renderViews(projected.map((entry) => entry.packageView)),
      ]);
      await context.progress(80);
      await this.writer.storePackage(scanId, built);
      await this.writer.storeRenditions(scanId, rendered);
      await this.training.updateCase(trainingCase.id, { regions });
      await this.scans.transition(scanId, ['preparing'], { status: 'ready', manifest: built.manifest });
      await this.audit.record({ actorType: 'system', actorId: 'training', action: 'training_scan.projected', scanId, detail: { sourceScanId: source.id, threatItemId: itemRow.id } });
      await this.training.updateCase(trainingCase.id, { status: 'ready' });
      await this.training.readyIfComplete(trainingCase.setId, this.clock.now());
      await context.progress(100);
    } catch (error) {
      if (error instanceof ThreatItemError || error instanceof PackageIntegrityError || error instanceof ConversionError) {
        return this.fail(scan, trainingCase, error.message);
      }
      throw error;
    }
  }

  @OnJobExhausted(JobName.ProjectThreat)
  async exhausted({ scanId }: { scanId: string }, error: Error): Promise<void> {
    const scan = await this.scans.findById(scanId);
    const trainingCase = await this.training.caseOfScan(scanId);
    if (!scan || !trainingCase) return;
    this.logger.error(`projection into training scan ${scanId} failed after repeated errors: ${error.message}`);
    await this.fail(scan, trainingCase, 'the threat could not be projected because of a fault in niix; operators have been alerted');
  }

  /**
   * Projects the item into every view; dual-energy views on both planes, single-energy views with the high
   * transmission. What the trainer chose (scale, rotation, places per view) is kept; the rest is drawn.
   */
  private projectIntoViews(views: PackageView[], item: ThreatItemImage, seed: number, chosen: ChosenPlacement) {
    let along: number | null = null;
    let fixed: Partial<Pick<Placement, 'scale' | 'rotationDeg'>> = {
      ...(chosen.scale !== undefined ? { scale: chosen.scale } : {}),
      ...(chosen.rotationDeg !== undefined ? { rotationDeg: chosen.rotationDeg } : {}),
    };
    return views.map((view) => {
      const plane = (energy: string): GreyPlane | undefined => {
        const found = view.planes.find((candidate) => candidate.energy === energy);
        return found ? { width: view.width, height: view.height, data: found.data } : undefined;
      };
      const high = plane('high') ?? plane('single')!;
      const low = plane('low') ?? high;
      const background = { high, low, airValue: view.airValue, pixelSpacingMm: view.pixelSpacingMm?.x ?? item.pixelSpacingMm };
      const drawn: Placement = randomPlacement(background, item, seed + views.indexOf(view), fixed);
      const place = chosen.places?.[view.id];
      let placement: Placement = place ? { ...drawn, x: place.x, y: place.y } : drawn;
      if (along === null) {
        // One object: every view shows it at the same scale and turn, and at the same place along the conveyance.
        along = (placement.x + 0.5) / view.width;
        fixed = { scale: placement.scale, rotationDeg: placement.rotationDeg };
      } else if (!place) {
        for (let n = 1; n < ALIGNMENT_CANDIDATES; n++) {
          const candidate = randomPlacement(background, item, seed + 1000 * n + views.indexOf(view), { scale: placement.scale, rotationDeg: placement.rotationDeg });
          if (Math.abs((candidate.x + 0.5) / view.width - along) < Math.abs((placement.x + 0.5) / view.width - along)) placement = candidate;
        }
      }
      const result = projectThreat(background, item, placement);
      const packageView: PackageView = {
        ...view,
        planes: view.planes.map((entry) => ({ ...entry, data: entry.energy === 'low' ? result.low.data : result.high.data })),
      };
      return { view: view.id, region: result.region, placement, packageView };
    });
  }

  /** Fails the case and its set, unless another run of the job made the scan meanwhile. */
  private async fail(scan: ScanRow, trainingCase: TrainingCaseRow, message: string): Promise<void> {
    const failed = await this.scans.transition(scan.id, ['preparing'], { status: 'failed', failureCode: 'projection_failed', failureMessage: message, failedAt: this.clock.now() });
    if (!failed) return;
    await this.training.updateCase(trainingCase.id, { status: 'failed' });
    await this.training.failSet(trainingCase.setId, `a projected-threat case could not be made: ${message}`);
  }
}
