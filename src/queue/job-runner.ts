import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { type Job, Worker } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS_ENDPOINT } from '../redis/redis.module.js';
import type { RedisEndpoint } from '../redis/redis-endpoint.js';
import { JOB_EXHAUSTED_HANDLER, JOB_HANDLER, type JobContext } from './job-handler.decorator.js';
import { backoffStrategy } from './backoff.js';
import { JOB_QUEUE, JobName, QUEUE_CONCURRENCY, QUEUE_ROLE, QueueName } from './jobs.js';

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
      lockDuration: 60_000,
      settings: { backoffStrategy },
    });
    worker.on('error', (error) => this.logger.warn(`worker ${queue}: ${error.message}`));
    worker.on('failed', (job, error) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade < attempts) {
        this.logger.warn(`job ${job.id} failed (attempt ${job.attemptsMade} of ${attempts}), will retry: ${error.message}`);
        return;
      }
      this.logger.error(`job ${job.id} failed its last attempt: ${error.message}`);
      const handler = this.exhausted.get(job.name as JobName);
      if (handler) handler(job.data, error).catch((cause: Error) => this.logger.error(`after job ${job.id}: ${cause.message}`));
    });
    this.workers.push(worker);
    this.logger.log(`working on queue ${queue}`);
  }

  private async run(job: Job): Promise<void> {
    const name = job.name as JobName;
    const handler = this.handlers.get(name);
    if (!handler || JOB_QUEUE[name] !== job.queueName) throw new Error(`no handler for job ${job.name} on queue ${job.queueName}`);
    await handler(job.data, {
      attempt: job.attemptsMade + 1,
      progress: (percent) => job.updateProgress(Math.round(percent)),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
