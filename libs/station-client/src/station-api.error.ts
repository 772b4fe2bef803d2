/** An error answer of the niix API: the HTTP status and the `{ error: { code, message } }` of its body. */
export class StationApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'StationApiError';
  }

  /** Builds the error from a response and its body (parsed JSON, text, or nothing). */
  static from(response: Response, body: unknown): StationApiError {
    const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
    if (error && typeof error.code === 'string') {
      const message = typeof error.message === 'string' ? error.message : error.code;
      return new StationApiError(response.status, error.code, message, isRecord(error.details) ? error.details : undefined);
    }
    // not a niix error body (a proxy's page, an empty answer): keep the status and a short excerpt
    const text = typeof body === 'string' ? body.trim().replace(/\s+/g, ' ').slice(0, 200) : '';
    return new StationApiError(response.status, `http_${response.status}`, text || response.statusText || `HTTP ${response.status}`);
  }
}

/** The service could not be reached (connection refused or reset, DNS, TLS), after every retry. */
export class StationNetworkError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach niix at ${url}: ${describeCause(cause)}`, { cause });
    this.name = 'StationNetworkError';
  }
}

/** `waitForScan` gave up; `scan` is the last state it saw. */
export class ScanWaitTimeoutError<Scan extends { id: string; status: string } = { id: string; status: string }> extends Error {
  constructor(
    readonly scan: Scan,
    timeoutMs: number,
  ) {
    super(`scan ${scan.id} is still ${scan.status} after ${timeoutMs} ms`);
    this.name = 'ScanWaitTimeoutError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** undici hides the useful part ("connect ECONNREFUSED 127.0.0.1:3000") in `cause`. */
function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = cause.cause;
  if (inner instanceof AggregateError && inner.errors[0] instanceof Error) return inner.errors[0].message;
  if (inner instanceof Error && inner.message) return inner.message;
  return cause.message;
}
