import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, ConfigError, type ProcessRole } from '../config/config.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { QUEUE_ROLE, QueueName } from '../queue/jobs.js';
import { RedisPrefixService } from '../redis/redis-prefix.service.js';
import { VerdictService } from '../review/verdict.service.js';
import { WorklistService } from '../review/worklist.service.js';
import { ProjectionService } from '../training/projection.service.js';

/** One kind of repair: the role whose work it is, and the idempotent routine that puts back what is missing. */
interface ReconcileStep {
  name: string;
  role: ProcessRole;
  run: () => Promise<number>;
}

/** What one pass did: per kind, what its routine reported (or the error it ended with). */
export type ReconcileReport = Record<string, number | Error>;

/**
 * The database is the system of record; Redis only holds queues. One service repairs every kind of work a lost Redis
 * (FLUSHALL, a restart without AOF, a failover) or a crash may have dropped: once at start, then every
 * NIIX_RECONCILE_SECONDS. In pipeline order, each kind only in a process with the role that does that work:
 *   conversions and renderings, threat projections   role `convert` (queues convert, render)
 *   the analyst work pool, results of verdicts       role `api`     (the pool is served to analysts by the API)
 *   webhook deliveries                               role `deliver` (queue deliver)
 * Every routine is idempotent (deterministic job ids; conditional updates), so several processes may run at once.
 * A pass still running when the next is due is not doubled: that tick is skipped. A failing kind is logged and the
 * others still run; the next pass tries again.
 */
@Injectable()
export class ReconcileService implements OnModuleDestroy {
  private readonly logger = new Logger(ReconcileService.name);
  private timer?: NodeJS.Timeout;
  private pass?: Promise<ReconcileReport>;
  private stopped = false;
  private readonly steps: ReconcileStep[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly prefix: RedisPrefixService,
    pipeline: PipelineService,
    projections: ProjectionService,
    worklist: WorklistService,
    verdicts: VerdictService,
    delivery: DeliveryService,
  ) {
    this.steps = [
      { name: 'conversions', role: QUEUE_ROLE[QueueName.Convert], run: () => pipeline.reconcile() },
      { name: 'threat projections', role: QUEUE_ROLE[QueueName.Render], run: () => projections.reconcile() },
      { name: 'work pool', role: 'api', run: () => worklist.reconcile() },
      { name: 'results', role: 'api', run: () => verdicts.reconcileResults() },
      { name: 'deliveries', role: QUEUE_ROLE[QueueName.Deliver], run: () => delivery.reconcile() },
    ];
  }

  /** The kinds this process reconciles, in order. */
  get kinds(): string[] {
    return this.steps.filter((step) => this.config.roles.has(step.role)).map((step) => step.name);
  }

  /** Reconciles once (awaited: start-up puts back what was lost before the service listens), then every NIIX_RECONCILE_SECONDS. */
  async start(): Promise<void> {
    await this.run();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.run(), this.config.reconcileMs);
    this.timer.unref();
  }

  /** One pass over every kind of this process's roles; while a pass runs, asking again returns that pass. Never throws. */
  run(): Promise<ReconcileReport> {
    if (this.stopped) return Promise.resolve({});
    this.pass ??= this.reconcile().finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = {};
    const started = performance.now();
    // A lost Redis lost the key naming the installation that owns the prefix too: record it again first. When Redis
    // does not answer, the pass ends here (one warning, not one per kind); when another installation owns the
    // prefix, nothing of this one may be put there.
    try {
      await this.prefix.claim();
    } catch (error) {
      if (!this.stopped) {
        if (error instanceof ConfigError) this.logger.error(`reconciliation stopped: ${error.message}`);
        else this.logger.warn(`reconciliation skipped, Redis does not answer (${(error as Error).message}); next try in ${this.config.reconcileMs / 1000} s`);
      }
      return { 'redis prefix': error as Error };
    }
    for (const step of this.steps) {
      if (this.stopped) break;
      if (!this.config.roles.has(step.role)) continue;
      try {
        report[step.name] = await step.run();
      } catch (error) {
        report[step.name] = error as Error;
        if (!this.stopped) this.logger.warn(`reconciliation of ${step.name} failed, next try in ${this.config.reconcileMs / 1000} s: ${(error as Error).message}`);
      }
    }
    const summary = Object.entries(report).map(([name, outcome]) => `${name} ${outcome instanceof Error ? 'failed' : outcome}`);
    this.logger.debug(`reconciled in ${Math.round(performance.now() - started)} ms: ${summary.join(', ')}`);
    return report;
  }

  /** Stops the timer and waits for a pass in progress (it ends after its current kind) before queues and database close. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
  }
}
