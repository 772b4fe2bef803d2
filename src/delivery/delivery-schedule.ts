import { cappedExponentialDelay } from '../queue/backoff.js';

/** Webhooks are retried for at least this long before a result is marked undelivered. */
export const DELIVERY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The waits between attempts: base, 2 x base, 4 x base, ..., each at most 1 hour (one fewer than attempts). */
export function deliveryWaits(baseMs: number, attempts: number): number[] {
  return Array.from({ length: Math.max(0, attempts - 1) }, (_, i) => cappedExponentialDelay(i + 1, baseMs));
}

/** The fewest attempts whose waits add up to the delivery window (36 with the default 1 s base). */
export function deliveryAttempts(baseMs: number, windowMs = DELIVERY_WINDOW_MS): number {
  let attempts = 1;
  for (let waited = 0; waited < windowMs; attempts++) waited += cappedExponentialDelay(attempts, baseMs);
  return attempts;
}
