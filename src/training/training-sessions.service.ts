import { Injectable } from '@nestjs/common';
import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import type { Region, ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { type Principal, TRAINER_ROLES, type UserPrincipal, hasAnyRole } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { ScanRepository } from '../scans/scan.repository.js';
import { StationRepository } from '../stations/station.repository.js';
import { classifyAnswer } from './scoring.js';
import type { AnswerBody, AnswerResponse, NextCaseResponse, SessionSummary, TraineeCase } from './training.contract.js';
import { TrainingRepository, type TrainingCaseRow, type TrainingSessionRow, type TrainingSetRow } from './training.repository.js';
import { sessionSummary } from './training-sets.service.js';
import { isUuid } from '../common/ids.js';


/**
 * What a trainee sees of a scan: the images' geometry and the declaration, nothing of where it came from. The
 * provenance, the scan and station ids and a projection's `training` section are left out, since they would tell
 * a projected case from an archived one; with `hideIdentity` the station and the licence plates go too.
 */
export function traineeView(manifest: Manifest, metadata: unknown, hideIdentity: boolean): Pick<TraineeCase, 'manifest' | 'metadata'> {
  // Hidden identities keep only what describes the load: a station's free fields may name it in any key.
  const conveyance = { ...manifest.conveyance, ...(hideIdentity ? { licencePlates: [], fields: pick(manifest.conveyance.fields, DESCRIBING_FIELDS) } : {}) };
  const declaration = (metadata ?? {}) as Record<string, unknown>;
  return {
    manifest: {
      scanner: { vendor: manifest.scanner.vendor, ...(manifest.scanner.model ? { model: manifest.scanner.model } : {}) },
      acquiredAt: manifest.acquiredAt,
      conveyance,
      views: manifest.views.map((view) => ({
        id: view.id,
        width: view.width,
        height: view.height,
        pixelSpacingMm: view.pixelSpacingMm,
        airValue: view.airValue,
        planes: view.planes.map((plane) => ({ energy: plane.energy })),
      })),
    },
    metadata: hideIdentity ? pick(declaration, ['containers', 'declarations', ...DESCRIBING_FIELDS]) : declaration,
  };
}

/** What a set that hides identities still shows of the station's fields: the goods and the risk, not who or where. */
const DESCRIBING_FIELDS = ['declaredGoods', 'riskScore'];

function pick(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => keys.includes(key)));
}

/**
 * A trainee working through a session: the next case in the trainee's own order, answers scored against the
 * truth, feedback only in practice mode. The truth never leaves before the answer, and in exam mode not at all.
 */
