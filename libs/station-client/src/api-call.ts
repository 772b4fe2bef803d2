import { StationApiError, StationNetworkError } from './station-api.error.js';

/** How a call is retried after a network error or a 5xx answer; 4xx answers are never retried. */
export interface RetryOptions {
  /** Tries in all, the first included (default 5). 1 turns retries off. */
  attempts?: number;
  /** Delay before the first retry; it doubles each time, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Longest delay between two tries, also the cap on a server's Retry-After (default 10 s). */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 };

/** What an openapi-fetch call resolves to. */
export interface CallOutcome<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/**
 * Runs one API call (`send` builds a fresh request each time, so a streamed body is sent again from the start)
 * and retries it on network errors and 5xx answers with exponential backoff. Only calls that are safe to repeat
 * may be retried: reads, and uploads that carry an Idempotency-Key.
 * Resolves with the data and response of a 2xx answer; throws StationApiError or StationNetworkError.
 */
export async function callApi<Data>(
  url: string,
  send: () => Promise<CallOutcome<Data>>,
  retry: Required<RetryOptions> | false,
  sleep: (ms: number) => Promise<void> = delay,
): Promise<{ data: Data | undefined; response: Response }> {
  const attempts = retry ? Math.max(1, retry.attempts) : 1;
  for (let attempt = 1; ; attempt++) {
    let outcome: CallOutcome<Data>;
    try {
      outcome = await send();
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      if (!retry || attempt >= attempts) throw new StationNetworkError(url, error);
      await sleep(backoff(retry, attempt));
      continue;
    }
    const { response } = outcome;
    if (response.ok) return { data: outcome.data, response };
    if (retry && response.status >= 500 && attempt < attempts) {
      await sleep(backoff(retry, attempt, response.headers.get('retry-after')));
      continue;
    }
    throw StationApiError.from(response, outcome.error);
  }
}

/** fetch rejects with a TypeError when the request never got an answer (refused, reset, DNS, TLS). */
export function isNetworkError(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_SOCKET)$/.test(code);
}

/** Exponential backoff with jitter (half to all of the step); a Retry-After in seconds is honoured up to the cap. */
export function backoff(retry: Required<RetryOptions>, attempt: number, retryAfter?: string | null): number {
  const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, retry.maxDelayMs);
  const ceiling = Math.min(retry.baseDelayMs * 2 ** (attempt - 1), retry.maxDelayMs);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
