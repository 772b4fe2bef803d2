import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ObjectInfo, type ObjectStorage, ObjectNotFoundError, assertSafeKey } from './object-storage.js';

/** Objects as files under one folder; writes go to a temporary file renamed into place. */
export class FilesystemStorage implements ObjectStorage {
  readonly kind = 'filesystem' as const;

  constructor(private readonly root: string) {}

  private file(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private async temporary(target: string): Promise<string> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    return `${target}.${randomBytes(6).toString('hex')}.partial`;
  }

  async putStream(key: string, body: Readable): Promise<void> {
    const target = this.file(key);
    const partial = await this.temporary(target);
    try {
      await pipeline(body, createWriteStream(partial));
      await fs.rename(partial, target);
    } catch (error) {
      await fs.rm(partial, { force: true });
      throw error;
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.file(key);
    const partial = await this.temporary(target);
    try {
      await fs.writeFile(partial, body);
      await fs.rename(partial, target);
    } catch (error) {
      await fs.rm(partial, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(key));
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async getStream(key: string): Promise<Readable> {
    const file = this.file(key);
    await this.mustExist(file, key);
    return createReadStream(file);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file(key), 'r');
    } catch (error) {
      throw this.translate(error, key);
    }
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async download(key: string, file: string): Promise<void> {
    const source = this.file(key);
    await this.mustExist(source, key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    try {
      await fs.link(source, file); // same filesystem: no copy (objects are never modified in place)
    } catch {
      await fs.copyFile(source, file);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const stats = await fs.stat(this.file(key));
      return stats.isFile() ? { size: stats.size } : null;
    } catch {
      return null;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const trimmed = prefix.replace(/\/+$/, '');
    const target = this.file(trimmed);
    await fs.rm(target, { recursive: true, force: true });
  }

  async ping(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    await fs.access(this.root, fs.constants.W_OK);
  }

  private async mustExist(file: string, key: string): Promise<void> {
    try {
      await fs.access(file);
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  private translate(error: unknown, key: string): Error {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? new ObjectNotFoundError(key) : (error as Error);
  }
}