@Injectable()
export class TrainingSessionsService {
  constructor(
    private readonly training: TrainingRepository,
    private readonly scans: ScanRepository,
    private readonly stations: StationRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async mine(trainee: UserPrincipal): Promise<SessionSummary[]> {
    return (await this.training.sessionsWithTrainee({ traineeId: trainee.id })).map((session) => sessionSummary(session));
  }

  /** This trainee's session; 404 for anyone else's, so session ids reveal nothing. */
  async own(trainee: UserPrincipal, sessionId: string): Promise<{ session: TrainingSessionRow; set: TrainingSetRow; summary: SessionSummary }> {
    const session = isUuid(sessionId) ? await this.training.session(sessionId) : undefined;
    if (!session || session.traineeId !== trainee.id) throw ApiError.notFound('session_not_found', `no training session ${sessionId} of yours`);
    const [set, listed] = await Promise.all([this.training.set(session.setId), this.training.sessionsWithTrainee({ traineeId: trainee.id })]);
    return { session, set: set!, summary: sessionSummary(listed.find((row) => row.id === session.id)!) };
  }

  /** The case to answer now: the one shown and not answered yet, else the next in the trainee's order; null when done. */
  async next(trainee: UserPrincipal, sessionId: string): Promise<NextCaseResponse | null> {
    const { session, set } = await this.own(trainee, sessionId);
    // The reason of a failed set stays with the trainers: it would tell that the set holds projected threats.
    if (set.status !== 'ready') throw ApiError.conflict('set_not_ready', set.status === 'failed' ? 'this set could not be prepared; your trainer can see why' : 'the set is still being prepared; try again shortly');
    const answers = await this.training.answersOf(session.id);
    const answered = answers.filter((answer) => answer.answeredAt).length;
    const pending = answers.find((answer) => !answer.answeredAt);
    const caseId = pending?.caseId ?? session.caseOrder.find((id) => !answers.some((answer) => answer.caseId === id));
    if (!caseId) {
      await this.training.completeSession(session.id, this.clock.now());
      return null;
    }
    const now = this.clock.now();
    await this.training.startSession(session.id, now);
    const position = session.caseOrder.indexOf(caseId);
    const shown = pending ?? (await this.training.markShown({ sessionId: session.id, caseId, position, shownAt: now }));
    const trainingCase = (await this.training.trainingCase(caseId))!;
    const scan = (await this.scans.findById(trainingCase.scanId))!;
    const station = set.hideIdentity ? undefined : await this.stations.findById(scan.stationId);
    await this.audit.record({ actorType: 'user', actorId: trainee.id, action: 'training.case_shown', scanId: scan.id, detail: { sessionId: session.id, caseId } });
    return {
      session: { id: session.id, mode: set.mode, setName: set.name, total: session.caseOrder.length, answered },
      case: {
        caseId,
        position: position + 1,
        total: session.caseOrder.length,
        shownAt: shown.shownAt.toISOString(),
        stationName: set.hideIdentity ? null : (station?.name ?? null),
        riskScore: scan.riskScore,
        ...traineeView(scan.manifest as Manifest, scan.metadata, set.hideIdentity),
      },
    };
  }

  async answer(trainee: UserPrincipal, sessionId: string, caseId: string, body: AnswerBody): Promise<AnswerResponse> {
    const { session, set } = await this.own(trainee, sessionId);
    const shown = isUuid(caseId) ? await this.training.answer(session.id, caseId) : undefined;
    if (!shown) throw ApiError.conflict('case_not_shown', 'answer the case you were shown: ask for the next case first');
    if (shown.answeredAt) throw ApiError.conflict('already_answered', 'this case was answered already; an answer cannot be changed');
    const trainingCase = (await this.training.trainingCase(caseId))!;
    const scan = (await this.scans.findById(trainingCase.scanId))!;
    const views = (scan.manifest as Manifest).views;
    for (const region of body.regions) {
      const view = views.find((candidate) => candidate.id === region.view);
      if (!view || region.x + region.width > view.width || region.y + region.height > view.height) {
        throw ApiError.badRequest('invalid_region', `region ${region.x},${region.y} ${region.width}x${region.height} is not inside view ${region.view}`);
      }
    }
    const truth = truthOf(trainingCase);
    const outcome = classifyAnswer(truth, body);
    const answeredAt = this.clock.now();
    const recorded = await this.training.recordAnswer(session.id, caseId, { answeredAt, decision: body.decision, regions: body.regions, note: body.note, outcome });
    if (!recorded) throw ApiError.conflict('already_answered', 'this case was answered already; an answer cannot be changed');
    const answered = (await this.training.answersOf(session.id)).filter((answer) => answer.answeredAt).length;
    const remaining = session.caseOrder.length - answered;
    if (remaining === 0) await this.training.completeSession(session.id, answeredAt);
    await this.audit.record({ actorType: 'user', actorId: trainee.id, action: 'training.answered', scanId: scan.id, detail: { sessionId: session.id, caseId, decision: body.decision } });
    return {
      caseId,
      answeredAt: answeredAt.toISOString(),
      durationMs: answeredAt.getTime() - shown.shownAt.getTime(),
      remaining,
      ...(set.mode === 'practice' ? { feedback: { outcome, ...truth } } : {}),
    };
  }

  /**
   * The caller with leave to read the images of one training case: trainers any case; a trainee only a case of
   * their own session that they have been shown (the current one or one already answered), never a later one.
   */
  async grant(principal: Principal, caseId: string): Promise<Principal> {
    const trainingCase = isUuid(caseId) ? await this.training.trainingCase(caseId) : undefined;
    if (trainingCase && principal.kind === 'user') {
      if (hasAnyRole(principal, TRAINER_ROLES)) return { ...principal, grantedScanId: trainingCase.scanId };
      if (principal.roles.includes('trainee')) {
        const session = await this.training.sessionOf(trainingCase.setId, principal.id);
        if (session && (await this.training.answer(session.id, trainingCase.id))) return { ...principal, grantedScanId: trainingCase.scanId };
      }
    }
    throw ApiError.notFound('case_not_found', `no training case ${caseId} you may see now`);
  }
}

export function truthOf(trainingCase: TrainingCaseRow): { threat: boolean; categories: ThreatCategory[]; regions: Region[] } {
  return { threat: trainingCase.threat, categories: trainingCase.categories as ThreatCategory[], regions: trainingCase.regions as Region[] };
}
