import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import type { S3Settings, S3Storage } from '../src/storage/s3.storage.js';

export interface TestS3 {
  settings: S3Settings;
  close(): Promise<void>;
}

/**
 * An S3 server on loopback (s3rver) for tests of the S3 driver. s3rver does not list in-progress multipart
 * uploads; the driver streams large objects as multipart, which s3rver handles once the client does not look
 * for an earlier upload to resume.
 */
export async function startS3rver(directory: string): Promise<TestS3> {
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const address = (await server.run()) as AddressInfo;
  return {
    settings: {
      endpoint: `http://127.0.0.1:${address.port}`,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      bucket: 'niix-test',
      region: 'us-east-1',
    },
    close: () => server.close(),
  };
}

/** s3rver cannot list in-progress multipart uploads (501); a fresh upload never needs to resume one. */
export function adaptClientToS3rver(storage: S3Storage): void {
  (storage.client as unknown as { findUploadId: () => Promise<undefined> }).findUploadId = async () => undefined;
}
