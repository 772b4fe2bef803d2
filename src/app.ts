import 'reflect-metadata';
import os from 'node:os';
import multipart from '@fastify/multipart';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import sharp from 'sharp';
import { AppModule } from './app.module.js';
import { AuthService } from './auth/auth.service.js';
import type { AppConfig } from './config/config.js';
import { AppLogger } from './logging/app-logger.js';
import { registerRequestContext, requestIdFor } from './logging/request-context.js';
import { registerHttpMetrics } from './metrics/http-metrics.js';
import { ReconcileService } from './reconcile/reconcile.service.js';
import { RedisPrefixService } from './redis/redis-prefix.service.js';
import { registerWebApp } from './web/web-app.js';

export interface StartOptions {
  /** false: no log at all (most end-to-end tests). */
  logger?: false;
  /** Where the log lines go (a test captures them); stdout by default. */
  logDestination?: DestinationStream;
  /** Where the generated first-admin password is printed once, outside the log; stderr by default. */
  console?: { write(text: string): unknown };
}

/** Builds, starts and returns the service for this configuration (used by main and the end-to-end tests). */
export async function startApp(config: AppConfig, options: StartOptions = {}): Promise<NestFastifyApplication> {
  // libvips may use every core for one image: a conversion is mostly waiting on its largest image steps
  // (measured: rendering an 8000 x 2500 dual-energy view takes 0.66 s on 2 threads, 0.85 s on 1).
  sharp.concurrency(os.availableParallelism());
  const adapter = new FastifyAdapter({ bodyLimit: 1024 * 1024, trustProxy: true, genReqId: requestIdFor });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: options.logger === false ? false : AppLogger.create(config, { destination: options.logDestination }),
    abortOnError: false,
  });
  // Before init starts any worker: a Redis prefix owned by another installation stops start-up here.
  await app
    .get(RedisPrefixService)
    .claim()
    .catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
  await app.register(multipart, {
    limits: { fileSize: config.limits.maxUploadBytes + 1, files: 64, fields: 8, fieldSize: 1024 * 1024, parts: 80 },
  });
  registerRequestContext(app);
  registerHttpMetrics(app);
  registerWebApp(app);
  app.enableShutdownHooks();
  await app.init();
  const generatedPassword = await app.get(AuthService).ensureFirstAdmin();
  if (generatedPassword) {
    // The one secret niix ever prints: once, for the operator, on stderr beside (not inside) the JSON log.
    (options.console ?? process.stderr).write(`niix: created the first administrator "admin" with the password ${generatedPassword} (shown once; change it)\n`);
  }
  // The database is the system of record: put back the jobs and results a crash or a lost Redis dropped, now and
  // then every NIIX_RECONCILE_SECONDS (the timer stops when the app closes).
  await app.get(ReconcileService).start();
  await app.listen({ port: config.port, host: config.host });
  new Logger('niix').log(`listening on ${await app.getUrl()} with roles ${[...config.roles].join(', ')}; ${describeConfig(config)}`);
  return app;
}

/** Where the parts are, for the start-up line: hosts and names, never credentials. */
function describeConfig(config: AppConfig): string {
  const database = config.database.kind === 'postgres' ? `postgres ${hostOf(config.database.url)}` : `pglite ${config.database.dir}`;
  const storage = config.storage.kind === 's3' ? `s3 ${hostOf(config.storage.endpoint)} bucket ${config.storage.bucket}` : `files ${config.storage.dir}`;
  const redis = `redis ${config.redis.url ? hostOf(config.redis.url) : 'local'} prefix ${config.redis.prefix}`;
  return `database ${database}; ${redis}; storage ${storage}; metrics ${config.metricsToken ? 'on' : 'off'}`;
}

function hostOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}
