import type { BackoffStrategy } from 'bullmq';

/** Backoff type for jobs that retry for a long time: doubling waits from `delay`, each at most an hour. */
export const CAPPED_EXPONENTIAL = 'capped-exponential';
export const MAX_BACKOFF_MS = 60 * 60 * 1000;

/** The wait after the `attemptsMade`-th failed attempt (1 = after the first): base, 2 x base, 4 x base, ... ≤ 1 hour. */
export function cappedExponentialDelay(attemptsMade: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, Math.round(baseMs * 2 ** Math.max(0, attemptsMade - 1)));
}

/** The workers' strategy for backoff types BullMQ does not know (its own `fixed` and `exponential` never get here). */
export const backoffStrategy: BackoffStrategy = (attemptsMade, type, _error, job) => {
  if (type !== CAPPED_EXPONENTIAL) throw new Error(`unknown backoff type ${type ?? '(none)'}`);
  const backoff = job?.opts.backoff;
  return cappedExponentialDelay(attemptsMade, typeof backoff === 'object' && backoff.delay ? backoff.delay : 1000);
};
