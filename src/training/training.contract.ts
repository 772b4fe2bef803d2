import { z } from 'zod';
import { ENERGIES } from '../../libs/exchange-format/src/manifest.js';
import { DECISIONS, THREAT_CATEGORIES, regionSchema } from '../../libs/exchange-format/src/verdict.js';
import { TRAINING_MODES, TRAINING_SET_STATUSES } from '../database/schema.js';

/**
 * What crosses the training API: archive search, threat library, training sets, trainees' sessions and scores.
 * Trainee-facing shapes (traineeCase, answerResponse) never carry the truth of a case before it is answered, and
 * in exam mode not at all.
 */

const isoDate = z.string().describe('ISO 8601 date-time');
const rect = z.object({ view: z.string(), x: z.number(), y: z.number(), width: z.number(), height: z.number() });

// ---- archive -------------------------------------------------------------------------------------------------

export const ARCHIVE_OUTCOMES = ['found', 'clean', 'unknown'] as const;

export const archiveQuery = z.object({
  station: z.string().uuid().optional().describe('station id'),
  vendor: z.string().max(100).optional().describe('scanner vendor (as in the manifest), case-insensitive'),
  from: z.iso.datetime({ offset: true }).optional().describe('decided at or after'),
  to: z.iso.datetime({ offset: true }).optional().describe('decided before'),
  decision: z.enum(DECISIONS).optional(),
  outcome: z.enum(ARCHIVE_OUTCOMES).optional().describe('found: the inspection found something; clean: it found nothing; unknown: no outcome reported'),
  category: z.enum(THREAT_CATEGORIES).optional().describe('in the outcome or in the verdict regions'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.string().max(100).optional().describe('cursor from the previous page (nextBefore)'),
});
export type ArchiveQuery = z.infer<typeof archiveQuery>;

export const archiveCase = z.object({
  scanId: z.string(),
  stationId: z.string(),
  stationName: z.string(),
  vendor: z.string().nullable(),
  receivedAt: isoDate,
  decidedAt: isoDate,
  decision: z.enum(DECISIONS),
  regions: z.array(regionSchema),
  outcome: z.object({ found: z.boolean(), categories: z.array(z.enum(THREAT_CATEGORIES)), note: z.string(), reportedAt: isoDate }).nullable(),
  views: z.array(z.object({ id: z.string(), width: z.number(), height: z.number() })),
});
export type ArchiveCase = z.infer<typeof archiveCase>;
export const archiveResponse = z.object({ cases: z.array(archiveCase), nextBefore: z.string().nullable() });

// ---- threat library ------------------------------------------------------------------------------------------

export const threatItemResponse = z.object({
  id: z.string(),
  name: z.string(),
  category: z.enum(THREAT_CATEGORIES),
  description: z.string(),
  width: z.number(),
  height: z.number(),
  pixelSpacingMm: z.number(),
  source: z.enum(['starter', 'upload']),
  retired: z.boolean(),
  createdAt: isoDate,
});
export type ThreatItemResponse = z.infer<typeof threatItemResponse>;
export const threatItemPatch = z.object({ retired: z.boolean().describe('retired items are kept but not used for new sets') });

// ---- training sets -------------------------------------------------------------------------------------------

export const createSetBody = z
  .object({
    name: z.string().trim().min(1).max(120),
    mode: z.enum(TRAINING_MODES).describe('exam: no feedback; practice: the truth after each answer'),
    hideIdentity: z.boolean().default(false).describe('hide station names and licence plates from trainees'),
    archivedScanIds: z.array(z.string().uuid()).min(1).max(500).describe('decided scans with a reported outcome'),
    threatShare: z.number().min(0).max(1).optional().describe('share of threat cases wanted; clean archived cases get a projected threat until it is reached'),
    projectedCount: z.number().int().min(0).max(500).optional().describe('or: this many clean archived cases get a projected threat'),
    threatItemIds: z.array(z.string().uuid()).max(200).optional().describe('items to project (default: every item not retired, within categories)'),
    categories: z.array(z.enum(THREAT_CATEGORIES)).max(THREAT_CATEGORIES.length).optional(),
    projections: z
      .array(
        z.object({
          scanId: z.string().uuid().describe('a clean archived case of this set'),
          threatItemId: z.string().uuid(),
          scale: z.number().min(0.25).max(4).optional().describe('on top of the pixel-spacing ratio (default: random 0.9–1.1)'),
          rotationDeg: z.number().min(-360).max(360).optional().describe('about the item’s centre (default: random)'),
          places: z
            .record(z.string().min(1).max(32), z.object({ x: z.number().int().min(0), y: z.number().int().min(0) }))
            .optional()
            .describe('per view id: top-left of the placed item in pixels (views left out: a random place in line with the others)'),
        }),
      )
      .max(500)
      .default([])
      .describe('projections the trainer chose (case, item, and where); they count towards the share or count, the rest are drawn at random'),
    traineeIds: z.array(z.string().uuid()).max(500).default([]),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional().describe('makes the choice of backgrounds, items and placements repeatable'),
  })
  .refine((body) => body.threatShare === undefined || body.projectedCount === undefined, { message: 'give threatShare or projectedCount, not both' });
export type CreateSetBody = z.infer<typeof createSetBody>;

export const assignBody = z.object({ traineeIds: z.array(z.string().uuid()).min(1).max(500) });

const caseCounts = z.object({
  total: z.number(),
  threats: z.number(),
  projected: z.number(),
  archived: z.number(),
  ready: z.number(),
});

export const setSummary = z.object({
  id: z.string(),
  name: z.string(),
  mode: z.enum(TRAINING_MODES),
  hideIdentity: z.boolean(),
  status: z.enum(TRAINING_SET_STATUSES),
  failureMessage: z.string().nullable(),
  createdAt: isoDate,
  readyAt: isoDate.nullable(),
  cases: caseCounts,
  sessions: z.object({ total: z.number(), completed: z.number() }),
});
export type SetSummary = z.infer<typeof setSummary>;

export const trainerCase = z.object({
  id: z.string(),
  position: z.number(),
  kind: z.enum(['archived', 'projected']),
  scanId: z.string(),
  sourceScanId: z.string().nullable(),
  threatItemId: z.string().nullable(),
  threat: z.boolean(),
  categories: z.array(z.enum(THREAT_CATEGORIES)),
  regions: z.array(regionSchema),
  status: z.enum(['preparing', 'ready', 'failed']),
  views: z.array(z.object({ id: z.string(), width: z.number(), height: z.number() })),
});

export const sessionSummary = z.object({
  id: z.string(),
  setId: z.string(),
  setName: z.string(),
  mode: z.enum(TRAINING_MODES),
  traineeId: z.string(),
  trainee: z.string(),
  status: z.enum(['waiting', 'assigned', 'in_progress', 'completed']).describe('waiting: the set is still being prepared'),
  total: z.number(),
  answered: z.number(),
  assignedAt: isoDate,
  startedAt: isoDate.nullable(),
  completedAt: isoDate.nullable(),
});
export type SessionSummary = z.infer<typeof sessionSummary>;

export const setDetail = setSummary.extend({ caseList: z.array(trainerCase), sessionList: z.array(sessionSummary) });
export type SetDetail = z.infer<typeof setDetail>;

export const traineeResponse = z.object({ id: z.string(), username: z.string() });

// ---- trainee sessions ----------------------------------------------------------------------------------------

/** A case as a trainee sees it: images and declaration only; nothing tells whether it holds a threat. */
export const traineeCase = z.object({
  caseId: z.string(),
  position: z.number().describe('1-based place in this trainee’s order'),
  total: z.number(),
  shownAt: isoDate,
  stationName: z.string().nullable().describe('null when the set hides identities'),
  riskScore: z.number(),
  metadata: z.unknown().describe('the declaration (containers, declarations, goods; plates removed when the set hides identities)'),
  manifest: z.object({
    scanner: z.object({ vendor: z.string(), model: z.string().optional() }),
    acquiredAt: z.string().nullable(),
    conveyance: z.unknown(),
    views: z.array(
      z.object({
        id: z.string(),
        width: z.number(),
        height: z.number(),
        pixelSpacingMm: z.object({ x: z.number(), y: z.number() }).nullable(),
        airValue: z.number(),
        planes: z.array(z.object({ energy: z.enum(ENERGIES) })),
      }),
    ),
  }),
});
export type TraineeCase = z.infer<typeof traineeCase>;

export const nextCaseResponse = z.object({
  session: z.object({ id: z.string(), mode: z.enum(TRAINING_MODES), setName: z.string(), total: z.number(), answered: z.number() }),
  case: traineeCase,
});
export type NextCaseResponse = z.infer<typeof nextCaseResponse>;

export const answerBody = z.object({
  decision: z.enum(DECISIONS),
  regions: z.array(regionSchema).max(50).default([]),
  note: z.string().max(4000).default(''),
});
export type AnswerBody = z.infer<typeof answerBody>;

export const ANSWER_OUTCOMES = ['hit', 'miss', 'false_alarm', 'correct_rejection'] as const;

export const answerResponse = z.object({
  caseId: z.string(),
  answeredAt: isoDate,
  durationMs: z.number(),
  remaining: z.number(),
  feedback: z
    .object({
      outcome: z.enum(ANSWER_OUTCOMES),
      threat: z.boolean(),
      categories: z.array(z.enum(THREAT_CATEGORIES)),
      regions: z.array(regionSchema),
    })
    .optional()
    .describe('practice mode only: how the answer scored and the truth with its regions'),
});
export type AnswerResponse = z.infer<typeof answerResponse>;

// ---- scores --------------------------------------------------------------------------------------------------

export const detectionScore = z.object({
  threatEvents: z.number().describe('threat cases answered: the number behind the hit rate'),
  cleanEvents: z.number(),
  hits: z.number(),
  misses: z.number(),
  falseAlarms: z.number(),
  correctRejections: z.number(),
  hitRate: z.number().nullable(),
  falseAlarmRate: z.number().nullable(),
  dPrime: z.number().nullable(),
  aPrime: z.number().nullable(),
  corrected: z.boolean().describe('a rate of 0 or 1 was corrected with the 1/(2N) rule'),
  meanDecisionMs: z.number().nullable(),
  reliable: z.boolean().describe('at least 100 threat events'),
});

export const categoryScore = detectionScore.extend({
  category: z.enum(THREAT_CATEGORIES),
  falseAlarmRate: z.number().nullable().describe('the overall false-alarm rate: a clean case has no category'),
  meanDecisionMs: z.number().nullable().describe('over the category’s threat cases'),
});

export const sessionScore = z.object({
  sessionId: z.string(),
  setId: z.string(),
  setName: z.string(),
  mode: z.enum(TRAINING_MODES),
  traineeId: z.string(),
  trainee: z.string(),
  completedAt: isoDate.nullable(),
  score: detectionScore,
  byCategory: z.array(categoryScore),
});
export type SessionScore = z.infer<typeof sessionScore>;

export const setScores = z.object({
  setId: z.string(),
  setName: z.string(),
  sessions: z.array(sessionScore),
  overall: detectionScore,
  byCategory: z.array(categoryScore),
});

export const traineeScores = z.object({
  traineeId: z.string(),
  trainee: z.string(),
  sessions: z.array(sessionScore).describe('completed sessions, oldest first: the trainee over time'),
  overall: detectionScore,
  byCategory: z.array(categoryScore),
});

export const dashboardResponse = z.object({
  trainees: z.array(traineeScores),
  sets: z.array(setSummary),
});

/** A trainee's own finished session: the score only, never the per-case truth in exam mode. */
export const ownSessionResponse = sessionSummary.extend({ score: detectionScore.nullable(), byCategory: z.array(categoryScore) });

export { rect as answerRect };
