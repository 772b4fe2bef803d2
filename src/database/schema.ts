import { sql } from 'drizzle-orm';
import type { ScanMetadata } from '../../libs/exchange-format/src/metadata.js';
import {
  boolean,
  doublePrecision,
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

/**
 * This installation's identity: one row, made at first start. Its id is recorded under the Redis key prefix so
 * that a second installation (another database) on the same prefix refuses to start instead of taking jobs.
 */
export const installation = pgTable('installation', {
  id: uuid('id').primaryKey(),
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
  /** The analyst pool this station's scans go to. */
  pool: text('pool').notNull().default('central'),
  /** Time from `queued` to a final verdict this station needs (e.g. 120 for a drive-through lane). */
  slaSeconds: integer('sla_seconds').notNull().default(600),
  /** Risk level of the station (0..100); a scan's risk is the higher of this and its declaration's score. */
  riskLevel: integer('risk_level').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Analyst pools (an analysis centre or a skill); stations feed one pool each. */
export const pools = pgTable('pools', {
  name: text('name').primaryKey(),
  /** Cases with a risk at or above this get a second analyst before the verdict is final; null: never. */
  fourEyesRisk: integer('four_eyes_risk'),
  /** A first verdict `inspect` gets a second analyst. */
  fourEyesOnInspect: boolean('four_eyes_on_inspect').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const poolMembers = pgTable(
  'pool_members',
  {
    pool: text('pool')
      .notNull()
      .references(() => pools.name, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.pool, table.userId] })],
);

export const SCAN_STATUSES = ['received', 'converting', 'queued', 'decided', 'failed'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];
/** A training-only scan (a threat projected into an archived one) is `preparing`, then `ready` or `failed`; never queued. */
export const TRAINING_SCAN_STATUSES = ['preparing', 'ready', 'failed'] as const;
export type TrainingScanStatus = (typeof TRAINING_SCAN_STATUSES)[number];
/** `live`: sent by a station, reviewed, answered. `training`: made by niix for training; never reaches a pool, a station or live figures. */
export const SCAN_PURPOSES = ['live', 'training'] as const;
export type ScanPurpose = (typeof SCAN_PURPOSES)[number];

/** One scan of one conveyance at one station: the system of record for its state. */
export const scans = pgTable(
  'scans',
  {
    id: uuid('id').primaryKey(),
    stationId: uuid('station_id')
      .notNull()
      .references(() => stations.id),
    status: text('status').$type<ScanStatus | TrainingScanStatus>().notNull(),
    purpose: text('purpose').$type<ScanPurpose>().notNull().default('live'),
    /** The station's Idempotency-Key header, when sent. */
    idempotencyKey: text('idempotency_key'),
    /** sha-256 over the sha-256 of every uploaded file in order: the same content sent again is the same scan. */
    contentSha256: text('content_sha256').notNull(),
    metadata: jsonb('metadata').$type<ScanMetadata>().notNull(),
    adapterId: text('adapter_id'),
    manifest: jsonb('manifest'),
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
    /** 0..100: the higher of the station's risk level and the declaration's risk score. */
    riskScore: doublePrecision('risk_score').notNull().default(0),
    /** The analyst pool the scan waits in once queued. */
    pool: text('pool').notNull().default('central'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    convertingAt: timestamp('converting_at', { withTimezone: true }),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    /** queuedAt + the station's SLA: the verdict is due by then. */
    slaDeadline: timestamp('sla_deadline', { withTimezone: true }),
    /** First claim by an analyst. */
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    /** Final verdict. */
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    /** The station received the result (webhook 2xx, or its acknowledgement of a pulled result). */
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    failedAt: timestamp('failed_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('scans_station_idempotency_key').on(table.stationId, table.idempotencyKey),
    uniqueIndex('scans_station_content').on(table.stationId, table.contentSha256),
    index('scans_status_idx').on(table.status),
    index('scans_station_received_idx').on(table.stationId, table.receivedAt),
    index('scans_pool_status_idx').on(table.pool, table.status),
    index('scans_purpose_status_idx').on(table.purpose, table.status),
  ],
);

export const REVIEW_STAGES = ['first', 'second'] as const;
export type ReviewStage = (typeof REVIEW_STAGES)[number];
export const CLAIM_ENDINGS = ['verdict', 'released', 'lapsed', 'reassigned'] as const;
export type ClaimEnding = (typeof CLAIM_ENDINGS)[number];

/** An analyst holding a case: the claim id is also the BullMQ lock token of the review job. */
export const claims = pgTable(
  'claims',
  {
    id: uuid('id').primaryKey(),
    scanId: uuid('scan_id')
      .notNull()
      .references(() => scans.id),
    analystId: uuid('analyst_id')
      .notNull()
      .references(() => users.id),
    stage: text('stage').$type<ReviewStage>().notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endReason: text('end_reason').$type<ClaimEnding>(),
  },
  (table) => [index('claims_scan_idx').on(table.scanId), index('claims_open_idx').on(table.endedAt)],
);

/** One analyst's decision on a case; with four-eyes review a scan has a first and a second verdict. */
export const verdicts = pgTable(
  'verdicts',
  {
    id: uuid('id').primaryKey(),
    scanId: uuid('scan_id')
      .notNull()
      .references(() => scans.id),
    claimId: uuid('claim_id')
      .notNull()
      .references(() => claims.id)
      .unique(),
    analystId: uuid('analyst_id')
      .notNull()
      .references(() => users.id),
    stage: text('stage').$type<ReviewStage>().notNull(),
    decision: text('decision').$type<'clear' | 'inspect' | 'inconclusive'>().notNull(),
    regions: jsonb('regions').notNull(),
    comment: text('comment').notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }).notNull(),
  },
  (table) => [uniqueIndex('verdicts_scan_stage').on(table.scanId, table.stage)],
);

/**
 * What goes back to a station: one result per scan (its final verdict, or its conversion failure). The id is
 * the station's resumable cursor for pull and stream.
 */
export const results = pgTable(
  'results',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    stationId: uuid('station_id')
      .notNull()
      .references(() => stations.id),
    scanId: uuid('scan_id')
      .notNull()
      .references(() => scans.id)
      .unique(),
    kind: text('kind').$type<'verdict' | 'failure'>().notNull(),
    body: jsonb('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    ackedAt: timestamp('acked_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    deliveryAttempts: integer('delivery_attempts').notNull().default(0),
    lastDeliveryError: text('last_delivery_error'),
    /** Webhook delivery gave up (after 24 hours of retries); still available by pull. */
    undeliveredAt: timestamp('undelivered_at', { withTimezone: true }),
  },
  (table) => [index('results_station_idx').on(table.stationId, table.id)],
);

/** What the physical inspection found: the ground truth for training and accuracy figures. */
export const outcomes = pgTable('outcomes', {
  scanId: uuid('scan_id')
    .primaryKey()
    .references(() => scans.id),
  stationId: uuid('station_id')
    .notNull()
    .references(() => stations.id),
  found: boolean('found').notNull(),
  categories: text('categories').array().notNull(),
  note: text('note').notNull(),
  reportedAt: timestamp('reported_at', { withTimezone: true }).notNull(),
});

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

/** Threat items for threat image projection: small dual-energy transmission images of one object, with a mask. */
export const threatItems = pgTable('threat_items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  category: text('category').notNull(),
  description: text('description').notNull().default(''),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  airValue: integer('air_value').notNull(),
  pixelSpacingMm: doublePrecision('pixel_spacing_mm').notNull(),
  /** `starter`: made by the synthetic generator at first start; `upload`: a trainer's own. */
  source: text('source').$type<'starter' | 'upload'>().notNull(),
  /** The starter item this row was made from, so the starter set is made once. */
  starterKey: text('starter_key').unique(),
  /** Retired items are kept (cases made from them still refer to them) but not used for new sets. */
  retiredAt: timestamp('retired_at', { withTimezone: true }),
  createdBy: uuid('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

/** Where a trainer put a projected threat: scale, rotation, and the top-left of the placed item in some views. */
export interface ChosenPlacement {
  scale?: number;
  rotationDeg?: number;
  places?: Record<string, { x: number; y: number }>;
}

export const TRAINING_MODES = ['exam', 'practice'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];
export const TRAINING_SET_STATUSES = ['preparing', 'ready', 'failed'] as const;
export type TrainingSetStatus = (typeof TRAINING_SET_STATUSES)[number];

/** A trainer's exercise: archived cases and projected-threat cases, answered in exam or practice mode. */
export const trainingSets = pgTable('training_sets', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  mode: text('mode').$type<TrainingMode>().notNull(),
  /** Station names and plates are hidden from trainees (sets shared across countries). */
  hideIdentity: boolean('hide_identity').notNull().default(false),
  status: text('status').$type<TrainingSetStatus>().notNull(),
  failureMessage: text('failure_message'),
  createdBy: uuid('created_by')
    .notNull()
    .references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  readyAt: timestamp('ready_at', { withTimezone: true }),
});

/**
 * One case of a set with its truth. `archived`: a decided live scan shown as it was, the truth from the station's
 * outcome and the verdict's regions. `projected`: a training-only scan made by projecting a threat item into a
 * clean archived scan, the truth being the item's region.
 */
export const trainingCases = pgTable(
  'training_cases',
  {
    id: uuid('id').primaryKey(),
    setId: uuid('set_id')
      .notNull()
      .references(() => trainingSets.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    kind: text('kind').$type<'archived' | 'projected'>().notNull(),
    /** The scan shown: the archived scan itself, or the training-only scan of a projection. */
    scanId: uuid('scan_id')
      .notNull()
      .references(() => scans.id),
    /** For a projection: the clean archived scan it was made from. */
    sourceScanId: uuid('source_scan_id').references(() => scans.id),
    threatItemId: uuid('threat_item_id').references(() => threatItems.id),
    /** For a projection the trainer placed: scale, rotation and, per view, where; null or missing parts are drawn at random. */
    placement: jsonb('placement').$type<ChosenPlacement>(),
    threat: boolean('threat').notNull(),
    categories: text('categories').array().notNull(),
    /** Truth regions (pixel rectangles per view); filled for a projection once it is made. */
    regions: jsonb('regions').notNull(),
    status: text('status').$type<'preparing' | 'ready' | 'failed'>().notNull(),
  },
  (table) => [index('training_cases_set_idx').on(table.setId, table.position)],
);

/** A set assigned to one trainee, with that trainee's own shuffled order of the cases. */
export const trainingSessions = pgTable(
  'training_sessions',
  {
    id: uuid('id').primaryKey(),
    setId: uuid('set_id')
      .notNull()
      .references(() => trainingSets.id, { onDelete: 'cascade' }),
    traineeId: uuid('trainee_id')
      .notNull()
      .references(() => users.id),
    /** Case ids in the order this trainee sees them. */
    caseOrder: jsonb('case_order').$type<string[]>().notNull(),
    assignedBy: uuid('assigned_by')
      .notNull()
      .references(() => users.id),
    assignedAt: timestamp('assigned_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('training_sessions_set_trainee').on(table.setId, table.traineeId), index('training_sessions_trainee_idx').on(table.traineeId)],
);

/** A case shown to a trainee (shownAt) and, once answered, the answer and how it scored. */
export const trainingAnswers = pgTable(
  'training_answers',
  {
    sessionId: uuid('session_id')
      .notNull()
      .references(() => trainingSessions.id, { onDelete: 'cascade' }),
    caseId: uuid('case_id')
      .notNull()
      .references(() => trainingCases.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    shownAt: timestamp('shown_at', { withTimezone: true }).notNull(),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    decision: text('decision').$type<'clear' | 'inspect' | 'inconclusive'>(),
    regions: jsonb('regions'),
    note: text('note'),
    outcome: text('outcome').$type<'hit' | 'miss' | 'false_alarm' | 'correct_rejection'>(),
  },
  (table) => [primaryKey({ columns: [table.sessionId, table.caseId] })],
);
