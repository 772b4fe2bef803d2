/** Nearest-rank percentile of a list of numbers (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

/** p50, p95 and the largest of a list, with its length (NaN for an empty list). */
export interface Spread {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const max = values.reduce((largest, value) => Math.max(largest, value), Number.NEGATIVE_INFINITY);
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95), max: values.length ? max : Number.NaN };
}

/**
 * The largest number of intervals open at once: each interval is [start, end), an end of undefined is still open
 * at `until`. For backlogs: how many scans waited at the same time.
 */
export function peakOverlap(intervals: { start: number; end: number | undefined }[], until: number): number {
  const events: [number, number][] = [];
  for (const { start, end } of intervals) {
    events.push([start, 1], [end ?? until, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, step] of events) {
    open += step;
    peak = Math.max(peak, open);
  }
  return peak;
}
