import { Inject, Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { annotateLogContext } from '../logging/log-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { CAPPED_EXPONENTIAL, MAX_BACKOFF_MS } from '../queue/backoff.js';
import { type JobContext, OnJob, OnJobExhausted } from '../queue/job-handler.decorator.js';
import { JobName, type JobOf } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { type ResultRow, presentResult } from '../results/result-body.js';
import { ResultRepository } from '../results/result.repository.js';
import { StationRepository } from '../stations/station.repository.js';
import { deliveryAttempts } from './delivery-schedule.js';
import { signWebhook } from './webhook-signature.js';
import { WebhookTransport } from './webhook.transport.js';

/** A webhook call that takes longer than this is a failed attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
const UNDELIVERED_PAGE = 1000;

export const undeliveredResponse = z.object({
  results: z.array(
    z.object({
      resultId: z.string(),
      stationId: z.string(),
      stationName: z.string(),
      scanId: z.string(),
      kind: z.enum(['verdict', 'failure']),
      attempts: z.number(),
      lastError: z.string().nullable(),
      createdAt: z.string(),
      undeliveredAt: z.string(),
    }),
  ),
});
export const redeliverResponse = z.object({ resultId: z.string(), status: z.literal('scheduled') });

/** A webhook attempt that did not end in 2xx; BullMQ retries it with backoff. */
export class WebhookFailedError extends Error {
  override name = 'WebhookFailedError';
}

/**
 * Webhooks with results to the stations' callback URLs: signed, retried with doubling waits (at most 1 hour
 * each) for at least 24 hours, every attempt counted on the result; then the result is marked undelivered
 * (still available by pull, listed for the administrators). A station's undelivered results are not forgotten:
 *   - once an hour (retryUndeliveredMs) its oldest undelivered result is tried once more (reconcile(), which
 *     ReconcileService runs in `deliver` processes every NIIX_RECONCILE_SECONDS);
 *   - when a result that had been given up gets through, the station answers again: all its other undelivered
 *     results get a fresh schedule at once;
 *   - an administrator may redeliver one at any time.
 * Never twice: a result is sent only by its one BullMQ job (deterministic id), taken for a retry by one conditional
 * update, and nothing is sent for a result delivered or acknowledged.
 */
@Injectable()
export class DeliveryService {
  private readonly logger = new Logger(DeliveryService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly results: ResultRepository,
    private readonly stations: StationRepository,
    private readonly queues: QueueRepository,
    private readonly transport: WebhookTransport,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /** Attempts per webhook: NIIX_DELIVERY_ATTEMPTS, or as many as cover 24 hours from NIIX_DELIVERY_BACKOFF_MS. */
  get attempts(): number {
    return this.config.delivery.attempts ?? deliveryAttempts(this.config.delivery.backoffMs);
  }

  /**
   * How often a station's oldest undelivered result is tried again: the longest wait of the schedule, 1 hour. A first
   * wait (NIIX_DELIVERY_BACKOFF_MS) below the default 1 s shortens it in proportion (tests: 1 ms makes it 3.6 s).
   */
  get retryUndeliveredMs(): number {
    return Math.min(MAX_BACKOFF_MS, Math.round(this.config.delivery.backoffMs * (MAX_BACKOFF_MS / 1000)));
  }

  /** Schedules the webhook of a result still to deliver, when its station has a callback URL; false otherwise. */
  async schedule(row: ResultRow, options: { restart?: boolean } = {}): Promise<boolean> {
    if (row.deliveredAt || row.ackedAt || row.undeliveredAt) return false;
    const station = await this.stations.findById(row.stationId);
    if (!station?.callbackUrl) return false;
    await this.queues.add(
      JobName.DeliverResult,
      { resultId: String(row.id) },
      { attempts: this.attempts, backoff: { type: CAPPED_EXPONENTIAL, delay: this.config.delivery.backoffMs }, resetAttempts: options.restart },
    );
    return true;
  }

  /**
   * One attempt: POST the result to the station; throws on anything but 2xx so that BullMQ retries. A result that
   * had been given up and gets through tells that the station answers again: its other undelivered results follow.
   */
  @OnJob(JobName.DeliverResult)
  async deliver({ resultId }: JobOf<JobName.DeliverResult>, context: JobContext): Promise<void> {
    const id = Number(resultId);
    const row = await this.results.findById(id);
    // An undelivered result is sent only by a job added for it again (a retry, a redelivery): it is not skipped here.
    if (!row || row.deliveredAt || row.ackedAt) return;
    annotateLogContext({ scanId: row.scanId });
    const station = await this.stations.findById(row.stationId);
    if (!station?.callbackUrl) return;
    const body = JSON.stringify(presentResult(row));
    const t = Math.floor(this.clock.now().getTime() / 1000);
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': 'niix-webhook/1',
      'X-Niix-Delivery': resultId,
      'X-Niix-Signature': signWebhook(station.webhookSecret, body, t),
    };
    let failure: string | undefined;
    try {
      const { status } = await this.transport.post(station.callbackUrl, body, headers, WEBHOOK_TIMEOUT_MS);
      if (status < 200 || status > 299) failure = `the callback URL answered HTTP ${status}`;
    } catch (error) {
      failure = describeFault(error);
    }
    this.metrics.deliveryAttempted(station.id, failure === undefined);
    if (failure === undefined) {
      await this.results.recordAttempt(id, { deliveredAt: this.clock.now() });
      await this.audit.record({ actorType: 'system', actorId: 'delivery', action: 'result.delivered', scanId: row.scanId, detail: { resultId, attempt: context.attempt } });
      if (row.undeliveredAt || row.deliveryAttempts >= this.attempts) await this.resumeStation(station.id, station.name);
      return;
    }
    await this.results.recordAttempt(id, { error: failure });
    const which = context.attempt > this.attempts ? 'a retry of an undelivered result' : `attempt ${context.attempt} of ${this.attempts}`;
    throw new WebhookFailedError(`webhook of result ${resultId} to station ${station.name} (${which}): ${failure}`);
  }

  /** The station answers again: every result of it still undelivered gets a fresh schedule. */
  private async resumeStation(stationId: string, name: string): Promise<void> {
    const rows = await this.results.takeUndeliveredOf(stationId);
    for (const row of rows) await this.schedule(row, { restart: true });
    if (rows.length) this.logger.log(`station ${name} answers again: its ${rows.length} undelivered results are sent again`);
  }

  /** The last attempt failed: the result is undelivered (still available by pull, retried hourly). A failed retry of one stays so, quietly. */
  @OnJobExhausted(JobName.DeliverResult)
  async exhausted({ resultId }: JobOf<JobName.DeliverResult>, error: Error): Promise<void> {
    const row = await this.results.findById(Number(resultId));
    if (!row || !(await this.results.markUndelivered(row.id, this.clock.now()))) return;
    this.metrics.deliveryGaveUp(row.stationId);
    await this.audit.record({ actorType: 'system', actorId: 'delivery', action: 'result.undelivered', scanId: row.scanId, detail: { resultId, error: error.message } });
    this.logger.error(`result ${resultId} is undelivered: ${error.message}`);
  }

  async listUndelivered(): Promise<z.infer<typeof undeliveredResponse>> {
    const rows = await this.results.listUndelivered(UNDELIVERED_PAGE);
    return {
      results: rows.map((row) => ({
        resultId: String(row.id),
        stationId: row.stationId,
        stationName: row.stationName,
        scanId: row.scanId,
        kind: row.kind,
        attempts: row.deliveryAttempts,
        lastError: row.lastDeliveryError,
        createdAt: row.createdAt.toISOString(),
        undeliveredAt: (row.undeliveredAt ?? row.createdAt).toISOString(),
      })),
    };
  }

  /** An administrator sends the webhook again, with a fresh 24-hour schedule. */
  async redeliver(actor: UserPrincipal, resultId: string): Promise<z.infer<typeof redeliverResponse>> {
    const row = /^\d{1,15}$/.test(resultId) ? await this.results.findById(Number(resultId)) : undefined;
    if (!row) throw ApiError.notFound('result_not_found', `no result ${resultId}`);
    if (row.deliveredAt || row.ackedAt) {
      throw ApiError.conflict('result_already_received', `the station has result ${resultId} already (webhook answered or acknowledged); it can pull it again`);
    }
    const station = await this.stations.findById(row.stationId);
    if (!station?.callbackUrl) throw ApiError.conflict('no_callback_url', `station ${station?.name ?? row.stationId} has no callback URL; it pulls its results`);
    await this.results.clearUndelivered(row.id);
    await this.schedule({ ...row, undeliveredAt: null }, { restart: true });
    await this.audit.record({ actorType: 'user', actorId: actor.id, action: 'result.redelivered', scanId: row.scanId, detail: { resultId } });
    return { resultId, status: 'scheduled' };
  }

  /**
   * Schedules again every webhook still to deliver (after a restart or a flushed Redis; job ids make it harmless),
   * and retries the undelivered results that are due (retryUndelivered). Returns how many it scheduled.
   */
  async reconcile(): Promise<number> {
    const ids = await this.results.pendingDeliveries();
    const options = { attempts: this.attempts, backoff: { type: CAPPED_EXPONENTIAL, delay: this.config.delivery.backoffMs } };
    for (const id of ids) {
      const payload = { resultId: String(id) };
      // A failed job has used its schedule; the process that was to mark the result undelivered stopped, or is about
      // to: mark it now (once, whoever is first) rather than try again outside the schedule.
      if ((await this.queues.state(JobName.DeliverResult, payload)) === 'failed') await this.exhausted(payload, new Error('every attempt of its schedule failed'));
      else await this.queues.add(JobName.DeliverResult, payload, options);
    }
    if (ids.length) this.logger.log(`reconciled ${ids.length} result deliveries with the queue`);
    return ids.length + (await this.retryUndelivered());
  }

  /**
   * Per station with undelivered results, its oldest one is tried once more when it was given up (or last tried)
   * retryUndeliveredMs ago or earlier: one attempt (the failed job of the result gets one more; a new one has one).
   * It stays undelivered meanwhile; when it gets through, deliver() sends the station's others.
   */
  async retryUndelivered(): Promise<number> {
    const now = this.clock.now();
    const due = await this.results.takeUndeliveredRetries(new Date(now.getTime() - this.retryUndeliveredMs), now);
    for (const row of due) {
      await this.queues.add(JobName.DeliverResult, { resultId: String(row.id) }, { attempts: 1, backoff: { type: CAPPED_EXPONENTIAL, delay: this.config.delivery.backoffMs } });
    }
    if (due.length) this.logger.log(`retrying ${due.length} undelivered results, the oldest of each station`);
    return due.length;
  }
}

/** One line for a fetch that did not get an answer: the timeout, or the network error with its cause. */
function describeFault(error: unknown): string {
  // duck-typed: errors of fetch may come from another realm (undici, test sandboxes), where instanceof fails
  const fault = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  if (fault.name === 'TimeoutError') return `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`;
  if (typeof fault.message !== 'string') return String(error);
  const detail = fault.cause?.code ?? fault.cause?.message;
  return typeof detail === 'string' ? `${fault.message}: ${detail}` : fault.message;
}
