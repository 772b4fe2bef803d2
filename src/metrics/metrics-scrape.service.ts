import { Inject, Injectable } from '@nestjs/common';
import type { Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { WorklistService } from '../review/worklist.service.js';
import { StationRepository } from '../stations/station.repository.js';
import { MetricsService } from './metrics.service.js';

/**
 * What GET /metrics answers: this process's counters and histograms, and, in processes with the `api` role, gauges
 * of the state every process shares, read from the database and Redis at scrape time: the analyst pools (the
 * supervisor's overview), the BullMQ machine queues and the stations. Those gauges are the same from every api
 * process; a worker-only process reports only what it did itself.
 */
@Injectable()
export class MetricsScrapeService {
  private readonly poolDepth: Gauge<'pool'>;
  private readonly poolHeld: Gauge<'pool'>;
  private readonly poolOldestWait: Gauge<'pool'>;
  private readonly poolSlaBreaches: Gauge<'pool'>;
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private readonly stationInfo: Gauge<'station' | 'name' | 'country' | 'pool'>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly worklist: WorklistService,
    private readonly queues: QueueRepository,
    private readonly stations: StationRepository,
  ) {
    this.poolDepth = metrics.gauge('niix_pool_depth', 'Cases waiting in the analyst pool for an analyst', ['pool']);
    this.poolHeld = metrics.gauge('niix_pool_held', 'Cases of the pool an analyst holds now', ['pool']);
    this.poolOldestWait = metrics.gauge('niix_pool_oldest_wait_seconds', 'Age of the oldest undecided case of the pool since it was queued (0 when none)', ['pool']);
    this.poolSlaBreaches = metrics.gauge('niix_pool_sla_breaches', 'Undecided cases of the pool past their SLA deadline', ['pool']);
    this.queueJobs = metrics.gauge('niix_queue_jobs', 'Jobs of the BullMQ machine queues by state (waiting, active, delayed, failed)', ['queue', 'state']);
    this.stationInfo = metrics.gauge('niix_station_info', 'One series per station: its id (the station label of other metrics) with its name, country and pool', [
      'station',
      'name',
      'country',
      'pool',
    ]);
  }

  /** The Prometheus text exposition format. */
  get contentType(): string {
    return this.metrics.registry.contentType;
  }

  async scrape(): Promise<string> {
    if (this.config.roles.has('api')) await this.readSharedState();
    return this.metrics.registry.metrics();
  }

  private async readSharedState(): Promise<void> {
    const [pools, queues, stations] = await Promise.all([this.worklist.poolOverview(), this.queues.counts(), this.stations.list()]);
    for (const gauge of [this.poolDepth, this.poolHeld, this.poolOldestWait, this.poolSlaBreaches]) gauge.reset();
    for (const pool of pools) {
      this.poolDepth.set({ pool: pool.pool }, pool.waiting);
      this.poolHeld.set({ pool: pool.pool }, pool.held);
      this.poolOldestWait.set({ pool: pool.pool }, pool.oldestWaitSeconds ?? 0);
      this.poolSlaBreaches.set({ pool: pool.pool }, pool.slaBreaches);
    }
    this.queueJobs.reset();
    for (const [queue, counts] of Object.entries(queues)) {
      this.queueJobs.set({ queue, state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
      for (const state of ['active', 'delayed', 'failed']) this.queueJobs.set({ queue, state }, counts[state] ?? 0);
    }
    this.stationInfo.reset();
    for (const station of stations) this.stationInfo.set({ station: station.id, name: station.name, country: station.country, pool: station.pool }, 1);
  }
}
