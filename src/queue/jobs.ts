import type { ProcessRole } from '../config/config.js';

/** Every queue of niix. Machine work only; the analyst work pool comes with the review issue. */
export enum QueueName {
  Convert = 'convert',
  Render = 'render',
}

/** Every job of niix. The chain (which job leads to which) is drawn in docs/architecture.md and coded in PipelineService. */
export enum JobName {
  /** Vendor files → exchange package (manifest + lossless planes). */
  ConvertScan = 'convert-scan',
  /** Exchange package → display image, thumbnail, deep-zoom tiles, material map; then the scan is `queued`. */
  RenderScan = 'render-scan',
}

export interface JobPayloads {
  [JobName.ConvertScan]: { scanId: string };
  [JobName.RenderScan]: { scanId: string };
}
export type JobOf<N extends JobName> = JobPayloads[N];

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.ConvertScan]: QueueName.Convert,
  [JobName.RenderScan]: QueueName.Render,
};

/** Which process role runs the workers of each queue. */
export const QUEUE_ROLE: Record<QueueName, ProcessRole> = {
  [QueueName.Convert]: 'convert',
  [QueueName.Render]: 'convert',
};

/** Deterministic job ids: a retried or duplicated enqueue of the same work is the same job. */
export function jobId<N extends JobName>(name: N, payload: JobOf<N>): string {
  return `${name}-${payload.scanId}`;
}
