import { randomUUID } from 'node:crypto';
import type { Region } from '../../libs/exchange-format/src/verdict.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import type { Database } from '../database/database.js';
import { outcomes } from '../database/schema.js';
import { JobName } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { ReviewRepository } from '../review/review.repository.js';
import { ScanObjectsWriter } from '../scans/scan-objects.writer.js';
import { ScanRepository } from '../scans/scan.repository.js';
import { StationRepository } from '../stations/station.repository.js';
import { refusal } from '../../test/builders.js';
import { DATABASE_KINDS, type Medium, TestClock, insertQueuedScan, insertStation, insertUser, startMedium } from '../../test/medium.js';
import { ProjectionService } from './projection.service.js';
import { ThreatLibraryService } from './threat-library.service.js';
import type { CreateSetBody } from './training.contract.js';
import { TrainingRepository } from './training.repository.js';
import { TrainingScoresService } from './training-scores.service.js';
import { TrainingSessionsService } from './training-sessions.service.js';
import { TrainingSetsService } from './training-sets.service.js';

const narcotics: Region = { view: 'side', x: 100, y: 40, width: 80, height: 60, category: 'narcotics', note: 'packets' };

/** What an archived case was: the final verdict (a second one with four-eyes), and the inspection outcome if reported. */
interface ArchivedCase {
  decision: 'clear' | 'inspect' | 'inconclusive';
  regions?: Region[];
  outcome: { found: boolean; categories?: string[] } | null;
  secondDecision?: 'clear' | 'inspect';
  decidedAt?: Date;
  stationId?: string;
}

/**
 * Training below HTTP: sets, sessions and scores with TrainingRepository on PGlite and PostgreSQL, archived cases as
 * real decided scans with verdicts and outcomes, projection jobs in the real queue (no converter runs here, so sets
 * with projected threats stay `preparing`). The clock is moved by hand, so decision times are exact.
 */
