import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { type Job, Worker } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { type LogContext, withLogContext } from '../logging/log-context.js';
import { REDIS_ENDPOINT } from '../redis/redis.module.js';
import type { RedisEndpoint } from '../redis/redis-endpoint.js';
import { JOB_EXHAUSTED_HANDLER, JOB_HANDLER, type JobContext } from './job-handler.decorator.js';
import { backoffStrategy } from './backoff.js';
import { JOB_QUEUE, JobName, QUEUE_CONCURRENCY, QUEUE_ROLE, QueueName } from './jobs.js';

/** How often a job may lose its process (a crash, a kill) and be taken again before it fails for good. */
export const MAX_STALLED_COUNT = 1;
/** BullMQ's reason for a job failed by the stalled-job check. */
const STALLED_LIMIT = /stalled more than allowable limit/;

/** The process running a job died every time it was taken (killed, out of memory): the job fails for good. */
export class JobCrashedError extends Error {
  constructor(jobId: string, times: number) {
    super(`job ${jobId} stopped its process ${times} times (a crash, a kill or no memory) and is not tried again`);
    this.name = 'JobCrashedError';
  }
}

/** What a job failed for good with, as its exhausted handler is given it: a job whose process died too often is JobCrashedError. */
export function failureCause(jobId: string, error: Error): Error {
  return STALLED_LIMIT.test(error.message) ? new JobCrashedError(jobId, MAX_STALLED_COUNT + 1) : error;
}

type Handler = (payload: unknown, context: JobContext) => Promise<void>;
type ExhaustedHandler = (payload: unknown, error: Error) => Promise<void>;

/**
 * Finds the job handlers at start (one per job name, or start-up fails) and runs BullMQ workers for the
 * queues this process's roles own.
 */
@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobRunner.name);
  private readonly workers: Worker[] = [];
  private readonly handlers = new Map<JobName, Handler>();
  private readonly exhausted = new Map<JobName, ExhaustedHandler>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_ENDPOINT) private readonly redis: RedisEndpoint,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onApplicationBootstrap(): void {
    this.discover();
    const queues = Object.values(QueueName).filter((queue) => this.config.roles.has(QUEUE_ROLE[queue]));
    for (const queue of queues) this.startWorker(queue);
  }

  /** Collects @OnJob and @OnJobExhausted methods; throws naming the job when one has none or two. */
  discover(): void {
    const found = new Map<JobName, string[]>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = prototype[method] as (...args: unknown[]) => Promise<void>;
        const name = Reflect.getMetadata(JOB_HANDLER, fn) as JobName | undefined;
        if (name) {
          found.set(name, [...(found.get(name) ?? []), `${instance.constructor.name}.${method}`]);
          this.handlers.set(name, fn.bind(instance) as Handler);
        }
        const exhaustedName = Reflect.getMetadata(JOB_EXHAUSTED_HANDLER, fn) as JobName | undefined;
        if (exhaustedName) this.exhausted.set(exhaustedName, fn.bind(instance) as ExhaustedHandler);
      }
    }
    for (const name of Object.values(JobName)) {
      const places = found.get(name) ?? [];
      if (places.length === 0) throw new Error(`job ${name} has no handler (@OnJob)`);
      if (places.length > 1) throw new Error(`job ${name} has ${places.length} handlers: ${places.join(', ')}`);
    }
  }

  private startWorker(queue: QueueName): void {
    const worker = new Worker(queue, (job: Job) => this.run(job), {
      connection: { url: this.redis.url, maxRetriesPerRequest: null },
      prefix: this.config.redis.prefix,
      concurrency: QUEUE_CONCURRENCY[queue] ?? this.config.convertConcurrency,
      lockDuration: this.config.jobLockMs,
      stalledInterval: Math.max(1000, Math.round(this.config.jobLockMs / 2)),
      maxStalledCount: MAX_STALLED_COUNT,
      settings: { backoffStrategy },
    });
    worker.on('error', (error) => this.logger.warn(`worker ${queue}: ${error.message}`));
    worker.on('failed', (job, error) => {
      if (!job) return;
      void withLogContext(logContextOf(job), async () => {
        // A job failed for good is in the failed set; one with attempts left waits (delayed) for its retry. A job
        // whose process died too often (BullMQ's stalled limit) is failed at once, whatever its attempts.
        const state = await job.getState().catch(() => 'unknown');
        const attempts = job.opts.attempts ?? 1;
        if (state !== 'failed' && state !== 'unknown') {
          this.logger.warn(`job ${job.id} failed (attempt ${job.attemptsMade} of ${attempts}), will retry: ${error.message}`);
          return;
        }
        const cause = failureCause(String(job.id), error);
        this.logger.error(`job ${job.id} failed for good: ${cause.message}`);
        const handler = this.exhausted.get(job.name as JobName);
        if (handler) await handler(job.data, cause).catch((failure: Error) => this.logger.error(`after job ${job.id}: ${failure.message}`));
      });
    });
    this.workers.push(worker);
    this.logger.log(`working on queue ${queue}`);
  }

  /** Runs the job's handler with the job's log context (its request id, scan and id), logging its start and end. */
  private run(job: Job): Promise<void> {
    return withLogContext(logContextOf(job), async () => {
      const name = job.name as JobName;
      const handler = this.handlers.get(name);
      if (!handler || JOB_QUEUE[name] !== job.queueName) throw new Error(`no handler for job ${job.name} on queue ${job.queueName}`);
      const attempt = job.attemptsMade + 1;
      const started = performance.now();
      this.logger.debug(`job ${job.id} started (attempt ${attempt})`);
      await handler(job.data, { attempt, progress: (percent) => job.updateProgress(Math.round(percent)) });
      this.logger.log(`job ${job.id} done in ${Math.round(performance.now() - started)} ms`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}

/** The log context of a job: the request that led to it (carried in the payload), its scan when it names one, its id. */
function logContextOf(job: Job): LogContext {
  const data = (job.data ?? {}) as { requestId?: unknown; scanId?: unknown };
  return {
    ...(typeof data.requestId === 'string' ? { requestId: data.requestId } : {}),
    ...(typeof data.scanId === 'string' ? { scanId: data.scanId } : {}),
    job: String(job.id),
  };
}
