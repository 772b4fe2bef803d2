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
