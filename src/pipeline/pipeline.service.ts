import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { buildPackage, readPackage, serialiseManifest } from '../../libs/exchange-format/src/package.js';
import type { ScanMetadata } from '../../libs/exchange-format/src/metadata.js';
import { ConversionError } from '../../libs/scanner-adapters/src/adapter.js';
import type { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import { renderView } from '../../libs/imaging/src/renditions.js';
import type { DeepZoomArchive } from '../../libs/imaging/src/deep-zoom.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { type JobContext, OnJob, OnJobExhausted } from '../queue/job-handler.decorator.js';
import { JobName, type JobOf } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { type Layer, type RenditionName, scanObjects } from '../scans/scan-objects.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { ADAPTER_REGISTRY } from './adapters.provider.js';

/**
 * The machine pipeline of one scan, in one place:
 *   upload → ConvertScan (adapter → exchange package, status converting) → RenderScan (viewer images) → queued.
 * Expected failures (the input cannot be converted) end the scan as failed with the adapter's reason and are
 * not retried; anything else throws and BullMQ retries with backoff, then the scan fails as internal_error.
 */
@Injectable()
export class PipelineService {
  private readonly logger = new Logger(PipelineService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(ADAPTER_REGISTRY) private readonly adapters: AdapterRegistry,
    private readonly scans: ScanRepository,
    private readonly queues: QueueRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  /** Starts the pipeline of a newly received scan. */
  async start(scanId: string): Promise<void> {
    await this.queues.add(JobName.ConvertScan, { scanId });
  }

  /**
   * Puts back the job every unfinished scan needs (after a restart, a lost job or a flushed Redis). Job ids
   * are deterministic, so a job that still exists is not added twice.
   */
  async reconcile(): Promise<number> {
    const pending = await this.scans.idsWithStatus(['received', 'converting']);
    for (const scan of pending) {
      if (scan.manifest) await this.queues.add(JobName.RenderScan, { scanId: scan.id });
      else await this.queues.add(JobName.ConvertScan, { scanId: scan.id });
    }
    if (pending.length) this.logger.log(`reconciled ${pending.length} unfinished scans with the queues`);
    return pending.length;
  }

  @OnJob(JobName.ConvertScan)
  async convert({ scanId }: JobOf<JobName.ConvertScan>, context: JobContext): Promise<void> {
    const scan = await this.scans.findById(scanId);
    if (!scan || (scan.status !== 'received' && scan.status !== 'converting')) return;
    if (scan.manifest) {
      await this.queues.add(JobName.RenderScan, { scanId });
      return;
    }
    await this.scans.transition(scanId, ['received', 'converting'], { status: 'converting', convertingAt: this.clock.now() });
    const adapter = scan.adapterId ? this.adapters.get(scan.adapterId) : undefined;
    if (!adapter) {
      await this.fail(scan, 'adapter_unavailable', `the scanner adapter ${scan.adapterId ?? '(none)'} is not installed on this service`);
      return;
    }
    const files = await this.scans.files(scanId);
    const workDir = await mkdtemp(path.join(os.tmpdir(), `niix-convert-${scanId}-`));
    try {
      const inputs = [];
      for (const file of files) {
        const local = path.join(workDir, `${file.position}-${file.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(-100)}`);
        await this.storage.download(file.objectKey, local);
        inputs.push({ name: file.name, path: local, size: file.size });
      }
      await context.progress(20);
      let built;
      try {
        const conversion = await adapter.convert({ files: inputs, limits: { maxPixelsPerPlane: this.config.limits.maxPixelsPerPlane } });
        await context.progress(60);
        built = await buildPackage({
          scanId,
          stationId: scan.stationId,
          conversion,
          adapter: { id: adapter.id, version: adapter.version },
          originals: files.map((file) => ({ name: file.name, size: file.size, sha256: file.sha256, object: file.objectKey })),
          metadata: scan.metadata as ScanMetadata,
          convertedAt: this.clock.now(),
        });
      } catch (error) {
        if (error instanceof ConversionError) {
          await this.fail(scan, error.code, error.message);
          return;
        }
        throw error;
      }
      for (const part of built.parts) {
        await this.storage.put(scanObjects.packagePart(scanId, part.path), part.data, 'image/png');
      }
      await this.storage.put(scanObjects.packagePart(scanId, 'manifest.json'), serialiseManifest(built.manifest), 'application/json');
      await this.scans.transition(scanId, ['converting'], { status: 'converting', manifest: built.manifest });
      await context.progress(100);
      await this.queues.add(JobName.RenderScan, { scanId });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  @OnJob(JobName.RenderScan)
  async render({ scanId }: JobOf<JobName.RenderScan>, context: JobContext): Promise<void> {
    const scan = await this.scans.findById(scanId);
    if (!scan || scan.status !== 'converting' || !scan.manifest) return;
    const { views } = await readPackage(scan.manifest, (part) => this.storage.get(scanObjects.packagePart(scanId, part)));
    for (const [index, view] of views.entries()) {
      const renditions = await renderView(view);
      await this.storeLayer(scanId, view.id, 'grey', renditions);
      if (renditions.material) await this.storeLayer(scanId, view.id, 'material', renditions.material);
      await context.progress(((index + 1) / views.length) * 100);
    }
    const queued = await this.scans.transition(scanId, ['converting'], { status: 'queued', queuedAt: this.clock.now() });
    if (queued) await this.audit.record({ actorType: 'system', actorId: 'pipeline', action: 'scan.queued', scanId });
  }

  @OnJobExhausted(JobName.ConvertScan)
  @OnJobExhausted(JobName.RenderScan)
  async exhausted({ scanId }: { scanId: string }, error: Error): Promise<void> {
    const scan = await this.scans.findById(scanId);
    if (!scan) return;
    this.logger.error(`scan ${scanId} failed after repeated errors: ${error.message}`);
    await this.fail(scan, 'internal_error', 'the scan could not be processed because of a fault in niix; operators have been alerted');
  }

  private async storeLayer(
    scanId: string,
    viewId: string,
    layer: Layer,
    images: { display: Buffer; thumbnail: Buffer; tiles: DeepZoomArchive },
  ): Promise<void> {
    const key = (name: string) => scanObjects.rendition(scanId, viewId, `${layer}-${name}` as RenditionName);
    const index = { format: images.tiles.format, index: images.tiles.index };
    await Promise.all([
      this.storage.put(key('display.jpg'), images.display, 'image/jpeg'),
      this.storage.put(key('thumbnail.jpg'), images.thumbnail, 'image/jpeg'),
      this.storage.put(key('tiles.dzi'), Buffer.from(images.tiles.dzi), 'application/xml'),
      this.storage.put(key('tiles.bin'), images.tiles.archive),
      this.storage.put(key('tiles.json'), Buffer.from(JSON.stringify(index)), 'application/json'),
    ]);
  }

  private async fail(scan: ScanRow, code: string, message: string): Promise<void> {
    const failed = await this.scans.transition(scan.id, ['received', 'converting'], {
      status: 'failed',
      failureCode: code,
      failureMessage: message,
      failedAt: this.clock.now(),
    });
    if (failed) {
      await this.audit.record({ actorType: 'system', actorId: 'pipeline', action: 'scan.failed', scanId: scan.id, detail: { code, message } });
      this.logger.log(`scan ${scan.id} failed: ${code}: ${message}`);
    }
  }
}
