/**
 * An error of a Redis that does not answer (ioredis gave up retrying, the connection is down or refused), not a
 * command Redis refused. The API answers such errors with 503 `queue_unavailable`. A bare network error (a refused
 * connection) counts only where the caller knows it came from a Redis call (`fromRedisCall`): elsewhere it may be
 * any other service's.
 */
export function isRedisUnavailable(error: unknown, options: { fromRedisCall?: boolean } = {}): boolean {
  const fault = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; code?: unknown; message?: unknown };
  return (
    fault.name === 'QueueUnavailableError' ||
    fault.name === 'MaxRetriesPerRequestError' ||
    /^Connection is closed|^Stream isn't writeable|^Reached the max retries per request limit/.test(String(fault.message)) ||
    (options.fromRedisCall === true && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'].includes(String(fault.code)))
  );
}
