import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type Job, Queue, Worker } from 'bullmq';
import { ApiError } from '../common/api-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { ReviewStage } from '../database/schema.js';
import { isRedisUnavailable } from '../redis/redis-fault.js';
import { REDIS_ENDPOINT } from '../redis/redis.module.js';
import type { RedisEndpoint } from '../redis/redis-endpoint.js';

/** What a review job carries: ids only. */
export interface ReviewJobData {
  scanId: string;
  stage: ReviewStage;
  /** Analysts who may not take this case (the first analyst, for the second opinion). */
  exclude: string[];
  /** A supervisor gave the case to this analyst; others skip it until `reservedUntil` (ms). */
  reservedFor?: string;
  reservedUntil?: number;
}

export type ReviewJob = Job<ReviewJobData>;

/** How many cases taken out of turn `next` puts back before it gives up reordering. */
const MAX_OUT_OF_TURN = 8;

/** How often lapsed claims are looked for (BullMQ stalled check), at most. */
const STALLED_CHECK_MS = 5_000;

/**
 * How long to wait before the next attempt to reach a Redis that went away: 0.25 s more each time, at most 2 s, so a
 * Redis back after an outage serves the pool again within 2 s (BullMQ's own default grows to 20 s).
 */
function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 250, 2000);
}

/**
 * The work pool's Redis does not answer (down, restarting, unreachable): the step changed nothing. The API answers
 * 503 `queue_unavailable` (with Retry-After) instead of 500, or of a request waiting for Redis to come back.
 */
export class QueueUnavailableError extends ApiError {
  constructor(cause: unknown) {
    super(503, 'queue_unavailable', 'the work pool is unavailable right now (its Redis does not answer); nothing was changed: try again shortly');
    this.name = 'QueueUnavailableError';
    this.message = `the Redis of the work pool does not answer: ${cause instanceof Error ? cause.message : String(cause)}`;
    this.cause = cause;
  }
}

/**
 * The analyst work pool as BullMQ queues consumed by people, one queue per pool (`review-<pool>`). A claim is
 * BullMQ's manual fetch: the job moves to active under a lock whose token is the claim id; heartbeats extend the
 * lock; a lock that lapses is found by the stalled check and the job goes back to waiting with its priority.
 * Knows nothing of scans beyond the ids in the job data.
 */
