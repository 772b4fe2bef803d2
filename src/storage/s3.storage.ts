import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'minio';
import { type ObjectInfo, type ObjectStorage, ObjectNotFoundError, assertSafeKey } from './object-storage.js';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/** MinIO or any S3, path-style, through the `minio` client. Creates the bucket at start when missing. */
export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const;
  readonly client: Client;
  private readonly bucket: string;

  constructor(settings: S3Settings) {
    const url = new URL(settings.endpoint);
    const useSSL = url.protocol === 'https:';
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      pathStyle: true,
    });
    this.bucket = settings.bucket;
    // niix writes every key once and never resumes an upload, so the client's look-up of an unfinished
    // multipart upload to resume (one ListMultipartUploads request per put) is skipped.
    (this.client as unknown as { findUploadId: () => Promise<undefined> }).findUploadId = async () => undefined;
  }

  async ensureBucket(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket);
  }

  async putStream(key: string, body: Readable, contentType = 'application/octet-stream'): Promise<void> {
    assertSafeKey(key);
    // The minio client does not settle when its source stream fails: watch the stream ourselves. An S3 object
    // appears only when its upload completes, so a failed stream leaves no object behind.
    const failed = new Promise<never>((_, reject) => body.once('error', reject));
    await Promise.race([this.client.putObject(this.bucket, key, body, undefined, { 'Content-Type': contentType }), failed]);
  }

  async put(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    assertSafeKey(key);
    await this.client.putObject(this.bucket, key, body, body.length, { 'Content-Type': contentType });
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async getStream(key: string): Promise<Readable> {
    assertSafeKey(key);
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    assertSafeKey(key);
    let stream: Readable;
    try {
      stream = await this.client.getPartialObject(this.bucket, key, offset, length);
    } catch (error) {
      throw this.translate(error, key);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async download(key: string, file: string): Promise<void> {
    assertSafeKey(key);
    const source = await this.getStream(key);
    await mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.partial`;
    try {
      await pipeline(source, createWriteStream(partial));
      await rename(partial, file);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertSafeKey(key);
    try {
      const info = await this.client.statObject(this.bucket, key);
      return { size: info.size };
    } catch (error) {
      if (this.isNotFound(error)) return null;
      throw error;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const names: string[] = [];
    const listing = this.client.listObjectsV2(this.bucket, prefix, true);
    for await (const item of listing as AsyncIterable<{ name?: string }>) {
      if (item.name) names.push(item.name);
    }
    for (let i = 0; i < names.length; i += 1000) {
      await this.client.removeObjects(this.bucket, names.slice(i, i + 1000));
    }
  }

  async ping(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) throw new Error(`bucket ${this.bucket} does not exist`);
  }

  private isNotFound(error: unknown): boolean {
    const code = (error as { code?: string }).code;
    return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
  }

  private translate(error: unknown, key: string): Error {
    return this.isNotFound(error) ? new ObjectNotFoundError(key) : (error as Error);
  }
}
