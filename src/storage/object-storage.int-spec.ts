import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemStorage } from './filesystem.storage.js';
import { type ObjectStorage, ObjectNotFoundError } from './object-storage.js';
import { S3Storage } from './s3.storage.js';
import { startS3rver, type TestS3 } from '../../test/s3.js';

/** The same behaviour from both drivers: the filesystem and S3 (spoken to s3rver over HTTP). */
describe.each(['filesystem', 's3'] as const)('object storage driver %s', (kind) => {
  let storage: ObjectStorage;
  let dir: string;
  let s3: TestS3 | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'niix-storage-'));
    if (kind === 'filesystem') {
      storage = new FilesystemStorage(path.join(dir, 'objects'));
    } else {
      s3 = await startS3rver(path.join(dir, 's3'));
      const driver = new S3Storage(s3.settings);
      await driver.ensureBucket();
      storage = driver;
    }
  });

  afterAll(async () => {
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores streams and buffers, reads them whole and in ranges', async () => {
    const big = Buffer.alloc(7 * 1024 * 1024 + 13);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    await storage.putStream('scans/a/original/0', Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
    await storage.put('scans/a/package/manifest.json', Buffer.from('{"x":1}'), 'application/json');
    expect((await storage.get('scans/a/original/0')).equals(big)).toBe(true);
    expect((await storage.getRange('scans/a/original/0', 5_000_000, 100)).equals(big.subarray(5_000_000, 5_000_100))).toBe(true);
    expect(await storage.stat('scans/a/original/0')).toEqual({ size: big.length });
    const file = path.join(dir, 'download', 'copy.bin');
    await storage.download('scans/a/package/manifest.json', file);
    expect(readFileSync(file, 'utf8')).toBe('{"x":1}');
  });

  it('reports a missing object', async () => {
    expect(await storage.stat('scans/none/x')).toBeNull();
    await expect(storage.get('scans/none/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.getRange('scans/none/x', 0, 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('leaves nothing behind when the stream fails', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('station hung up'));
      },
    });
    await expect(storage.putStream('scans/b/original/0', failing)).rejects.toThrow();
    expect(await storage.stat('scans/b/original/0')).toBeNull();
  });

  it('deletes by prefix', async () => {
    await storage.put('scans/c/one', Buffer.from('1'));
    await storage.put('scans/c/two/three', Buffer.from('3'));
    await storage.put('scans/cc/keep', Buffer.from('k'));
    await storage.deletePrefix('scans/c/');
    expect(await storage.stat('scans/c/one')).toBeNull();
    expect(await storage.stat('scans/c/two/three')).toBeNull();
    expect(await storage.stat('scans/cc/keep')).toEqual({ size: 1 });
    await storage.ping();
  });

  it('refuses keys that could leave the store', async () => {
    await expect(storage.put('../etc/passwd', Buffer.from('x'))).rejects.toThrow('unsafe object key');
  });
});
