import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { currentRequestId } from '../logging/log-context.js';
import { REDIS_ENDPOINT } from '../redis/redis.module.js';
import type { RedisEndpoint } from '../redis/redis-endpoint.js';
import { JOB_QUEUE, type JobName, type JobOf, QueueName, jobId } from './jobs.js';

/** Per-job retry policy where the default (8 attempts, exponential from 2 s) does not fit. */
export interface AddJobOptions {
  attempts?: number;
  backoff?: { type: string; delay: number };
  /** A failed job of the same id starts over with all its attempts (an operator's retry) instead of one more. */
  resetAttempts?: boolean;
}

export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'prioritized' | 'waiting-children' | 'unknown';

/** Adds jobs to BullMQ with deterministic ids and the retry policy of niix; knows nothing of scans. */
@Injectable()
export class QueueRepository implements OnModuleDestroy {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_ENDPOINT) private readonly redis: RedisEndpoint,
  ) {}

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: { url: this.redis.url, maxRetriesPerRequest: 3 },
        prefix: this.config.redis.prefix,
        defaultJobOptions: {
          attempts: 8,
          backoff: { type: 'exponential', delay: 2000 },
          removeOnComplete: true,
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      });
      queue.on('error', () => undefined); // reconnects by itself; readiness reports a down Redis
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Enqueues the job unless a job with the same id is waiting, running or delayed; a failed one is retried. The
   * request id of the request or job being handled goes with it (see JobPayloads).
   */
  async add<N extends JobName>(name: N, payload: JobOf<N>, options: AddJobOptions = {}): Promise<void> {
    const queue = this.queue(JOB_QUEUE[name]);
    const id = jobId(name, payload);
    const existing = await queue.getJob(id);
    if (existing && (await existing.isFailed())) {
      await existing.retry('failed', options.resetAttempts ? { resetAttemptsMade: true, resetAttemptsStarted: true } : {});
      return;
    }
    const requestId = payload.requestId ?? currentRequestId();
    await queue.add(name, requestId ? { ...payload, requestId } : payload, {
      jobId: id,
      ...(options.attempts ? { attempts: options.attempts } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }

  async state<N extends JobName>(name: N, payload: JobOf<N>): Promise<JobState | null> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(jobId(name, payload));
    return job ? ((await job.getState()) as JobState) : null;
  }

  /** Why the job failed for good, or null when it has not (or does not exist). */
  async failedReason<N extends JobName>(name: N, payload: JobOf<N>): Promise<string | null> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(jobId(name, payload));
    return job && (await job.isFailed()) ? job.failedReason || 'failed' : null;
  }

  async progress<N extends JobName>(name: N, payload: JobOf<N>): Promise<number | null> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(jobId(name, payload));
    return job && typeof job.progress === 'number' ? job.progress : null;
  }

  async counts(): Promise<Record<string, Record<string, number>>> {
    const result: Record<string, Record<string, number>> = {};
    for (const name of Object.values(QueueName)) {
      result[name] = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    }
    return result;
  }

  async ping(): Promise<void> {
    await this.queue(QueueName.Convert).getJobCounts('waiting');
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
