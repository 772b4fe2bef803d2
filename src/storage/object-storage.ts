import type { Readable } from 'node:stream';

/** Facts about one stored object. */
export interface ObjectInfo {
  size: number;
}

/**
 * Object storage for originals, exchange packages and renditions. Two drivers: the local filesystem
 * (embedded default) and S3 (MinIO or any S3, production). Keys are `/`-separated, e.g. `scans/<id>/original/0`.
 * A written object appears whole or not at all.
 */
export interface ObjectStorage {
  readonly kind: 'filesystem' | 's3';
  /** Writes a stream; resolves when the object is stored. On a stream error nothing is left behind. */
  putStream(key: string, body: Readable, contentType?: string): Promise<void>;
  put(key: string, body: Buffer, contentType?: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  getStream(key: string): Promise<Readable>;
  /** `length` bytes from `offset`. */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Copies the object to a local file (for decoders that want a path). */
  download(key: string, file: string): Promise<void>;
  stat(key: string): Promise<ObjectInfo | null>;
  /** Deletes every object whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /** Resolves when the storage answers. */
  ping(): Promise<void>;
}

/** Injection token for the configured ObjectStorage driver. */
export const OBJECT_STORAGE = Symbol('OBJECT_STORAGE');

/** Thrown by `get`, `getStream`, `getRange` and `download` for a key that does not exist. */
export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no object at ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._\-/]*$/;

/** Keys are built by niix itself; this guards against a bug letting `..` or odd characters through. */
export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`unsafe object key ${JSON.stringify(key)}`);
  }
}

/**
 * The object storage refused or did not answer (unreachable, read-only, full, access denied): a fault of the
 * installation, not of the request. The API answers 503 `storage_unavailable`; jobs retry.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(`object storage unavailable (${operation}): ${storageFaultText(cause)}`);
    this.name = 'StorageUnavailableError';
  }
}

/** Operating-system, network and S3 error codes that mean the storage itself is at fault. */
const STORAGE_FAULT_CODES = new Set([
  'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'ENFILE', 'ENOTDIR', 'EISDIR',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET',
  'AccessDenied', 'AllAccessDisabled', 'NoSuchBucket', 'ServiceUnavailable', 'SlowDown', 'InternalError',
  'XMinioStorageFull', 'XMinioServerNotInitialized', 'XMinioReadQuorum', 'XMinioWriteQuorum', 'RequestTimeout',
]);

function storageFaultText(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return [typeof code === 'string' ? code : undefined, typeof message === 'string' ? message.split('\n')[0] : undefined].filter(Boolean).join(' ') || String(error);
}

/** Whether an error thrown by a driver is a storage fault (not a missing object, not an error of the data written). */
export function isStorageFault(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STORAGE_FAULT_CODES.has(code)) return true;
  const cause = (error as { cause?: unknown } | null)?.cause; // fetch-style network errors carry the code in their cause
  return cause !== undefined && cause !== error && isStorageFault(cause);
}

/**
 * The driver with its faults named: every call that fails because the storage refused or did not answer rejects
 * with StorageUnavailableError; missing objects and errors of the written stream (an upload over its limit, say)
 * pass through unchanged.
 */
export function withStorageFaults(driver: ObjectStorage): ObjectStorage {
  const guard =
    <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        throw isStorageFault(error) && !(error instanceof StorageUnavailableError) ? new StorageUnavailableError(operation, error) : error;
      }
    };
  return {
    kind: driver.kind,
    putStream: guard('write', driver.putStream.bind(driver)),
    put: guard('write', driver.put.bind(driver)),
    get: guard('read', driver.get.bind(driver)),
    getStream: guard('read', driver.getStream.bind(driver)),
    getRange: guard('read', driver.getRange.bind(driver)),
    download: guard('read', driver.download.bind(driver)),
    stat: guard('read', driver.stat.bind(driver)),
    deletePrefix: guard('delete', driver.deletePrefix.bind(driver)),
    ping: guard('ping', driver.ping.bind(driver)),
  };
}
