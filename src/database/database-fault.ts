import { DrizzleQueryError } from 'drizzle-orm';

/**
 * PostgreSQL could not be reached, or dropped the connection under a query (restarted, failed over, network cut):
 * a fault of the installation, not of the request. The API answers 503 `database_unavailable`; jobs retry.
 * Database.open names the pool's connection failures with it; isDatabaseFault recognises the rest.
 */
export class DatabaseUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super(`database unavailable: ${faultText(cause)}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** Network errors of a socket; a database fault when they come from a query (inside a DrizzleQueryError) or a connect. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
/** postgres.js's codes for a lost connection (niix uses node-postgres; kept so that a change of driver keeps the mapping). */
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);
/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 57P01 admin shutdown, 57P02 crash
 * shutdown, 57P03 cannot connect now (starting, in recovery), 53300 too many connections.
 */
const UNAVAILABLE_STATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/** node-postgres's own messages for a connection that ended under a query or could not be had. */
const LOST_CONNECTION = /^Connection terminated( unexpectedly| due to connection timeout)?$|^Client (has encountered a connection error|was closed) and is not queryable$|^timeout exceeded when trying to connect$|^Query read timeout$/;

/**
 * Whether an error (or one of its causes) means the database is unreachable rather than that the query was wrong:
 * a DatabaseUnavailableError, a driver's lost-connection code or message, a server's "cannot serve now" SQLSTATE,
 * or a network error under a failed query.
 */
export function isDatabaseFault(error: unknown): boolean {
  let underQuery = false;
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length && seen.size < 16) {
    const current = pending.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof DatabaseUnavailableError) return true;
    if (current instanceof DrizzleQueryError) underQuery = true;
    const { code, message, cause, errors } = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') {
      if (DRIVER_CODES.has(code) || UNAVAILABLE_STATE.test(code)) return true;
      if (underQuery && NETWORK_CODES.has(code)) return true;
    }
    if (typeof message === 'string' && LOST_CONNECTION.test(message)) return true;
    pending.push(cause);
    if (Array.isArray(errors)) pending.push(...(errors as unknown[])); // AggregateError: every address of a host refused
  }
  return false;
}

function faultText(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = [typeof code === 'string' ? code : undefined, typeof message === 'string' && message ? message.split('\n')[0] : undefined].filter(Boolean).join(' ');
  if (text) return text;
  const errors = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.length ? faultText(errors[0]) : String(error);
}
