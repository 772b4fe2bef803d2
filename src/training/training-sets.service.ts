import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import type { Region, ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import { Prng } from '../../libs/imaging/src/synthetic/prng.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import type { scans, trainingCases, trainingSessions } from '../database/schema.js';
import { scanObjects } from '../scans/scan-objects.js';
import { ScanRepository } from '../scans/scan.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { ProjectionService } from './projection.service.js';
import type { ArchiveCase, ArchiveQuery, CreateSetBody, SessionSummary, SetDetail, SetSummary } from './training.contract.js';
import {
  type ArchivedScanRow,
  type ArchivedScanUseRow,
  type AssignmentGuard,
  type TrainingCaseRow,
  TrainingRepository,
  type TrainingSetRow,
} from './training.repository.js';
import { isUuid } from '../common/ids.js';

/** Roles whose holders could read the truth of a set's cases, so they cannot answer it as trainees. */
export const TRUTH_SEEING_ROLES: string[] = ['admin', 'trainer', 'supervisor'];

/** Fisher–Yates with a seeded generator: each trainee's own case order, the choice of backgrounds and items. */
export function shuffled<T>(items: readonly T[], rng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * How many clean archived cases get a projected threat: an explicit count, or as many as it takes for the share
 * of threat cases in the set to reach `threatShare` (archived threat cases count towards it).
 */
export function projectionsNeeded(body: Pick<CreateSetBody, 'threatShare' | 'projectedCount'>, total: number, archivedThreats: number): number {
  if (body.projectedCount !== undefined) return body.projectedCount;
  if (body.threatShare === undefined) return 0;
  return Math.max(0, Math.round(body.threatShare * total) - archivedThreats);
}

/** The truth of an archived case: the station's outcome, with the final verdict's regions when the analyst said inspect. */
export function archivedTruth(row: ArchivedScanRow): { threat: boolean; categories: ThreatCategory[]; regions: Region[] } {
  const found = row.outcome!.found;
  const regions = found && row.verdict.decision === 'inspect' ? (row.verdict.regions as Region[]) : [];
  const categories = found ? (row.outcome!.categories.length ? row.outcome!.categories : [...new Set(regions.map((region) => region.category))]) : [];
  return { threat: found, categories: (found && categories.length === 0 ? ['other'] : categories) as ThreatCategory[], regions };
}

/** An archived scan as one trainee meets it in one case: shown as itself, or as the background of a projection. */
export type ArchivedScanUse = Pick<ArchivedScanUseRow, 'traineeId' | 'trainee' | 'setId' | 'setName' | 'caseId' | 'archivedScanId' | 'role' | 'threat'>;

/**
 * One image of an archived scan per trainee. Two cases made from one archived scan differ exactly where a threat
 * was projected into it, so a trainee who could see both would find the threat by comparing them. A trainee may
 * meet an archived scan as itself in any number of sets (the same image every time), or as the background of one
 * projected threat, and then nowhere else. Returns the first two uses (in the order given: what the trainees have
 * first, then what is being added) that would show one trainee two different images of one scan.
 */
export function imagesToCompare(uses: readonly ArchivedScanUse[]): [ArchivedScanUse, ArchivedScanUse] | undefined {
  const met = new Map<string, ArchivedScanUse[]>();
  for (const use of uses) {
    const key = `${use.traineeId}/${use.archivedScanId}`;
    const earlier = met.get(key) ?? [];
    // the same case again (a trainee assigned to the set already) is the same image
    if (earlier.some((other) => other.caseId === use.caseId)) continue;
    const other = use.role === 'background' ? earlier[0] : earlier.find((candidate) => candidate.role === 'background');
    if (other) return [other, use];
    met.set(key, [...earlier, use]);
  }
  return undefined;
}

/** 409 archived_scan_in_two_roles: who would see which scan how, in which sets, and what the trainer can do. */
export function twoImagesError([first, second]: [ArchivedScanUse, ArchivedScanUse]): ApiError {
  const as = (use: ArchivedScanUse) => (use.role === 'background' ? 'as the background of a projected threat' : use.threat ? 'as an archived threat case' : 'as a clean case');
  return new ApiError(
    409,
    'archived_scan_in_two_roles',
    `${second.trainee} would see archived scan ${second.archivedScanId} ${as(first)} in set “${first.setName}” and ${as(second)} in set “${second.setName}”: ` +
      'the two images differ only where a threat was projected, so comparing them would show it. Leave the scan out, or give the set to other trainees.',
    { traineeId: second.traineeId, archivedScanId: second.archivedScanId, setIds: [first.setId, second.setId] },
  );
}

/** What a trainee meets of archived scans in these cases of one set. */
function usesOf(cases: Pick<TrainingCaseRow, 'id' | 'kind' | 'scanId' | 'sourceScanId' | 'threat'>[], set: { id: string; name: string }, trainees: Map<string, string>): ArchivedScanUse[] {
  return [...trainees].flatMap(([traineeId, trainee]) =>
    cases.map((entry) => ({
      traineeId,
      trainee,
      setId: set.id,
      setName: set.name,
      caseId: entry.id,
      archivedScanId: entry.kind === 'projected' ? entry.sourceScanId! : entry.scanId,
      role: entry.kind === 'projected' ? ('background' as const) : ('itself' as const),
      threat: entry.threat,
    })),
  );
}

/** A failed set is never shown to its trainees (they cannot start it), so what it holds does not count. */
const visible = (uses: ArchivedScanUseRow[]) => uses.filter((use) => use.setStatus !== 'failed');

/** Refuses (409) what would add to `existing` a second image of an archived scan for a trainee. */
function oneImagePerTrainee(added: ArchivedScanUse[]): AssignmentGuard {
  return (existing) => {
    const pair = imagesToCompare([...visible(existing), ...added]);
    if (pair) throw twoImagesError(pair);
  };
}

function viewsOf(manifest: unknown): { id: string; width: number; height: number }[] {
  return ((manifest as Manifest | null)?.views ?? []).map((view) => ({ id: view.id, width: view.width, height: view.height }));
}

/** Archive search and training sets: what trainers build exercises with. */
@Injectable()
export class TrainingSetsService {
  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly training: TrainingRepository,
    private readonly scans: ScanRepository,
    private readonly projection: ProjectionService,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async archive(query: ArchiveQuery): Promise<{ cases: ArchiveCase[]; nextBefore: string | null }> {
    let before: { decidedAt: Date; scanId: string } | undefined;
    if (query.before) {
      const [at, scanId] = query.before.split('|');
      const decidedAt = new Date(at);
      if (Number.isNaN(decidedAt.getTime()) || !isUuid(scanId)) throw ApiError.badRequest('invalid_cursor', 'before must be a nextBefore value of an earlier page');
      before = { decidedAt, scanId };
    }
    const rows = await this.training.archive({
      stationId: query.station,
      vendor: query.vendor,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      decision: query.decision,
      outcome: query.outcome,
      category: query.category,
      before,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      cases: page.map((row) => ({
        scanId: row.scan.id,
        stationId: row.scan.stationId,
        stationName: row.stationName,
        vendor: (row.scan.manifest as Manifest | null)?.scanner.vendor ?? null,
        receivedAt: row.scan.receivedAt.toISOString(),
        decidedAt: row.scan.decidedAt!.toISOString(),
        decision: row.verdict.decision,
        regions: row.verdict.regions as Region[],
        outcome: row.outcome
          ? { found: row.outcome.found, categories: row.outcome.categories as ThreatCategory[], note: row.outcome.note, reportedAt: row.outcome.reportedAt.toISOString() }
          : null,
        views: viewsOf(row.scan.manifest),
      })),
      nextBefore: rows.length > query.limit && last ? `${last.scan.decidedAt!.toISOString()}|${last.scan.id}` : null,
    };
  }

  /**
   * A set from archived cases with known outcomes; clean ones get projected threats until the wanted share of
   * threats is reached. The set is `preparing` until every projection is made, then `ready`.
   */
  async create(trainer: UserPrincipal, body: CreateSetBody): Promise<SetDetail> {
    const ids = [...new Set(body.archivedScanIds)];
    const archived = await this.training.archivedScans(ids);
    const missing = ids.filter((id) => !archived.some((row) => row.scan.id === id));
    if (missing.length) throw ApiError.badRequest('archived_scan_not_found', `not decided live scans: ${missing.slice(0, 10).join(', ')}`);
    const unknown = archived.filter((row) => !row.outcome);
    if (unknown.length) {
      throw ApiError.badRequest('outcome_unknown', `these scans have no reported inspection outcome, so their truth is unknown: ${unknown.slice(0, 10).map((row) => row.scan.id).join(', ')}`);
    }
    const threats = archived.filter((row) => row.outcome!.found);
    const clean = archived.filter((row) => !row.outcome!.found);
    const chosen = new Map((await this.chosenProjections(body, clean)).map((projection) => [projection.scanId, projection]));
    const needed = Math.max(projectionsNeeded(body, archived.length, threats.length), chosen.size);
    if (needed > clean.length) {
      throw ApiError.badRequest('not_enough_clean_cases', `${needed} projected threats need as many clean archived cases; the set has ${clean.length}`);
    }
    const items = needed > chosen.size ? await this.itemsFor(body) : [];
    const trainees = await this.checkTrainees(body.traineeIds);
    // Backgrounds are drawn first among the scans none of the trainees has met yet: one they have met (as a clean
    // case or as another background) would show them a second image of it, and the set would be refused.
    const met = new Set(visible(await this.training.archivedScanUses([...trainees.keys()])).map((use) => use.archivedScanId));

    const seed = body.seed ?? createHash('sha256').update(this.clock.newId()).digest().readUInt32LE(0);
    const rng = new Prng(seed);
    const candidates = clean.filter((row) => !chosen.has(row.scan.id));
    const drawn = [...shuffled(candidates.filter((row) => !met.has(row.scan.id)), rng), ...shuffled(candidates.filter((row) => met.has(row.scan.id)), rng)].slice(0, needed - chosen.size);
    const backgrounds = new Set([...chosen.keys(), ...drawn.map((row) => row.scan.id)]);
    const itemOrder = shuffled(items, rng);
    let drawnItems = 0;
    const setId = this.clock.newId();
    const now = this.clock.now();
    const trainingScans: (typeof scans.$inferInsert)[] = [];
    const cases: (typeof trainingCases.$inferInsert)[] = [];
    archived.forEach((row) => {
      const position = cases.length;
      if (!backgrounds.has(row.scan.id)) {
        cases.push({ id: this.clock.newId(), setId, position, kind: 'archived', scanId: row.scan.id, ...archivedTruth(row), status: 'ready' });
        return;
      }
      const choice = chosen.get(row.scan.id);
      const item = choice?.item ?? itemOrder[drawnItems++ % itemOrder.length];
      const scanId = this.clock.newId();
      trainingScans.push({
        id: scanId,
        stationId: row.scan.stationId,
        status: 'preparing',
        purpose: 'training',
        contentSha256: createHash('sha256').update(`projection:${scanId}`).digest('hex'),
        metadata: row.scan.metadata,
        riskScore: row.scan.riskScore,
        pool: 'training',
        receivedAt: row.scan.receivedAt,
      });
      cases.push({
        id: this.clock.newId(),
        setId,
        position,
        kind: 'projected',
        scanId,
        sourceScanId: row.scan.id,
        threatItemId: item.id,
        placement: choice ? { scale: choice.scale, rotationDeg: choice.rotationDeg, places: choice.places } : null,
        threat: true,
        categories: [item.category],
        regions: [],
        status: 'preparing',
      });
    });
    const sessions = this.sessionsFor(setId, cases.map((entry) => entry.id!), body.traineeIds, trainer, rng);
    await this.training.insertSet(
      { id: setId, name: body.name, mode: body.mode, hideIdentity: body.hideIdentity, status: needed > 0 ? 'preparing' : 'ready', createdBy: trainer.id, createdAt: now, readyAt: needed > 0 ? null : now },
      trainingScans,
      cases,
      sessions,
      { actorType: 'user', actorId: trainer.id, action: 'training.set_created', detail: { setId, cases: cases.length, projected: needed, seed } },
      oneImagePerTrainee(usesOf(cases.map((entry) => ({ ...entry, id: entry.id!, sourceScanId: entry.sourceScanId ?? null })), { id: setId, name: body.name }, trainees)),
    );
    await this.projection.start(trainingScans.map((scan) => scan.id!));
    return this.detail(setId);
  }

  async assign(trainer: UserPrincipal, setId: string, traineeIds: string[]): Promise<SetDetail> {
    const set = await this.setOrThrow(setId);
    const trainees = await this.checkTrainees(traineeIds);
    const cases = await this.training.casesOf([set.id]);
    const rng = new Prng(createHash('sha256').update(this.clock.newId()).digest().readUInt32LE(0));
    await this.training.insertSessions(this.sessionsFor(set.id, cases.map((entry) => entry.id), traineeIds, trainer, rng), oneImagePerTrainee(usesOf(cases, set, trainees)));
    await this.audit.record({ actorType: 'user', actorId: trainer.id, action: 'training.set_assigned', detail: { setId: set.id, traineeIds } });
    return this.detail(set.id);
  }

  async list(): Promise<SetSummary[]> {
    const sets = await this.training.sets();
    const ids = sets.map((set) => set.id);
    const [cases, sessions] = await Promise.all([this.training.casesOf(ids), this.training.sessionsWithTrainee({ setIds: ids })]);
    return sets.map((set) => this.summary(set, cases.filter((entry) => entry.setId === set.id), sessions.filter((session) => session.setId === set.id)));
  }

  async detail(setId: string): Promise<SetDetail> {
    const set = await this.setOrThrow(setId);
    const [cases, sessions] = await Promise.all([this.training.casesOf([set.id]), this.training.sessionsWithTrainee({ setIds: [set.id] })]);
    const scanViews = new Map((await this.scans.findByIds(cases.map((entry) => entry.scanId))).map((scan) => [scan.id, viewsOf(scan.manifest)]));
    return {
      ...this.summary(set, cases, sessions),
      caseList: cases.map((entry) => ({
        id: entry.id,
        position: entry.position,
        kind: entry.kind,
        scanId: entry.scanId,
        sourceScanId: entry.sourceScanId,
        threatItemId: entry.threatItemId,
        threat: entry.threat,
        categories: entry.categories as ThreatCategory[],
        regions: entry.regions as Region[],
        status: entry.status,
        views: scanViews.get(entry.scanId) ?? [],
      })),
      sessionList: sessions.map((session) => sessionSummary(session, cases.length)),
    };
  }

  /**
   * Removes a set nobody has answered yet (a failed one, or a mistake) with its projected scans; a set with answers
   * holds trainees' results and stays (409).
   */
  async remove(trainer: UserPrincipal, setId: string): Promise<void> {
    const set = await this.setOrThrow(setId);
    const scanIds = await this.training.deleteUnansweredSet(set.id);
    if (!scanIds) throw ApiError.conflict('set_has_answers', `trainees have answered cases of set ${set.name}; it holds their results and is kept`);
    for (const scanId of scanIds) await this.storage.deletePrefix(scanObjects.prefix(scanId));
    await this.audit.record({ actorType: 'user', actorId: trainer.id, action: 'training.set_deleted', detail: { setId: set.id, name: set.name, projectedScans: scanIds.length } });
  }

  async trainees(): Promise<{ id: string; username: string }[]> {
    return (await this.training.trainees()).map(({ id, username }) => ({ id, username }));
  }


  private summary(set: TrainingSetRow, cases: TrainingCaseRow[], sessions: { completedAt: Date | null }[]): SetSummary {
    return {
      id: set.id,
      name: set.name,
      mode: set.mode,
      hideIdentity: set.hideIdentity,
      status: set.status,
      failureMessage: set.failureMessage,
      createdAt: set.createdAt.toISOString(),
      readyAt: set.readyAt?.toISOString() ?? null,
      cases: {
        total: cases.length,
        threats: cases.filter((entry) => entry.threat).length,
        projected: cases.filter((entry) => entry.kind === 'projected').length,
        archived: cases.filter((entry) => entry.kind === 'archived').length,
        ready: cases.filter((entry) => entry.status === 'ready').length,
      },
      sessions: { total: sessions.length, completed: sessions.filter((session) => session.completedAt).length },
    };
  }

  private sessionsFor(setId: string, caseIds: string[], traineeIds: string[], trainer: UserPrincipal, rng: Prng): (typeof trainingSessions.$inferInsert)[] {
    return [...new Set(traineeIds)].map((traineeId) => ({
      id: this.clock.newId(),
      setId,
      traineeId,
      caseOrder: shuffled(caseIds, rng),
      assignedBy: trainer.id,
      assignedAt: this.clock.now(),
    }));
  }

  /** The projections the trainer placed: each on a clean case of the set, once, with an item in use, inside its views. */
  private async chosenProjections(body: CreateSetBody, clean: ArchivedScanRow[]) {
    if (body.projections.length === 0) return [];
    const items = await this.training.threatItemsByIds([...new Set(body.projections.map((projection) => projection.threatItemId))]);
    const seen = new Set<string>();
    return body.projections.map((projection) => {
      const row = clean.find((candidate) => candidate.scan.id === projection.scanId);
      if (!row) throw ApiError.badRequest('not_a_clean_case', `a threat is projected only into a clean archived case of the set; ${projection.scanId} is not one`);
      if (seen.has(projection.scanId)) throw ApiError.badRequest('duplicate_projection', `scan ${projection.scanId} has two projections; one per case`);
      seen.add(projection.scanId);
      const item = items.find((candidate) => candidate.id === projection.threatItemId);
      if (!item) throw ApiError.badRequest('threat_item_not_found', `no threat item ${projection.threatItemId}`);
      if (item.retiredAt) throw ApiError.badRequest('threat_item_retired', `retired items are not used for new sets: ${item.name}`);
      const views = (row.scan.manifest as Manifest).views;
      for (const [viewId, place] of Object.entries(projection.places ?? {})) {
        const view = views.find((candidate) => candidate.id === viewId);
        if (!view || place.x >= view.width || place.y >= view.height) {
          throw ApiError.badRequest('invalid_placement', `${place.x},${place.y} is not a pixel of view ${viewId} of scan ${projection.scanId}`);
        }
      }
      return { ...projection, item };
    });
  }

  private async itemsFor(body: CreateSetBody) {
    if (body.threatItemIds?.length) {
      const rows = await this.training.threatItemsByIds([...new Set(body.threatItemIds)]);
      const missing = body.threatItemIds.filter((id) => !rows.some((row) => row.id === id));
      if (missing.length) throw ApiError.badRequest('threat_item_not_found', `no threat items ${missing.join(', ')}`);
      const retired = rows.filter((row) => row.retiredAt);
      if (retired.length) throw ApiError.badRequest('threat_item_retired', `retired items are not used for new sets: ${retired.map((row) => row.name).join(', ')}`);
      return rows;
    }
    const items = (await this.training.threatItems(false)).filter((item) => !body.categories?.length || body.categories.includes(item.category as ThreatCategory));
    if (items.length === 0) throw ApiError.badRequest('no_threat_items', 'no threat item (not retired, in the chosen categories) to project');
    return items;
  }

  /**
   * Trainees of a set must not be able to read its truth by another role: trainers and admins see every set's
   * cases, supervisors list recent decisions. Analysts may train (they read live scans by id, but niix never shows
   * a trainee which scan a case is). Returns the trainees, id → username.
   */
  private async checkTrainees(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const trainees = await this.training.trainees();
    const others = ids.filter((id) => !trainees.some((trainee) => trainee.id === id));
    if (others.length) throw ApiError.badRequest('not_a_trainee', `these users do not have the trainee role: ${others.slice(0, 10).join(', ')}`);
    const seeing = trainees.filter((trainee) => ids.includes(trainee.id) && trainee.roles.some((role) => TRUTH_SEEING_ROLES.includes(role)));
    if (seeing.length) {
      throw ApiError.badRequest('trainee_sees_truth', `${seeing.map((trainee) => trainee.username).join(', ')} also hold a role that can read the truth of cases (${TRUTH_SEEING_ROLES.join(', ')})`);
    }
    return new Map(trainees.filter((trainee) => ids.includes(trainee.id)).map((trainee) => [trainee.id, trainee.username]));
  }

  private async setOrThrow(id: string): Promise<TrainingSetRow> {
    const set = isUuid(id) ? await this.training.set(id) : undefined;
    if (!set) throw ApiError.notFound('training_set_not_found', `no training set ${id}`);
    return set;
  }
}

/** A session as listed for trainers and for its trainee. */
export function sessionSummary(
  session: { id: string; setId: string; setName: string; mode: 'exam' | 'practice'; setStatus: string; traineeId: string; trainee: string; answered: number; assignedAt: Date; startedAt: Date | null; completedAt: Date | null; caseOrder: string[] },
  total = session.caseOrder.length,
): SessionSummary {
  const status = session.completedAt ? 'completed' : session.setStatus !== 'ready' ? 'waiting' : session.startedAt ? 'in_progress' : 'assigned';
  return {
    id: session.id,
    setId: session.setId,
    setName: session.setName,
    mode: session.mode,
    traineeId: session.traineeId,
    trainee: session.trainee,
    status,
    total,
    answered: session.answered,
    assignedAt: session.assignedAt.toISOString(),
    startedAt: session.startedAt?.toISOString() ?? null,
    completedAt: session.completedAt?.toISOString() ?? null,
  };
}
