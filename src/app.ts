import 'reflect-metadata';
import os from 'node:os';
import multipart from '@fastify/multipart';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import sharp from 'sharp';
import { AppModule } from './app.module.js';
import { AuthService } from './auth/auth.service.js';
import type { AppConfig } from './config/config.js';
import { DeliveryService } from './delivery/delivery.service.js';
import { PipelineService } from './pipeline/pipeline.service.js';
import { VerdictService } from './review/verdict.service.js';
import { ProjectionService } from './training/projection.service.js';
import { registerWebApp } from './web/web-app.js';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Builds, starts and returns the service for this configuration (used by main and the end-to-end tests). */
export async function startApp(config: AppConfig, options: { logger?: false } = {}): Promise<NestFastifyApplication> {
  // libvips may use every core for one image: a conversion is mostly waiting on its largest image steps
  // (measured: rendering an 8000 x 2500 dual-energy view takes 0.66 s on 2 threads, 0.85 s on 1).
  sharp.concurrency(os.availableParallelism());
  const adapter = new FastifyAdapter({ bodyLimit: 1024 * 1024, trustProxy: true });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: options.logger === false ? false : LEVELS.slice(0, LEVELS.indexOf(config.logLevel) + 1),
    abortOnError: false,
  });
  await app.register(multipart, {
    limits: { fileSize: config.limits.maxUploadBytes + 1, files: 64, fields: 8, fieldSize: 1024 * 1024, parts: 80 },
  });
  registerWebApp(app);
  app.enableShutdownHooks();
  await app.init();
  await app.get(AuthService).ensureFirstAdmin();
  // The database is the system of record: put back the jobs and results a crash or a lost Redis dropped.
  await app.get(PipelineService).reconcile();
  await app.get(VerdictService).reconcileResults();
  await app.get(DeliveryService).reconcile();
  await app.get(ProjectionService).reconcile();
  await app.listen({ port: config.port, host: config.host });
  new Logger('niix').log(`listening on ${await app.getUrl()} with roles ${[...config.roles].join(', ')}`);
  return app;
}
