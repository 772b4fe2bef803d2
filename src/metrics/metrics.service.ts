import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds, from a quick API call to a slow upload. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds a conversion takes: a small PNG to a very wide dual-energy DICOS series. */
const CONVERSION_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];
/** Seconds of people's work: an analyst on one case, a case from the pool to its final verdict. */
const HUMAN_BUCKETS = [5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 86400];

/**
 * The service's metrics, in a registry of its own (one per app instance: several services in one process, as in
 * the tests, do not share counters). Services call the intent-level methods; labels are ids and names from small
 * sets (stations, adapters, pools, route patterns), never free text, so the series stay bounded.
 * The gauges of shared state (pools, queues, stations) are set at scrape time by MetricsScrapeService.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'niix_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern (not the raw URL) and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly received = new Counter({
    name: 'niix_scans_received_total',
    help: 'Scans accepted from stations (an upload answered 202), by station id and adapter',
    labelNames: ['station', 'adapter'] as const,
    registers: [this.registry],
  });
  private readonly converted = new Counter({
    name: 'niix_scans_converted_total',
    help: 'Scans converted and put into their pool (status queued), by station id and adapter',
    labelNames: ['station', 'adapter'] as const,
    registers: [this.registry],
  });
  private readonly failed = new Counter({
    name: 'niix_scans_failed_total',
    help: 'Scans that ended as failed, by station id, adapter and failure code',
    labelNames: ['station', 'adapter', 'code'] as const,
    registers: [this.registry],
  });
  private readonly conversionDuration = new Histogram({
    name: 'niix_conversion_duration_seconds',
    help: 'Time of one conversion job that ended with the scan queued (vendor files to package and viewer images), by adapter',
    labelNames: ['adapter'] as const,
    buckets: CONVERSION_BUCKETS,
    registers: [this.registry],
  });
  private readonly claimDuration = new Histogram({
    name: 'niix_claim_duration_seconds',
    help: "Time an analyst held a case, from the claim to the verdict, by pool and stage (first or second opinion)",
    labelNames: ['pool', 'stage'] as const,
    buckets: HUMAN_BUCKETS,
    registers: [this.registry],
  });
  private readonly decisionDuration = new Histogram({
    name: 'niix_decision_duration_seconds',
    help: 'Time from a scan entering its pool (queued) to its final verdict, by pool',
    labelNames: ['pool'] as const,
    buckets: HUMAN_BUCKETS,
    registers: [this.registry],
  });
  private readonly verdicts = new Counter({
    name: 'niix_verdicts_total',
    help: 'Verdicts recorded, by pool, stage and decision',
    labelNames: ['pool', 'stage', 'decision'] as const,
    registers: [this.registry],
  });
  private readonly deliveriesAttempted = new Counter({
    name: 'niix_deliveries_attempted_total',
    help: "Webhook calls made to stations' callback URLs, by station id",
    labelNames: ['station'] as const,
    registers: [this.registry],
  });
  private readonly deliveriesFailed = new Counter({
    name: 'niix_deliveries_failed_total',
    help: 'Webhook calls that did not get a 2xx answer (each is retried until the attempts run out), by station id',
    labelNames: ['station'] as const,
    registers: [this.registry],
  });
  private readonly undelivered = new Counter({
    name: 'niix_deliveries_undelivered_total',
    help: 'Results whose webhook gave up after its last attempt (listed for administrators), by station id',
    labelNames: ['station'] as const,
    registers: [this.registry],
  });

  /** Node's process metrics (CPU, memory, event loop lag, GC), started with the app rather than per instance made in a spec. */
  onModuleInit(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  scanReceived(station: string, adapter: string): void {
    this.received.inc({ station, adapter });
  }

  scanConverted(station: string, adapter: string, seconds?: number): void {
    this.converted.inc({ station, adapter });
    if (seconds !== undefined) this.conversionDuration.observe({ adapter }, seconds);
  }

  scanFailed(station: string, adapter: string, code: string): void {
    this.failed.inc({ station, adapter, code });
  }

  verdict(pool: string, stage: string, decision: string, claimSeconds: number): void {
    this.verdicts.inc({ pool, stage, decision });
    this.claimDuration.observe({ pool, stage }, claimSeconds);
  }

  decided(pool: string, secondsInPool: number): void {
    this.decisionDuration.observe({ pool }, secondsInPool);
  }

  deliveryAttempted(station: string, ok: boolean): void {
    this.deliveriesAttempted.inc({ station });
    if (!ok) this.deliveriesFailed.inc({ station });
  }

  deliveryGaveUp(station: string): void {
    this.undelivered.inc({ station });
  }

  /** A gauge of this registry, for values read at scrape time. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
