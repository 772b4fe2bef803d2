import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface UploadInspectorOptions {
  /** Bytes needed before `judgeHead` is asked (the adapters' sniff length). */
  judgeBytes: number;
  /** Bytes of the head kept for later header checks (at least judgeBytes). */
  keepBytes: number;
  /** Bytes this file may still have before the upload is too large. */
  budget: () => number;
  judgeHead: (head: Buffer) => Error | null;
  overBudget: () => Error;
}

/**
 * Sits between an uploaded file part and object storage: hashes and counts every byte, keeps the first bytes
 * and, as soon as `judgeBytes` have arrived (or the file ended sooner), asks `judgeHead` whether to go on.
 * A judgement error or a byte budget overrun stops the stream at once, so a wrong upload is refused while it
 * streams.
 */
export class UploadInspector extends Transform {
  private readonly hash = createHash('sha256');
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  private judged = false;
  private digest?: string;
  bytes = 0;

  constructor(private readonly options: UploadInspectorOptions) {
    super();
  }

  /** The sha-256 of all bytes; call after the stream has ended. */
  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }

  /** The first `keepBytes` bytes (fewer when the file is shorter). */
  head(length = this.options.keepBytes): Buffer {
    return Buffer.concat(this.headChunks).subarray(0, length);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.options.budget()) {
      callback(this.options.overBudget());
      return;
    }
    this.hash.update(chunk);
    if (this.headLength < this.options.keepBytes) {
      this.headChunks.push(chunk);
      this.headLength += chunk.length;
    }
    if (!this.judged && this.headLength >= this.options.judgeBytes) {
      const error = this.judge();
      if (error) {
        callback(error);
        return;
      }
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.judged ? null : this.judge());
  }

  private judge(): Error | null {
    this.judged = true;
    return this.options.judgeHead(this.head(this.options.judgeBytes));
  }
}