describe.each(DATABASE_KINDS)(`${TrainingSetsService.name} and the training sessions on %s`, (kind) => {
  let medium: Medium;
  let database: Database;
  let sets: TrainingSetsService;
  let sessions: TrainingSessionsService;
  let scores: TrainingScoresService;
  let training: TrainingRepository;
  let review: ReviewRepository;
  let scans: ScanRepository;
  let queues: QueueRepository;
  let station: Awaited<ReturnType<typeof insertStation>>;
  let analyst: UserPrincipal;
  let trainer: UserPrincipal;
  let threatItemId: string;
  const clock = new TestClock();

  beforeAll(async () => {
    medium = await startMedium(
      kind,
      [
        { provide: Clock, useValue: clock },
        AuditRepository,
        ProjectionService,
        QueueRepository,
        ReviewRepository,
        ScanObjectsWriter,
        ScanRepository,
        StationRepository,
        ThreatLibraryService,
        TrainingRepository,
        TrainingScoresService,
        TrainingSessionsService,
        TrainingSetsService,
      ],
      // not `api`: the starter threat library is not drawn here; the tests add the item they need
      { NIIX_ROLES: 'deliver' },
    );
    database = medium.database;
    sets = medium.get(TrainingSetsService);
    sessions = medium.get(TrainingSessionsService);
    scores = medium.get(TrainingScoresService);
    training = medium.get(TrainingRepository);
    review = medium.get(ReviewRepository);
    scans = medium.get(ScanRepository);
    queues = medium.get(QueueRepository);
    station = await insertStation(database, { name: 'Koidula rail 1' });
    analyst = await insertUser(database, ['analyst']);
    trainer = await insertUser(database, ['trainer']);
    threatItemId = randomUUID();
    await training.insertThreatItem({ id: threatItemId, name: 'Pistol', category: 'weapons', width: 40, height: 30, airValue: 60000, pixelSpacingMm: 2, source: 'upload', createdAt: new Date() });
  });

  afterAll(async () => {
    await medium?.close();
  });

  /** A decided live scan with its verdict(s) and, unless null, the station's outcome: what the archive holds. */
  async function archived(entry: ArchivedCase): Promise<string> {
    const scan = await insertQueuedScan(database, { stationId: entry.stationId ?? station.id });
    const decidedAt = entry.decidedAt ?? new Date();
    const verdicts: { stage: 'first' | 'second'; decision: ArchivedCase['decision']; at: Date }[] = [{ stage: 'first', decision: entry.decision, at: decidedAt }];
    if (entry.secondDecision) verdicts.push({ stage: 'second', decision: entry.secondDecision, at: new Date(decidedAt.getTime() + 60_000) });
    for (const verdict of verdicts) {
      const claimId = randomUUID();
      await review.insertClaim(
        { id: claimId, scanId: scan.id, analystId: analyst.id, stage: verdict.stage, claimedAt: verdict.at, expiresAt: verdict.at },
        { actorType: 'user', actorId: analyst.id, action: 'case.claimed', scanId: scan.id, detail: { claimId } },
      );
      const regions = verdict.decision === 'inspect' ? (entry.regions ?? []) : [];
      await review.insertVerdict({ id: randomUUID(), scanId: scan.id, claimId, analystId: analyst.id, stage: verdict.stage, decision: verdict.decision, regions, comment: '', decidedAt: verdict.at }, verdict.at);
    }
    await scans.transition(scan.id, ['queued'], { status: 'decided', decidedAt: verdicts[verdicts.length - 1].at });
    if (entry.outcome) {
      await database.db.insert(outcomes).values({ scanId: scan.id, stationId: scan.stationId, found: entry.outcome.found, categories: entry.outcome.categories ?? [], note: '', reportedAt: decidedAt });
    }
    return scan.id;
  }

  const clean = () => archived({ decision: 'clear', outcome: { found: false } });
  const trainee = (name?: string) => insertUser(database, ['trainee'], name);
  const setBody = (body: Partial<CreateSetBody> & Pick<CreateSetBody, 'archivedScanIds'>): CreateSetBody => ({
    name: `set ${randomUUID().slice(0, 8)}`,
    mode: 'practice',
    hideIdentity: false,
    projections: [],
    traineeIds: [],
    ...body,
  });

  describe('archive', () => {
    it('finds decided live scans with their final verdict and outcome, filtered and a page at a time, newest first', async () => {
      const lane = await insertStation(database);
      const base = Date.parse('2025-05-01T10:00:00Z');
      const at = (hours: number) => new Date(base + hours * 3600_000);
      const found = await archived({ stationId: lane.id, decision: 'inspect', regions: [narcotics], outcome: { found: true, categories: ['narcotics'] }, decidedAt: at(1) });
      const cleared = await archived({ stationId: lane.id, decision: 'clear', outcome: { found: false }, decidedAt: at(2) });
      const unknown = await archived({ stationId: lane.id, decision: 'clear', outcome: null, decidedAt: at(3) });
      const overruled = await archived({ stationId: lane.id, decision: 'inspect', regions: [narcotics], secondDecision: 'clear', outcome: { found: false }, decidedAt: at(4) });
      await insertQueuedScan(database, { stationId: lane.id }); // undecided: not in the archive

      const page = (query: Partial<Parameters<TrainingSetsService['archive']>[0]>) => sets.archive({ station: lane.id, limit: 50, ...query });
      const all = await page({});
      expect(all.cases.map((entry) => entry.scanId)).toEqual([overruled, unknown, cleared, found]);
      expect(all.nextBefore).toBeNull();
      expect(all.cases[0]).toMatchObject({ decision: 'clear', regions: [], stationName: lane.name, vendor: 'Aurora Inspection Systems', views: [{ id: 'side', width: 800, height: 250 }] });
      expect(all.cases[3]).toMatchObject({ decision: 'inspect', regions: [narcotics], outcome: { found: true, categories: ['narcotics'] }, decidedAt: at(1).toISOString() });

      expect((await page({ outcome: 'found' })).cases.map((entry) => entry.scanId)).toEqual([found]);
      expect((await page({ outcome: 'clean' })).cases.map((entry) => entry.scanId)).toEqual([overruled, cleared]);
      expect((await page({ outcome: 'unknown' })).cases.map((entry) => entry.scanId)).toEqual([unknown]);
      expect((await page({ decision: 'inspect' })).cases.map((entry) => entry.scanId)).toEqual([found]);
      expect((await page({ category: 'narcotics' })).cases.map((entry) => entry.scanId)).toEqual([found]);
      expect((await page({ vendor: 'AURORA inspection systems' })).cases).toHaveLength(4);
      expect((await page({ vendor: 'Nuctech' })).cases).toHaveLength(0);
      expect((await page({ from: at(2).toISOString(), to: at(4).toISOString() })).cases.map((entry) => entry.scanId)).toEqual([unknown, cleared]);

      const first = await page({ limit: 2 });
      expect(first.cases.map((entry) => entry.scanId)).toEqual([overruled, unknown]);
      expect(first.nextBefore).toBe(`${at(3).toISOString()}|${unknown}`);
      const second = await page({ limit: 2, before: first.nextBefore! });
      expect(second.cases.map((entry) => entry.scanId)).toEqual([cleared, found]);
      expect(second.nextBefore).toBeNull();
      expect(await refusal(page({ before: 'yesterday|nobody' }))).toMatchObject({ status: 400, code: 'invalid_cursor' });
    });
  });

  describe('sets', () => {
    it('makes a set of archived cases with the truth of each and a shuffled order for every trainee', async () => {
      const threatMarked = await archived({ decision: 'inspect', regions: [narcotics], outcome: { found: true, categories: [] } });
      const threatMissed = await archived({ decision: 'clear', outcome: { found: true, categories: [] } });
      const cleanCase = await clean();
      const [anna, ben] = [await trainee(), await trainee()];

      const detail = await sets.create(trainer, setBody({ archivedScanIds: [threatMarked, threatMissed, cleanCase, cleanCase], traineeIds: [anna.id, ben.id, anna.id], seed: 7 }));
      expect(detail).toMatchObject({ status: 'ready', mode: 'practice', cases: { total: 3, threats: 2, projected: 0, archived: 3, ready: 3 }, sessions: { total: 2, completed: 0 } });
      expect(detail.readyAt).toBe(clock.now().toISOString());
      // positions follow the order the database returns the archived scans in
      const truths = detail.caseList.map((entry) => [entry.scanId, entry.kind, entry.threat, entry.categories, entry.regions]);
      expect(truths).toHaveLength(3);
      expect(truths).toEqual(
        expect.arrayContaining([
          [threatMarked, 'archived', true, ['narcotics'], [narcotics]],
          [threatMissed, 'archived', true, ['other'], []],
          [cleanCase, 'archived', false, [], []],
        ]),
      );
      expect(detail.caseList.map((entry) => entry.position)).toEqual([0, 1, 2]);
      const caseIds = detail.caseList.map((entry) => entry.id).sort();
      for (const person of [anna, ben]) {
        const session = (await training.sessionOf(detail.id, person.id))!;
        expect([...session.caseOrder].sort()).toEqual(caseIds);
        expect(await sessions.mine(person)).toEqual([expect.objectContaining({ setId: detail.id, status: 'assigned', total: 3, answered: 0 })]);
      }
      expect((await sets.list()).find((summary) => summary.id === detail.id)).toMatchObject({ cases: { total: 3 }, sessions: { total: 2 } });
    });

    it('refuses a set it cannot make, and writes nothing of it', async () => {
      const cleanCase = await clean();
      const unknownOutcome = await archived({ decision: 'clear', outcome: null });
      const undecided = (await insertQueuedScan(database, { stationId: station.id })).id;
      const before = (await training.sets()).length;
      const seer = await insertUser(database, ['trainee', 'supervisor']);

      expect(await refusal(sets.create(trainer, setBody({ archivedScanIds: [cleanCase, unknownOutcome] })))).toMatchObject({ status: 400, code: 'outcome_unknown' });
      expect(await refusal(sets.create(trainer, setBody({ archivedScanIds: [cleanCase, undecided] })))).toMatchObject({
        status: 400,
        code: 'archived_scan_not_found',
        message: `not decided live scans: ${undecided}`,
      });
      expect(await refusal(sets.create(trainer, setBody({ archivedScanIds: [cleanCase], traineeIds: [analyst.id] })))).toMatchObject({ status: 400, code: 'not_a_trainee' });
      expect(await refusal(sets.create(trainer, setBody({ archivedScanIds: [cleanCase], traineeIds: [seer.id] })))).toMatchObject({ status: 400, code: 'trainee_sees_truth' });
      expect(await refusal(sets.create(trainer, setBody({ archivedScanIds: [cleanCase], projectedCount: 2 })))).toMatchObject({ status: 400, code: 'not_enough_clean_cases' });
      expect(await refusal(sets.create(trainer, setBody({ archivedScanIds: [cleanCase], projections: [{ scanId: cleanCase, threatItemId: randomUUID() }] })))).toMatchObject({
        status: 400,
        code: 'threat_item_not_found',
      });
      expect(await training.sets()).toHaveLength(before);
    });

    it('shows a trainee an archived scan in one image only: as itself in any number of sets, or as the background of one projected threat', async () => {
      const shared = await clean();
      const [tom, una] = [await trainee('tom'), await trainee('una')];
      const asItself = await sets.create(trainer, setBody({ name: 'clean lanes', archivedScanIds: [shared], traineeIds: [tom.id] }));
      const trainingScansBefore = (await training.preparingScanIds()).length;

      const refused = await refusal(sets.create(trainer, setBody({ name: 'hidden pistol', archivedScanIds: [shared], projections: [{ scanId: shared, threatItemId }], traineeIds: [tom.id] })));
      expect(refused).toMatchObject({ status: 409, code: 'archived_scan_in_two_roles' });
      expect(refused.message).toContain(`tom would see archived scan ${shared} as a clean case in set “clean lanes” and as the background of a projected threat in set “hidden pistol”`);
      expect((await training.sets()).map((set) => set.name)).not.toContain('hidden pistol');
      expect(await training.preparingScanIds()).toHaveLength(trainingScansBefore);

      // for another trainee the projection is made: a training scan of its own, its job queued
      const projected = await sets.create(trainer, setBody({ name: 'hidden pistol', archivedScanIds: [shared], projections: [{ scanId: shared, threatItemId }], traineeIds: [una.id] }));
      expect(projected).toMatchObject({ status: 'preparing', cases: { total: 1, threats: 1, projected: 1, ready: 0 } });
      const [projection] = projected.caseList;
      expect(projection).toMatchObject({ kind: 'projected', sourceScanId: shared, threatItemId, threat: true, categories: ['weapons'], status: 'preparing' });
      expect(await scans.findById(projection.scanId)).toMatchObject({ purpose: 'training', status: 'preparing', pool: 'training', stationId: station.id });
      expect(await queues.state(JobName.ProjectThreat, { scanId: projection.scanId })).toBe('waiting');
      const [session] = await sessions.mine(una);
      expect(session).toMatchObject({ setId: projected.id, status: 'waiting' });
      expect(await refusal(sessions.next(una, session.id))).toMatchObject({ status: 409, code: 'set_not_ready', message: 'the set is still being prepared; try again shortly' });

      // neither trainee may be given the other's image of the scan; the same image again is fine
      expect(await refusal(sets.assign(trainer, projected.id, [tom.id]))).toMatchObject({ status: 409, code: 'archived_scan_in_two_roles' });
      expect(await refusal(sets.assign(trainer, asItself.id, [una.id]))).toMatchObject({ status: 409, code: 'archived_scan_in_two_roles' });
      expect((await sets.create(trainer, setBody({ archivedScanIds: [shared], traineeIds: [tom.id] }))).sessions.total).toBe(1);
      expect((await sets.assign(trainer, asItself.id, [tom.id])).sessions.total).toBe(1);

      // a failed set is never shown, so what it holds does not count
      await training.failSet(projected.id, 'the item could not be placed');
      expect((await sets.assign(trainer, asItself.id, [una.id])).sessions.total).toBe(2);
    });

    it('draws the backgrounds of projected threats among the scans the trainees have not met', async () => {
      const [met, fresh] = [await clean(), await clean()];
      const vera = await trainee();
      await sets.create(trainer, setBody({ archivedScanIds: [met], traineeIds: [vera.id] }));
      for (const seed of [1, 2, 3]) {
        const freshOne = seed === 1 ? fresh : await clean();
        const detail = await sets.create(trainer, setBody({ archivedScanIds: [met, freshOne], projectedCount: 1, threatItemIds: [threatItemId], traineeIds: [vera.id], seed }));
        const uses = detail.caseList.map((entry) => [entry.kind, entry.kind === 'projected' ? entry.sourceScanId : entry.scanId]);
        expect(uses).toHaveLength(2);
        expect(uses).toEqual(expect.arrayContaining([['archived', met], ['projected', freshOne]]));
      }
    });

    it('lets only one of two conflicting assignments made at once through', async () => {
      const shared = await clean();
      const plain = await sets.create(trainer, setBody({ archivedScanIds: [shared] }));
      const withThreat = await sets.create(trainer, setBody({ archivedScanIds: [shared], projections: [{ scanId: shared, threatItemId }] }));
      const wes = await trainee();
      const outcomesOf = await Promise.allSettled([sets.assign(trainer, plain.id, [wes.id]), sets.assign(trainer, withThreat.id, [wes.id])]);
      expect(outcomesOf.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomesOf.filter((outcome) => outcome.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'archived_scan_in_two_roles' });
      expect(await sessions.mine(wes)).toHaveLength(1);
    });

    it('removes a set nobody has answered, with its training scans, and keeps one with answers', async () => {
      const shared = await clean();
      const unanswered = await sets.create(trainer, setBody({ archivedScanIds: [shared], projections: [{ scanId: shared, threatItemId }] }));
      const trainingScan = unanswered.caseList[0].scanId;
      await sets.remove(trainer, unanswered.id);
      expect(await training.set(unanswered.id)).toBeUndefined();
      expect(await scans.findById(trainingScan)).toBeUndefined();
      expect(await scans.findById(shared)).toMatchObject({ status: 'decided' });

      const xia = await trainee();
      const answered = await sets.create(trainer, setBody({ archivedScanIds: [shared], traineeIds: [xia.id] }));
      const [session] = await sessions.mine(xia);
      const shown = (await sessions.next(xia, session.id))!;
      await sessions.answer(xia, session.id, shown.case.caseId, { decision: 'clear', regions: [], note: '' });
      expect(await refusal(sets.remove(trainer, answered.id))).toMatchObject({ status: 409, code: 'set_has_answers' });
      expect(await training.set(answered.id)).toBeDefined();
    });
  });

  describe('sessions', () => {
    it('shows a trainee the cases in their own order, the truth only after the answer and only in practice', async () => {
      const threat = await archived({ decision: 'inspect', regions: [narcotics], outcome: { found: true, categories: ['narcotics'] } });
      const cleanCase = await clean();
      const [yan, other] = [await trainee(), await trainee()];
      const practice = await sets.create(trainer, setBody({ archivedScanIds: [threat, cleanCase], traineeIds: [yan.id, other.id] }));
      const exam = await sets.create(trainer, setBody({ mode: 'exam', archivedScanIds: [threat, cleanCase], traineeIds: [yan.id] }));
      const session = (await sessions.mine(yan)).find((entry) => entry.setId === practice.id)!;
      const order = (await training.session(session.id))!.caseOrder;

      expect(await refusal(sessions.next(other, session.id))).toMatchObject({ status: 404, code: 'session_not_found' });
      expect(await refusal(sessions.answer(yan, session.id, order[0], { decision: 'clear', regions: [], note: '' }))).toMatchObject({ status: 409, code: 'case_not_shown' });

      const shown = (await sessions.next(yan, session.id))!;
      expect(Object.keys(shown.case).sort()).toEqual(['caseId', 'manifest', 'metadata', 'position', 'riskScore', 'shownAt', 'stationName', 'total']);
      expect(shown.case).toMatchObject({ caseId: order[0], position: 1, total: 2, stationName: 'Koidula rail 1', shownAt: clock.now().toISOString() });
      expect(JSON.stringify(shown)).not.toMatch(/threat|narcotics|provenance|scanId/);
      clock.advance(5_000);
      expect((await sessions.next(yan, session.id))!.case).toMatchObject({ caseId: order[0], shownAt: shown.case.shownAt }); // a reload
      expect(await sessions.mine(yan)).toContainEqual(expect.objectContaining({ id: session.id, status: 'in_progress' }));

      const truthOf = async (caseId: string) => (await training.trainingCase(caseId))!;
      const firstIsThreat = (await truthOf(order[0])).threat;
      expect(await refusal(sessions.answer(yan, session.id, order[0], { decision: 'inspect', regions: [{ ...narcotics, x: 790 }], note: '' }))).toMatchObject({
        status: 400,
        code: 'invalid_region',
      });
      const first = await sessions.answer(yan, session.id, order[0], { decision: 'inspect', regions: [narcotics], note: '' });
      expect(first).toMatchObject({ caseId: order[0], durationMs: 5_000, remaining: 1, answeredAt: clock.now().toISOString() });
      expect(first.feedback).toEqual(firstIsThreat ? { outcome: 'hit', threat: true, categories: ['narcotics'], regions: [narcotics] } : { outcome: 'false_alarm', threat: false, categories: [], regions: [] });
      expect(await refusal(sessions.answer(yan, session.id, order[0], { decision: 'clear', regions: [], note: '' }))).toMatchObject({ status: 409, code: 'already_answered' });

      const next = (await sessions.next(yan, session.id))!;
      expect(next.case).toMatchObject({ caseId: order[1], position: 2 });
      expect(next.session).toMatchObject({ answered: 1, total: 2, mode: 'practice' });
      clock.advance(1_250);
      const last = await sessions.answer(yan, session.id, order[1], { decision: 'clear', regions: [], note: '' });
      expect(last).toMatchObject({ durationMs: 1_250, remaining: 0, feedback: { outcome: firstIsThreat ? 'correct_rejection' : 'miss' } });
      expect((await training.session(session.id))!.completedAt).toEqual(clock.now());
      expect(await sessions.next(yan, session.id)).toBeNull();
      expect(await sessions.mine(yan)).toContainEqual(expect.objectContaining({ id: session.id, status: 'completed', answered: 2 }));

      const examSession = (await sessions.mine(yan)).find((entry) => entry.setId === exam.id)!;
      const examCase = (await sessions.next(yan, examSession.id))!;
      const examAnswer = await sessions.answer(yan, examSession.id, examCase.case.caseId, { decision: 'inspect', regions: [narcotics], note: '' });
      expect(examAnswer).not.toHaveProperty('feedback');
    });

    it('hides the station and the plates of a set that hides identities', async () => {
      const cleanCase = await clean();
      const zoe = await trainee();
      await sets.create(trainer, setBody({ hideIdentity: true, archivedScanIds: [cleanCase], traineeIds: [zoe.id] }));
      const [session] = await sessions.mine(zoe);
      const shown = (await sessions.next(zoe, session.id))!;
      expect(shown.case.stationName).toBeNull();
      expect(shown.case.manifest.conveyance).toEqual({ containers: ['MSCU1234566'], licencePlates: [], declarations: ['25LT000001'], fields: { declaredGoods: 'furniture' } });
    });
  });

  describe('scores', () => {
    /** Answers every case of the trainee's session: inspect where `inspect(threat)` says so, 2 s per case. */
    async function work(person: UserPrincipal, setId: string, inspect: (threat: boolean, index: number) => boolean, limit = Infinity): Promise<string> {
      const session = (await sessions.mine(person)).find((entry) => entry.setId === setId)!;
      const seen = { threat: 0, clean: 0 };
      for (let done = 0; done < limit; done++) {
        const shown = await sessions.next(person, session.id);
        if (!shown) break;
        const { threat } = (await training.trainingCase(shown.case.caseId))!;
        const index = threat ? seen.threat++ : seen.clean++;
        clock.advance(2_000);
        await sessions.answer(person, session.id, shown.case.caseId, { decision: inspect(threat, index) ? 'inspect' : 'clear', regions: [], note: '' });
      }
      return session.id;
    }

    it('scores hit rate, false-alarm rate and d′ from the answers recorded, per session, set and trainee', async () => {
      // threat cases without marked regions: inspect alone is a hit
      const threats = [];
      for (let i = 0; i < 4; i++) threats.push(await archived({ decision: 'clear', outcome: { found: true, categories: ['weapons'] } }));
      const cleans = [];
      for (let i = 0; i < 4; i++) cleans.push(await clean());
      const [amy, bo, cy] = [await trainee('amy'), await trainee('bo'), await trainee('cy')];
      const set = await sets.create(trainer, setBody({ mode: 'exam', archivedScanIds: [...threats, ...cleans], traineeIds: [amy.id, bo.id, cy.id] }));

      // amy: 3 hits, 1 miss, 1 false alarm, 3 correct rejections
      const amySession = await work(amy, set.id, (threat, index) => (threat ? index < 3 : index === 0));
      const amyScore = await scores.ofSession(amySession);
      expect(amyScore.overall).toEqual({
        threatEvents: 4,
        cleanEvents: 4,
        hits: 3,
        misses: 1,
        falseAlarms: 1,
        correctRejections: 3,
        hitRate: 0.75,
        falseAlarmRate: 0.25,
        dPrime: expect.closeTo(1.3489795, 6),
        aPrime: expect.closeTo(0.8333333, 6),
        corrected: false,
        meanDecisionMs: 2_000,
        reliable: false,
      });
      expect(amyScore.byCategory).toEqual([expect.objectContaining({ category: 'weapons', threatEvents: 4, hits: 3, falseAlarmRate: 0.25 })]);

      // bo: every answer right; the rates of 1 and 0 are corrected by 1/(2N) for d′
      const boSession = await work(bo, set.id, (threat) => threat);
      expect((await scores.ofSession(boSession)).overall).toMatchObject({ hitRate: 1, falseAlarmRate: 0, dPrime: expect.closeTo(2.3006988, 6), corrected: true });

      // cy stops after 3 cases: counted in the set, not in cy's figures over time
      const cySession = await work(cy, set.id, () => true, 3);
      const ofSet = await scores.ofSet(set.id);
      expect(ofSet.sessions.map((session) => [session.trainee, session.sessionId, session.completedAt !== null])).toEqual([
        ['amy', amySession, true],
        ['bo', boSession, true],
        ['cy', cySession, false],
      ]);
      expect(ofSet.overall.threatEvents + ofSet.overall.cleanEvents).toBe(8 + 8 + 3);
      expect(ofSet.overall.hits).toBe(3 + 4 + ofSet.sessions[2].score.hits);
      expect((await scores.ofTrainee(amy.id)).sessions.map((session) => session.sessionId)).toEqual([amySession]);
      expect(await scores.ofTrainee(cy.id)).toMatchObject({ trainee: 'cy', sessions: [], overall: { threatEvents: 0, cleanEvents: 0, dPrime: null } });
      expect(await refusal(scores.ofTrainee(trainer.id))).toMatchObject({ status: 404, code: 'trainee_not_found' });

      const csv = await scores.setAnswersCsv(set.id);
      const lines = csv.trimEnd().split('\r\n');
      expect(lines[0]).toBe('set,trainee,session,position,case,kind,threat,categories,decision,outcome,shown_at,answered_at,duration_ms');
      expect(lines).toHaveLength(1 + 19);
      expect(lines.filter((line) => line.includes(',amy,')).map((line) => line.split(',')[9]).sort()).toEqual(['correct_rejection', 'correct_rejection', 'correct_rejection', 'false_alarm', 'hit', 'hit', 'hit', 'miss']);
      expect(lines.slice(1).every((line) => line.endsWith(',2000'))).toBe(true);
      const perSession = (await scores.traineeScoresCsv(amy.id)).trimEnd().split('\r\n');
      expect(perSession).toHaveLength(2);
      expect(perSession[1]).toContain(',4,4,3,1,1,3,0.75,0.25,');
    });
  });
});
