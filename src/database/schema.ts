import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  bigint,
} from 'drizzle-orm/pg-core';

/** People who sign in: administrators, supervisors, analysts, trainers and trainees. */
export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  roles: text('roles').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Signed-in sessions; the bearer token itself is never stored, only its sha-256. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('sessions_user_idx').on(table.userId)],
);

/** Scanner stations (a lane at a border post or port): machine clients with an API key. */
export const stations = pgTable('stations', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  country: text('country').notNull(),
  vendor: text('vendor'),
  callbackUrl: text('callback_url'),
  /** sha-256 of the API key (keys are 256-bit random, so a fast hash is enough). */
  apiKeyHash: text('api_key_hash').notNull().unique(),
  /** Secret for signing webhooks to the station; needed in clear to sign. */
  webhookSecret: text('webhook_secret').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const SCAN_STATUSES = ['received', 'converting', 'queued', 'failed'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];

/** One scan of one conveyance at one station: the system of record for its state. */
export const scans = pgTable(
  'scans',
  {
    id: uuid('id').primaryKey(),
    stationId: uuid('station_id')
      .notNull()
      .references(() => stations.id),
    status: text('status').$type<ScanStatus>().notNull(),
    /** The station's Idempotency-Key header, when sent. */
    idempotencyKey: text('idempotency_key'),
    /** sha-256 over the sha-256 of every uploaded file in order: the same content sent again is the same scan. */
    contentSha256: text('content_sha256').notNull(),
    metadata: jsonb('metadata').notNull(),
    adapterId: text('adapter_id'),
    manifest: jsonb('manifest'),
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    convertingAt: timestamp('converting_at', { withTimezone: true }),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    failedAt: timestamp('failed_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('scans_station_idempotency_key').on(table.stationId, table.idempotencyKey),
    uniqueIndex('scans_station_content').on(table.stationId, table.contentSha256),
    index('scans_status_idx').on(table.status),
    index('scans_station_received_idx').on(table.stationId, table.receivedAt),
  ],
);

/** The unchanged originals a station uploaded, kept for chain of custody. */
export const scanFiles = pgTable(
  'scan_files',
  {
    scanId: uuid('scan_id')
      .notNull()
      .references(() => scans.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    name: text('name').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    objectKey: text('object_key').notNull(),
  },
  (table) => [primaryKey({ columns: [table.scanId, table.position] })],
);

/** Append-only audit trail: who did what to which scan. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`now()`),
    actorType: text('actor_type').$type<'user' | 'station' | 'system'>().notNull(),
    actorId: text('actor_id').notNull(),
    action: text('action').notNull(),
    scanId: uuid('scan_id'),
    detail: jsonb('detail').notNull().default({}),
  },
  (table) => [index('audit_scan_idx').on(table.scanId)],
);
