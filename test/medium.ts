import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { type DynamicModule, type INestApplicationContext, Module, type Provider, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditRepository } from '../src/audit/audit.repository.js';
import type { Role, StationPrincipal, UserPrincipal } from '../src/auth/roles.js';
import { Clock } from '../src/common/clock.js';
import { APP_CONFIG, type AppConfig, loadConfig } from '../src/config/config.js';
import { DATABASE, DatabaseModule } from '../src/database/database.module.js';
import type { Database } from '../src/database/database.js';
import { stations, users } from '../src/database/schema.js';
import { RedisModule } from '../src/redis/redis.module.js';
import { ScanRepository, type ScanRow } from '../src/scans/scan.repository.js';
import { StorageModule } from '../src/storage/storage.module.js';
import { DeliveryService } from '../src/delivery/delivery.service.js';
import { WebhookTransport } from '../src/delivery/webhook.transport.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { QueueRepository } from '../src/queue/queue.repository.js';
import { ResultEventsRepository } from '../src/results/result-events.repository.js';
import { ResultRepository } from '../src/results/result.repository.js';
import { ResultsService } from '../src/results/results.service.js';
import { ReviewQueueRepository } from '../src/review/review-queue.repository.js';
import { ReviewRepository } from '../src/review/review.repository.js';
import { VerdictService } from '../src/review/verdict.service.js';
import { WorklistService } from '../src/review/worklist.service.js';
import { StationRepository } from '../src/stations/station.repository.js';
import { createTestPostgres } from './postgres.js';
import { deleteRedisKeys } from './redis.js';
import { TEST_REDIS_URL } from './service.harness.js';

/**
 * The medium tier: services with their real repositories on a real database (PGlite in a temporary folder, or a
 * fresh PostgreSQL database), real Redis under a key prefix of their own, object storage in a temporary folder.
 * No HTTP, no mocks: a spec lists the providers it needs and gets them from a Nest application context.
 */
