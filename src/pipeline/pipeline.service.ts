import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ScanMetadata } from '../../libs/exchange-format/src/metadata.js';
import type { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig, conversionLimits } from '../config/config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { type JobContext, OnJob, OnJobExhausted } from '../queue/job-handler.decorator.js';
import { JobCrashedError, failureCause } from '../queue/job-runner.js';
import { JobName, type JobOf, jobId } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { scanObjects } from '../scans/scan-objects.js';
import { ResultsService } from '../results/results.service.js';
import { WorklistService } from '../review/worklist.service.js';
import { ScanObjectsWriter, type RenderedView } from '../scans/scan-objects.writer.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { ADAPTER_REGISTRY } from './adapters.provider.js';
import { ConversionMemoryError, ConversionProcessDiedError, ConversionProcesses, type ConversionResult } from './conversion.process.js';

/**
 * The machine pipeline of one scan, in one place:
 *   upload → ConvertScan (adapter → exchange package + viewer images) → queued → analyst work pool
 *   ConvertScan interrupted after the package was recorded → RenderScan (package → viewer images) → queued
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
    private readonly writer: ScanObjectsWriter,
    private readonly queues: QueueRepository,
    private readonly worklist: WorklistService,
    private readonly results: ResultsService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly processes: ConversionProcesses,
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
      const name = scan.manifest ? JobName.RenderScan : JobName.ConvertScan;
      // A job failed for good whose scan is not failed yet: its handler is running, or its process died before it
      // ran. The scan fails now (as the handler would), rather than the job being tried again.
      const reason = await this.queues.failedReason(name, { scanId: scan.id });
      if (reason !== null) await this.exhausted({ scanId: scan.id }, failureCause(jobId(name, { scanId: scan.id }), new Error(reason)));
      else await this.queues.add(name, { scanId: scan.id });
    }
    if (pending.length) this.logger.log(`reconciled ${pending.length} unfinished scans with the queues`);
    for (const scan of await this.scans.finishedWithoutResult('failed')) {
      await this.results.record(scan, 'failure', { failure: { code: scan.failureCode ?? 'failed', message: scan.failureMessage ?? '' } });
    }
    return pending.length;
  }

  /**
   * Vendor files → exchange package and viewer images → `queued`. The conversion itself runs in a conversion
   * process (conversion.process.ts) with a memory limit. The package is stored and recorded before the
   * renditions, so a crash in between resumes with RenderScan instead of converting again.
   */
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
    const started = performance.now();
    const files = await this.scans.files(scanId);
    const workDir = await mkdtemp(path.join(os.tmpdir(), `niix-convert-${scanId}-`));
    try {
      const inputs = [];
      for (const file of files) {
        const local = path.join(workDir, `${file.position}-${file.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(-100)}`);
        await this.storage.download(file.objectKey, local);
        inputs.push({ name: file.name, path: local, size: file.size });
      }
      await context.progress(10);
      let result: ConversionResult;
      try {
        result = await this.processes.convert({
          adapterId: adapter.id,
          files: inputs,
          limits: conversionLimits(this.config),
          scanId,
          stationId: scan.stationId,
          metadata: scan.metadata as ScanMetadata,
          originals: files.map((file) => ({ name: file.name, size: file.size, sha256: file.sha256, object: file.objectKey })),
          convertedAt: this.clock.now().toISOString(),
        });
      } catch (error) {
        return await this.failOnProcessFault(scan, error);
      }
      const { outcome, peakBytes } = result;
      if (!outcome.ok) return await this.fail(scan, outcome.refused.code, outcome.refused.message);
      await context.progress(80);
      await this.writer.storePackage(scanId, outcome.built);
      await this.scans.transition(scanId, ['converting'], { status: 'converting', manifest: outcome.built.manifest });
      await this.storeRenditions(scanId, outcome.rendered, (performance.now() - started) / 1000);
      this.logger.log(`scan ${scanId} converted by ${adapter.id}; the conversion process peaked at ${Math.round(peakBytes / 1024 ** 2)} MB`);
      await context.progress(100);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** Stored exchange package → viewer images → `queued`; resumes a conversion interrupted after packaging. */
  @OnJob(JobName.RenderScan)
  async render({ scanId }: JobOf<JobName.RenderScan>, context: JobContext): Promise<void> {
    const scan = await this.scans.findById(scanId);
    if (!scan || scan.status !== 'converting' || !scan.manifest) return;
    const workDir = await mkdtemp(path.join(os.tmpdir(), `niix-render-${scanId}-`));
    try {
      const parts: Record<string, string> = {};
      for (const [index, part] of partPaths(scan.manifest).entries()) {
        parts[part] = path.join(workDir, `${index}.png`);
        await this.storage.download(scanObjects.packagePart(scanId, part), parts[part]);
      }
      await context.progress(30);
      let rendered: RenderedView[];
      try {
        ({ rendered } = await this.processes.render({ manifest: scan.manifest, parts }));
      } catch (error) {
        return await this.failOnProcessFault(scan, error);
      }
      await this.storeRenditions(scanId, rendered);
      await context.progress(100);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** A conversion process past its memory limit, or dead: the scan fails for good; anything else is thrown (retried). */
  private async failOnProcessFault(scan: ScanRow, error: unknown): Promise<void> {
    if (error instanceof ConversionMemoryError) {
      return this.fail(scan, 'resource_limit', `converting this scan took more than the ${Math.round(error.limitBytes / 1024 ** 2)} MB one conversion may use (NIIX_CONVERT_MEMORY); it is not tried again`);
    }
    if (error instanceof ConversionProcessDiedError) {
      return this.fail(scan, 'conversion_crashed', 'converting this scan stopped the conversion process (a crash in an image decoder); it is not tried again');
    }
    throw error;
  }

  /** `seconds`: how long the whole conversion took (not known when a RenderScan resumes one). */
  private async storeRenditions(scanId: string, rendered: RenderedView[], seconds?: number): Promise<void> {
    await this.writer.storeRenditions(scanId, rendered);
    const queued = await this.scans.transition(scanId, ['converting'], { status: 'queued', queuedAt: this.clock.now() }, { actorType: 'system', actorId: 'pipeline', action: 'scan.queued' });
    if (!queued) return;
    const scan = await this.scans.findById(scanId);
    if (!scan) return;
    this.metrics.scanConverted(scan.stationId, scan.adapterId ?? 'none', seconds);
    await this.worklist.enqueue(scan);
  }

  @OnJobExhausted(JobName.ConvertScan)
  @OnJobExhausted(JobName.RenderScan)
  async exhausted({ scanId }: { scanId: string }, error: Error): Promise<void> {
    const scan = await this.scans.findById(scanId);
    if (!scan) return;
    this.logger.error(`scan ${scanId} failed after repeated errors: ${error.message}`);
    if (error instanceof JobCrashedError) {
      await this.fail(scan, 'conversion_crashed', 'converting this scan stopped the converter every time it was tried (a crash or too little memory); it is not tried again');
      return;
    }
    await this.fail(scan, 'internal_error', 'the scan could not be processed because of a fault in niix; operators have been alerted');
  }

  private async fail(scan: ScanRow, code: string, message: string): Promise<void> {
    const failed = await this.scans.transition(
      scan.id,
      ['received', 'converting'],
      { status: 'failed', failureCode: code, failureMessage: message, failedAt: this.clock.now() },
      { actorType: 'system', actorId: 'pipeline', action: 'scan.failed', detail: { code, message } },
    );
    if (failed) {
      this.metrics.scanFailed(scan.stationId, scan.adapterId ?? 'none', code);
      await this.results.record(scan, 'failure', { failure: { code, message } });
      this.logger.log(`scan ${scan.id} failed: ${code}: ${message}`);
    }
  }
}

/** The paths of a recorded manifest's plane parts (the conversion process checks the manifest as it reads them). */
function partPaths(manifest: unknown): string[] {
  const views = (manifest as { views?: { planes?: { path?: unknown }[] }[] }).views ?? [];
  return views.flatMap((view) => (view.planes ?? []).map((plane) => plane.path)).filter((part): part is string => typeof part === 'string');
}
