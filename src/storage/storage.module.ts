import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { FilesystemStorage } from './filesystem.storage.js';
import { OBJECT_STORAGE, type ObjectStorage, withStorageFaults } from './object-storage.js';
import { S3Storage } from './s3.storage.js';

/** Builds the ObjectStorage driver the configuration names. Tests may override OBJECT_STORAGE. */
export async function createObjectStorage(config: AppConfig): Promise<ObjectStorage> {
  if (config.storage.kind === 'filesystem') return withStorageFaults(new FilesystemStorage(config.storage.dir));
  const storage = new S3Storage(config.storage);
  await storage.ensureBucket();
  return withStorageFaults(storage);
}

@Global()
@Module({
  providers: [{ provide: OBJECT_STORAGE, inject: [APP_CONFIG], useFactory: createObjectStorage }],
  exports: [OBJECT_STORAGE],
})
export class StorageModule {}
