import type { ProcessRole } from '../config/config.js';

/** Every queue of niix. Machine work only; the analyst work pool comes with the review issue. */
export enum QueueName {
  Convert = 'convert',
  Render = 'render',
  /** Webhooks with results to the stations (outbound HTTP, role `deliver`). */
  Deliver = 'deliver',
}

/** Every job of niix. The chain (which job leads to which) is drawn in docs/architecture.md and coded in PipelineService. */
export enum JobName {
  /** Vendor files → exchange package (manifest + lossless planes). */
  ConvertScan = 'convert-scan',
  /** Exchange package → display image, thumbnail, deep-zoom tiles, material map; then the scan is `queued`. */
  RenderScan = 'render-scan',
  /** A result (verdict or failure) → signed webhook to the station's callback URL; retried for at least 24 hours. */
  DeliverResult = 'deliver-result',
  /** A threat item projected into a clean archived scan → a training-only scan (package + viewer images), `ready`. */
  ProjectThreat = 'project-threat',
}

/**
 * Ids only. `requestId` is the id of the HTTP request that led to the job (set by QueueRepository.add from the
 * request's log context, absent for work put back at start): the job's log lines carry it, so one id follows an
 * upload through its conversion, or a verdict to its webhook.
 */
export interface JobPayloads {
  [JobName.ConvertScan]: { scanId: string; requestId?: string };
  [JobName.RenderScan]: { scanId: string; requestId?: string };
  [JobName.DeliverResult]: { resultId: string; requestId?: string };
  [JobName.ProjectThreat]: { scanId: string; requestId?: string };
}
export type JobOf<N extends JobName> = JobPayloads[N];

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.ConvertScan]: QueueName.Convert,
  [JobName.RenderScan]: QueueName.Render,
  [JobName.DeliverResult]: QueueName.Deliver,
  [JobName.ProjectThreat]: QueueName.Render,
};

/** Which process role runs the workers of each queue. */
export const QUEUE_ROLE: Record<QueueName, ProcessRole> = {
  [QueueName.Convert]: 'convert',
  [QueueName.Render]: 'convert',
  [QueueName.Deliver]: 'deliver',
};

/** Jobs run at once per process on a queue, where not NIIX_CONVERT_CONCURRENCY: webhooks wait on the network, not the CPU. */
export const QUEUE_CONCURRENCY: Partial<Record<QueueName, number>> = {
  [QueueName.Deliver]: 16,
};

/** Deterministic job ids: a retried or duplicated enqueue of the same work is the same job. */
export function jobId<N extends JobName>(name: N, payload: JobOf<N>): string {
  const subject = payload as JobPayloads[JobName];
  return `${name}-${'resultId' in subject ? subject.resultId : subject.scanId}`;
}
