import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while handling one request or running one job carries: the request id (from the
 * HTTP request, or the one that enqueued the job), the scan when known, and the job. Ids only.
 */
export interface LogContext {
  requestId?: string;
  scanId?: string;
  job?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with this context; annotations made while it runs go into this object. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request or job being handled, if any. */
export function currentLogContext(): Readonly<LogContext> | undefined {
  return storage.getStore();
}

/** Adds what became known while handling (e.g. the id of a scan just received); no-op outside a context. */
export function annotateLogContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** The request id of the current request or job, carried into the jobs it enqueues. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