@Injectable()
export class ReviewQueueRepository implements OnModuleDestroy {
  private readonly logger = new Logger(ReviewQueueRepository.name);
  private readonly queues = new Map<string, Queue<ReviewJobData>>();
  private readonly workers = new Map<string, Worker<ReviewJobData>>();
  private readonly lapseListeners: ((pool: string, jobId: string) => void)[] = [];
  private watching = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_ENDPOINT) private readonly redis: RedisEndpoint,
  ) {}

  static jobId(scanId: string, stage: ReviewStage): string {
    return `review-${scanId}-${stage}`;
  }

  /** Adds the case unless its job for this stage already exists (waiting, held, or delayed). */
  async add(pool: string, data: ReviewJobData, priority: number): Promise<void> {
    await this.reachable(pool, async () => {
      const queue = this.queue(pool);
      const id = ReviewQueueRepository.jobId(data.scanId, data.stage);
      const existing = await queue.getJob(id);
      if (existing) {
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
        await existing.remove();
      }
      await queue.add('review', data, { jobId: id, priority, removeOnComplete: true, removeOnFail: true, attempts: 1 });
    });
  }

  /**
   * Takes the next case of the pool under a lock owned by `token`, or undefined when none waits. BullMQ's stalled
   * check puts a lapsed case back on the plain wait list, which is taken before every prioritised case: the lapse
   * handler gives it its priority back, and a case taken in the moment between the two, while a more urgent one
   * waits, goes back to its place (by priority) and the next is taken instead.
   */
  async next(pool: string, token: string): Promise<ReviewJob | undefined> {
    return this.reachable(
      pool,
      async () => {
        for (let attempt = 0; ; attempt++) {
          const job = await this.worker(pool).getNextJob(token, { block: false });
          if (!job) return undefined;
          const [head] = await this.queue(pool).getPrioritized(0, 0);
          if (!head || head.priority >= job.priority || attempt >= MAX_OUT_OF_TURN) return job;
          await job.moveToWait(token);
        }
      },
      { worker: true },
    );
  }

  /** Priority of the first waiting case of the pool (lower is first), or null when the pool is empty. */
  async headPriority(pool: string): Promise<number | null> {
    return this.reachable(pool, async () => {
      const [head] = await this.queue(pool).getPrioritized(0, 0);
      if (head) return head.priority;
      const [waiting] = await this.queue(pool).getWaiting(0, 0);
      return waiting ? waiting.priority : null;
    });
  }

  /** Extends the lock; false when the lock was lost (lapsed and taken back, or someone else holds it). */
  /** How long a claim holds without a heartbeat (NIIX_CLAIM_LOCK_SECONDS). */
  get lockMs(): number {
    return this.config.claimLockMs;
  }

  async extend(pool: string, scanId: string, stage: ReviewStage, token: string, ms = this.lockMs): Promise<boolean> {
    return this.reachable(pool, async () => {
      const job = await this.queue(pool).getJob(ReviewQueueRepository.jobId(scanId, stage));
      if (!job) return false;
      try {
        return (await job.extendLock(token, ms)) === 1;
      } catch (error) {
        if (isRedisUnavailable(error, { fromRedisCall: true })) throw error;
        return false;
      }
    });
  }

  /** Puts a held case back to waiting at once, with its priority; false when the lock was not ours. */
  async putBack(pool: string, scanId: string, stage: ReviewStage, token: string, data?: Partial<ReviewJobData>): Promise<boolean> {
    return this.reachable(pool, async () => {
      const job = await this.queue(pool).getJob(ReviewQueueRepository.jobId(scanId, stage));
      if (!job) return false;
      try {
        if (data) await job.updateData({ ...job.data, ...data });
        await job.moveToWait(token);
        return true;
      } catch (error) {
        if (isRedisUnavailable(error, { fromRedisCall: true })) throw error;
        return false;
      }
    });
  }

  /** Ends a held case (the verdict is in); false when the lock was not ours any more. */
  async complete(pool: string, scanId: string, stage: ReviewStage, token: string): Promise<boolean> {
    return this.reachable(pool, async () => {
      const job = await this.queue(pool).getJob(ReviewQueueRepository.jobId(scanId, stage));
      if (!job) return false;
      try {
        await job.moveToCompleted(null, token, false);
        return true;
      } catch (error) {
        if (isRedisUnavailable(error, { fromRedisCall: true })) throw error;
        return false;
      }
    });
  }

  async state(pool: string, scanId: string, stage: ReviewStage): Promise<string | null> {
    return this.reachable(pool, async () => {
      const job = await this.queue(pool).getJob(ReviewQueueRepository.jobId(scanId, stage));
      return job ? await job.getState() : null;
    });
  }

  async depth(pool: string): Promise<{ waiting: number; held: number }> {
    return this.reachable(pool, async () => {
      const counts = await this.queue(pool).getJobCounts('waiting', 'prioritized', 'active');
      return { waiting: counts.waiting + counts.prioritized, held: counts.active };
    });
  }

  /**
   * Runs a step on the pool's Redis, refused at once with QueueUnavailableError while its connections are down
   * (a command would wait for Redis to come back: without limit on the worker's connection, which would hang the
   * request); a connection lost during the step ends it the same way. `worker`: the step also uses the worker's connection.
   */
  private async reachable<T>(pool: string, step: () => Promise<T>, options: { worker?: boolean } = {}): Promise<T> {
    try {
      const clients = await Promise.all([this.queue(pool).backend.client, ...(options.worker ? [this.worker(pool).backend.client] : [])]);
      const down = clients.find((client) => client.status !== 'ready');
      if (down) throw new QueueUnavailableError(new Error(`the connection is ${down.status}`));
      return await step();
    } catch (error) {
      if (error instanceof QueueUnavailableError || !isRedisUnavailable(error, { fromRedisCall: true })) throw error;
      throw new QueueUnavailableError(error);
    }
  }

  /** Starts looking for lapsed claims in these pools (done by API processes). */
  watch(pools: string[]): void {
    this.watching = true;
    for (const pool of pools) void this.worker(pool).startStalledCheckTimer();
  }

  onLapse(listener: (pool: string, jobId: string) => void): void {
    this.lapseListeners.push(listener);
  }

  private queue(pool: string): Queue<ReviewJobData> {
    let queue = this.queues.get(pool);
    if (!queue) {
      queue = new Queue<ReviewJobData>(`review-${pool}`, {
        connection: { url: this.redis.url, maxRetriesPerRequest: 3, retryStrategy: reconnectDelay },
        prefix: this.config.redis.prefix,
      });
      queue.on('error', () => undefined);
      this.queues.set(pool, queue);
    }
    return queue;
  }

  private worker(pool: string): Worker<ReviewJobData> {
    let worker = this.workers.get(pool);
    if (!worker) {
      // No processor: people take the jobs through getNextJob.
      worker = new Worker<ReviewJobData>(`review-${pool}`, null, {
        connection: { url: this.redis.url, maxRetriesPerRequest: null, retryStrategy: reconnectDelay },
        prefix: this.config.redis.prefix,
        autorun: false,
        lockDuration: this.lockMs,
        stalledInterval: Math.min(STALLED_CHECK_MS, Math.ceil(this.lockMs / 3)),
        maxStalledCount: Number.MAX_SAFE_INTEGER,
      });
      worker.on('error', (error) => this.logger.warn(`review pool ${pool}: ${error.message}`));
      worker.on('stalled', (jobId) => {
        void this.restorePriority(pool, jobId).catch((error: Error) => this.logger.warn(`priority of lapsed ${jobId}: ${error.message}`));
        for (const listener of this.lapseListeners) listener(pool, jobId);
      });
      if (this.watching) void worker.startStalledCheckTimer();
      this.workers.set(pool, worker);
    }
    return worker;
  }

  /** A lapsed case BullMQ put on the plain wait list goes back among the prioritised cases, at its own priority. */
  private async restorePriority(pool: string, jobId: string): Promise<void> {
    const job = await this.queue(pool).getJob(jobId);
    if (job && job.priority > 0 && (await job.getState()) === 'waiting') await job.changePriority({ priority: job.priority });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.close(true)));
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