export const DATABASE_KINDS = ['pglite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

/** Results back to stations: recording, pull, acknowledgement, live announcements, webhook scheduling. */
export const RESULTS_PROVIDERS: Provider[] = [
  AuditRepository,
  Clock,
  DeliveryService,
  MetricsService,
  QueueRepository,
  ResultEventsRepository,
  ResultRepository,
  ResultsService,
  StationRepository,
  WebhookTransport,
];

/** The analyst work pool and verdicts, with the results they lead to. */
export const REVIEW_PROVIDERS: Provider[] = [...RESULTS_PROVIDERS, ReviewQueueRepository, ReviewRepository, ScanRepository, VerdictService, WorklistService];

@Module({})
class MediumModule {}

export interface Medium {
  config: AppConfig;
  database: Database;
  app: INestApplicationContext;
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

/**
 * Starts the providers on `kind` with their own data folder, database and Redis prefix (`env` adds configuration,
 * e.g. NIIX_ROLES or NIIX_CLAIM_LOCK_SECONDS). `close` stops them and removes all three.
 */
export async function startMedium(kind: DatabaseKind, providers: Provider[], env: Record<string, string> = {}): Promise<Medium> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-medium-'));
  const prefix = `niixtest${randomBytes(4).toString('hex')}`;
  const postgres = kind === 'postgres' ? await createTestPostgres() : undefined;
  const config = loadConfig({
    NIIX_DATA_DIR: dir,
    REDIS_URL: TEST_REDIS_URL,
    NIIX_REDIS_PREFIX: prefix,
    NIIX_ROLES: 'api',
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
    ...env,
  });
  const cleanup = async () => {
    await deleteRedisKeys(TEST_REDIS_URL, `${prefix}:*`);
    await postgres?.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  const module: DynamicModule = {
    module: MediumModule,
    global: true,
    imports: [DatabaseModule, RedisModule, StorageModule],
    providers: [{ provide: APP_CONFIG, useValue: config }, ...providers],
    exports: [APP_CONFIG],
  };
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(module, { logger: false, abortOnError: false });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    config,
    database: app.get<Database>(DATABASE),
    app,
    get: <T>(type: Type<T>) => app.get(type),
    close: async () => {
      await app.close();
      await cleanup();
    },
  };
}

/** A clock the test moves by hand (the services read time and make ids through Clock). */
export class TestClock extends Clock {
  private at = new Date('2025-06-02T08:00:00Z').getTime();

  override now(): Date {
    return new Date(this.at);
  }

  set(at: Date): void {
    this.at = at.getTime();
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

/** A person who signs in, as the auth guard hands them to services. */
export async function insertUser(database: Database, roles: Role[], username = `${roles[0]}-${randomBytes(4).toString('hex')}`): Promise<UserPrincipal> {
  const id = randomUUID();
  await database.db.insert(users).values({ id, username, passwordHash: 'not-used', roles });
  return { kind: 'user', id, username, roles };
}

/** A station, as the auth guard hands it to services, with the columns given. */
export async function insertStation(
  database: Database,
  overrides: Partial<typeof stations.$inferInsert> = {},
): Promise<StationPrincipal & { row: typeof stations.$inferInsert }> {
  const row = {
    id: randomUUID(),
    name: `Lane ${randomBytes(4).toString('hex')}`,
    country: 'LT',
    apiKeyHash: randomBytes(32).toString('hex'),
    webhookSecret: 'secret-of-tests',
    ...overrides,
  };
  await database.db.insert(stations).values(row);
  return { kind: 'station', id: row.id, name: row.name, row };
}

/** A converted scan's manifest with one 800 x 250 side view. */
export function testManifest(scanId: string, stationId: string) {
  return {
    format: 'niix-exchange',
    version: '1.0',
    scanId,
    stationId,
    scanner: { vendor: 'Aurora Inspection Systems', model: 'AX6' },
    acquiredAt: null,
    conveyance: { containers: ['MSCU1234566'], licencePlates: ['ABC123'], declarations: ['25LT000001'], fields: { declaredGoods: 'furniture', driver: 'J. Doe' } },
    views: [{ id: 'side', width: 800, height: 250, pixelSpacingMm: null, airValue: 60000, planes: [{ energy: 'high' }] }],
    provenance: { originals: [], adapter: { id: 'raw:aurora-ax6', version: '1' }, convertedAt: '2025-06-01T00:00:00.000Z', warnings: [] },
  };
}

export interface QueuedScanOptions {
  stationId: string;
  risk?: number;
  pool?: string;
  /** Seconds from `at` to the SLA deadline (negative: overdue). */
  slaSeconds?: number;
  at?: Date;
  metadata?: Record<string, unknown>;
}

/** A scan the way the pipeline leaves it: received, then queued with its manifest and SLA deadline. */
export async function insertQueuedScan(database: Database, options: QueuedScanOptions): Promise<ScanRow> {
  const scans = new ScanRepository(database);
  const id = randomUUID();
  const at = options.at ?? new Date();
  await scans.insertWithFiles(
    {
      id,
      stationId: options.stationId,
      status: 'received',
      contentSha256: id,
      metadata: options.metadata ?? { reference: `ref-${id.slice(0, 8)}` },
      adapterId: 'raw:aurora-ax6',
      riskScore: options.risk ?? 0,
      pool: options.pool ?? 'central',
      receivedAt: at,
    },
    [],
  );
  const moved = await scans.transition(id, ['received'], {
    status: 'queued',
    queuedAt: at,
    slaDeadline: new Date(at.getTime() + (options.slaSeconds ?? 600) * 1000),
    manifest: testManifest(id, options.stationId),
  });
  if (!moved) throw new Error(`scan ${id} could not be queued`);
  return (await scans.findById(id))!;
}

/** The audit actions recorded for a scan, oldest first. */
export async function auditActions(database: Database, scanId: string): Promise<string[]> {
  return (await new AuditRepository(database).forScan(scanId)).map((event) => event.action);
}

/** A pool of a test's own (a random name), with `count` analysts who are its members. */
export async function insertPoolWithAnalysts(
  database: Database,
  review: ReviewRepository,
  count: number,
  rules: { fourEyesRisk?: number; fourEyesOnInspect?: boolean } = {},
): Promise<{ pool: string; analysts: UserPrincipal[] }> {
  const pool = `p-${randomBytes(4).toString('hex')}`;
  await review.savePool({ name: pool, ...rules });
  const analysts: UserPrincipal[] = [];
  for (let i = 0; i < count; i++) {
    const analyst = await insertUser(database, ['analyst']);
    await review.addMember(pool, analyst.id);
    analysts.push(analyst);
  }
  return { pool, analysts };
}
