/** Keys that would tell a trainee the truth or the origin of a case; none may appear in what a trainee gets before answering. */
export const TRUTH_KEYS = ['threat', 'categories', 'regions', 'kind', 'sourceScanId', 'threatItemId', 'scanId', 'stationId', 'provenance', 'training'];

/** Every object key anywhere in a JSON value. */
export function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysOf(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      into.add(key);
      keysOf(inner, into);
    }
  }
  return into;
}
