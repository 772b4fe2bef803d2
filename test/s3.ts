import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import type { S3Settings } from '../src/storage/s3.storage.js';

export interface TestS3 {
  settings: S3Settings;
  close(): Promise<void>;
}

/**
 * An S3 server on loopback (s3rver) for tests of the S3 driver. s3rver accepts any key and signature, so
 * S3 authentication itself is not tested here.
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

