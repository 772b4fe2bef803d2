import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import type { Region } from '../../libs/exchange-format/src/verdict.js';
import { refusal, scanRow } from '../../test/builders.js';
import { strictMock } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Principal, Role, StationPrincipal, UserPrincipal } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { StationRepository, type StationRow } from '../stations/station.repository.js';
import { classifyAnswer } from './scoring.js';
import type { AnswerBody, NextCaseResponse } from './training.contract.js';
import { TrainingRepository, type TrainingAnswerRow, type TrainingCaseRow, type TrainingSessionRow, type TrainingSetRow } from './training.repository.js';
import { TrainingSessionsService } from './training-sessions.service.js';
import { TRUTH_KEYS, keysOf } from '../../test/truth-keys.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const ASSIGNED_AT = new Date('2025-02-28T08:00:00Z');
const TRAINEE_ID = '1a2b3c4d-0000-4000-8000-000000000001';
const OTHER_TRAINEE_ID = '1a2b3c4d-0000-4000-8000-000000000002';
const TRAINER_ID = '1a2b3c4d-0000-4000-8000-000000000003';
const SET_ID = '2b3c4d5e-0000-4000-8000-000000000001';
const SESSION_ID = '3c4d5e6f-0000-4000-8000-000000000001';
const CASE_A = '4d5e6f70-0000-4000-8000-00000000000a';
const CASE_B = '4d5e6f70-0000-4000-8000-00000000000b';
const CASE_C = '4d5e6f70-0000-4000-8000-00000000000c';
/** The training-only scan of a projection: what the trainee is shown. */
const SCAN_ID = '5e6f7081-0000-4000-8000-000000000001';
/** The clean archived scan the threat was projected into: never to reach a trainee. */
const SOURCE_SCAN_ID = '5e6f7081-0000-4000-8000-000000000002';
const THREAT_ITEM_ID = '6f708192-0000-4000-8000-000000000001';
const STATION_ID = '708192a3-0000-4000-8000-000000000001';
/** The trainee's own order differs from the set's positions: A, B, C in the set; B, C, A for this trainee. */
const CASE_ORDER = [CASE_B, CASE_C, CASE_A];

const trainee: UserPrincipal = { kind: 'user', id: TRAINEE_ID, username: 'tina', roles: ['trainee'] };

const truthRegion: Region = { view: 'top', x: 100, y: 50, width: 40, height: 30, category: 'weapons', note: 'projected pistol' };

function setRow(overrides: Partial<TrainingSetRow> = {}): TrainingSetRow {
  return {
    id: SET_ID,
    name: 'Pistols in reefers',
    mode: 'practice',
    hideIdentity: false,
    status: 'ready',
    failureMessage: null,
    createdBy: TRAINER_ID,
    createdAt: ASSIGNED_AT,
    readyAt: ASSIGNED_AT,
    ...overrides,
  };
}

function sessionRow(overrides: Partial<TrainingSessionRow> = {}): TrainingSessionRow {
  return {
    id: SESSION_ID,
    setId: SET_ID,
    traineeId: TRAINEE_ID,
    caseOrder: CASE_ORDER,
    assignedBy: TRAINER_ID,
    assignedAt: ASSIGNED_AT,
    startedAt: null,
    completedAt: null,
    ...overrides,
  };
}

/** A projected threat case with its full truth (what a trainee must not see before answering). */
function caseRow(overrides: Partial<TrainingCaseRow> = {}): TrainingCaseRow {
  return {
    id: CASE_B,
    setId: SET_ID,
    position: 0,
    kind: 'projected',
    scanId: SCAN_ID,
    sourceScanId: SOURCE_SCAN_ID,
    threatItemId: THREAT_ITEM_ID,
    placement: null,
    threat: true,
    categories: ['weapons'],
    regions: [truthRegion],
    status: 'ready',
    ...overrides,
  };
}

function answerRow(caseId: string, overrides: Partial<TrainingAnswerRow> = {}): TrainingAnswerRow {
  return {
    sessionId: SESSION_ID,
    caseId,
    position: CASE_ORDER.indexOf(caseId),
    shownAt: new Date(NOW.getTime() - 60_000),
    answeredAt: null,
    decision: null,
    regions: null,
    note: null,
    outcome: null,
    ...overrides,
  };
}

const answered = (caseId: string) => answerRow(caseId, { answeredAt: new Date(NOW.getTime() - 30_000), decision: 'clear', regions: [], note: '', outcome: 'miss' });

/** A training scan's manifest as stored: ids, provenance and the projection's `training` section included. */
const manifest: Manifest = {
  format: 'niix-exchange',
  version: '1.1',
  scanId: SCAN_ID,
  stationId: STATION_ID,
  scanner: { vendor: 'Nuctech', model: 'MB1215', serial: 'SN-0042', software: '3.2' },
  acquiredAt: '2025-02-20T07:30:00Z',
  conveyance: {
    containers: [{ number: 'CSQU3054383', checkDigitValid: true }],
    licencePlates: ['ABC123'],
    declarations: ['25EE0001234'],
    fields: { declaredGoods: 'bananas', riskScore: 40, lane: 'Narva lane 3' },
  },
  views: [
    { id: 'top', width: 800, height: 400, pixelSpacingMm: { x: 5, y: 5 }, airValue: 60000, planes: [{ energy: 'high', path: 'views/top/high.png', sha256: 'a'.repeat(64) }] },
    { id: 'side', width: 800, height: 300, pixelSpacingMm: null, airValue: 60000, planes: [{ energy: 'single', path: 'views/side/single.png', sha256: 'b'.repeat(64) }] },
  ],
  provenance: {
    originals: [{ name: 'scan.img', size: 12, sha256: 'c'.repeat(64), object: `scans/${SOURCE_SCAN_ID}/original/0` }],
    adapter: { id: 'projection', version: '1.0.0' },
    convertedAt: '2025-02-28T08:00:00Z',
    warnings: [],
    importedFrom: { scanId: SOURCE_SCAN_ID, stationId: STATION_ID },
  },
  training: {
    purpose: 'training',
    sourceScanId: SOURCE_SCAN_ID,
    projectedThreats: [
      {
        threatItemId: THREAT_ITEM_ID,
        name: 'pistol',
        category: 'weapons',
        view: 'top',
        region: { x: 100, y: 50, width: 40, height: 30 },
        placement: { x: 100, y: 50, scale: 1, rotationDeg: 15 },
      },
    ],
  },
};

const scan: ScanRow = scanRow({
  id: SCAN_ID,
  stationId: STATION_ID,
  purpose: 'training',
  status: 'decided',
  riskScore: 40,
  manifest,
  metadata: { containers: ['CSQU3054383'], declarations: ['25EE0001234'], licencePlates: ['ABC123'], declaredGoods: 'bananas', reference: 'narva-3/0042' },
});

const stationRow = { id: STATION_ID, name: 'Narva lane 3' } as StationRow;

describe(TrainingSessionsService.name, () => {
  let training: jest.Mocked<TrainingRepository>;
  let scans: jest.Mocked<ScanRepository>;
  let stations: jest.Mocked<StationRepository>;
  let audit: jest.Mocked<AuditRepository>;
  let service: TrainingSessionsService;

  beforeEach(() => {
    training = strictMock(TrainingRepository);
    scans = strictMock(ScanRepository);
    stations = strictMock(StationRepository);
    audit = strictMock(AuditRepository);
    service = new TrainingSessionsService(training, scans, stations, audit, strictMock(Clock, { now: () => NOW }));
  });

  /** The lookups of own(): this trainee's session in a set, listed with its summary fields. */
  function ownSession(set = setRow(), session = sessionRow()): void {
    training.session.mockResolvedValue(session);
    training.set.mockResolvedValue(set);
    training.sessionsWithTrainee.mockResolvedValue([{ ...session, trainee: trainee.username, setName: set.name, mode: set.mode, setStatus: set.status, answered: 0 }]);
  }

  /** The lookups of showing a case: the case, its scan and (unless hidden) the station; the audit line. */
  function showable(trainingCase = caseRow()): void {
    training.startSession.mockResolvedValue();
    training.trainingCase.mockResolvedValue(trainingCase);
    scans.findById.mockResolvedValue(scan);
    stations.findById.mockResolvedValue(stationRow);
    audit.record.mockResolvedValue();
  }

  describe('own', () => {
    it('returns this trainee’s session with its set and summary', async () => {
      ownSession();
      const { session, set, summary } = await service.own(trainee, SESSION_ID);
      expect(session.id).toBe(SESSION_ID);
      expect(set.id).toBe(SET_ID);
      expect(summary).toMatchObject({ id: SESSION_ID, status: 'assigned', total: 3, answered: 0 });
      expect(training.sessionsWithTrainee).toHaveBeenCalledWith({ traineeId: TRAINEE_ID });
    });

    it('answers 404 for another trainee’s session, as if it did not exist', async () => {
      training.session.mockResolvedValue(sessionRow({ traineeId: OTHER_TRAINEE_ID }));
      expect(await refusal(service.own(trainee, SESSION_ID))).toMatchObject({ status: 404, code: 'session_not_found' });
      expect(training.set).not.toHaveBeenCalled();
    });

    it('answers 404 for an unknown session', async () => {
      training.session.mockResolvedValue(undefined);
      expect(await refusal(service.own(trainee, SESSION_ID))).toMatchObject({ status: 404, code: 'session_not_found' });
    });

    it.each(['42', 'not-a-uuid', SESSION_ID.toUpperCase(), `${SESSION_ID}'--`])('answers 404 for the malformed id %p without touching the repository', async (id) => {
      expect(await refusal(service.own(trainee, id))).toMatchObject({ status: 404, code: 'session_not_found' });
      expect(training.session).not.toHaveBeenCalled();
    });
  });

  describe('next', () => {
    it('refuses while the set is being prepared', async () => {
      ownSession(setRow({ status: 'preparing', readyAt: null }));
      expect(await refusal(service.next(trainee, SESSION_ID))).toMatchObject({ status: 409, code: 'set_not_ready' });
      expect(training.answersOf).not.toHaveBeenCalled();
    });

    it('refuses a failed set without telling the trainee why (the reason would reveal projected threats)', async () => {
      const failureMessage = `projecting threat item ${THREAT_ITEM_ID} into scan ${SOURCE_SCAN_ID} failed: pistol does not fit`;
      ownSession(setRow({ status: 'failed', readyAt: null, failureMessage }));
      const refused = await refusal(service.next(trainee, SESSION_ID));
      expect(refused).toMatchObject({ status: 409, code: 'set_not_ready' });
      expect(refused.message).not.toContain(failureMessage);
      expect(refused.message).not.toMatch(/project|pistol|threat/i);
      expect(refused.message).not.toContain(THREAT_ITEM_ID);
      expect(refused.message).not.toContain(SOURCE_SCAN_ID);
    });

    it('returns the case shown and not answered yet before a new one, keeping its first shownAt', async () => {
      const shownAt = new Date('2025-03-01T09:40:00Z');
      ownSession();
      training.answersOf.mockResolvedValue([answered(CASE_B), answerRow(CASE_C, { shownAt })]);
      showable(caseRow({ id: CASE_C, position: 2 }));
      const next = (await service.next(trainee, SESSION_ID))!;
      expect(next.case).toMatchObject({ caseId: CASE_C, position: 2, total: 3, shownAt: shownAt.toISOString() });
      expect(next.session).toEqual({ id: SESSION_ID, mode: 'practice', setName: 'Pistols in reefers', total: 3, answered: 1 });
      expect(training.markShown).not.toHaveBeenCalled();
      expect(training.trainingCase).toHaveBeenCalledWith(CASE_C);
    });

    it('marks shown the next case in the trainee’s own order, not the set’s', async () => {
      ownSession();
      training.answersOf.mockResolvedValue([answered(CASE_B)]);
      showable(caseRow({ id: CASE_C, position: 2 }));
      training.markShown.mockImplementation(async (row) => answerRow(row.caseId, { shownAt: row.shownAt }));
      const next = (await service.next(trainee, SESSION_ID))!;
      expect(training.markShown).toHaveBeenCalledTimes(1);
      expect(training.markShown).toHaveBeenCalledWith({ sessionId: SESSION_ID, caseId: CASE_C, position: 1, shownAt: NOW });
      expect(training.startSession).toHaveBeenCalledWith(SESSION_ID, NOW);
      expect(next.case).toMatchObject({ caseId: CASE_C, position: 2, total: 3, shownAt: NOW.toISOString(), stationName: 'Narva lane 3', riskScore: 40 });
      expect(audit.record).toHaveBeenCalledWith({ actorType: 'user', actorId: TRAINEE_ID, action: 'training.case_shown', scanId: SCAN_ID, detail: { sessionId: SESSION_ID, caseId: CASE_C } });
    });

    it('starts with the first case of the trainee’s order', async () => {
      ownSession();
      training.answersOf.mockResolvedValue([]);
      showable();
      training.markShown.mockImplementation(async (row) => answerRow(row.caseId, { shownAt: row.shownAt }));
      const next = (await service.next(trainee, SESSION_ID))!;
      expect(training.markShown).toHaveBeenCalledWith({ sessionId: SESSION_ID, caseId: CASE_B, position: 0, shownAt: NOW });
      expect(next.case).toMatchObject({ caseId: CASE_B, position: 1 });
      expect(next.session.answered).toBe(0);
    });

    it('completes the session and returns null when every case is answered', async () => {
      ownSession();
      training.answersOf.mockResolvedValue(CASE_ORDER.map(answered));
      training.completeSession.mockResolvedValue();
      expect(await service.next(trainee, SESSION_ID)).toBeNull();
      expect(training.completeSession).toHaveBeenCalledWith(SESSION_ID, NOW);
      expect(training.markShown).not.toHaveBeenCalled();
      expect(training.startSession).not.toHaveBeenCalled();
    });

    describe.each([
      ['practice', false],
      ['exam', false],
      ['practice', true],
    ] as const)('in %s mode (hideIdentity %p)', (mode, hideIdentity) => {
      it('shows nothing of the truth or of where the case came from', async () => {
        ownSession(setRow({ mode, hideIdentity }));
        training.answersOf.mockResolvedValue([answerRow(CASE_B)]);
        showable();
        const next = (await service.next(trainee, SESSION_ID))!;
        const serialized = JSON.stringify(next);
        const keys = keysOf(JSON.parse(serialized) as NextCaseResponse);
        for (const key of TRUTH_KEYS) expect({ key, present: keys.has(key) }).toEqual({ key, present: false });
        for (const id of [SCAN_ID, SOURCE_SCAN_ID, THREAT_ITEM_ID, STATION_ID]) expect(serialized).not.toContain(id);
        expect(serialized).not.toMatch(/projected|pistol|weapons|SN-0042/);
        expect(next.case.manifest.views).toEqual([
          { id: 'top', width: 800, height: 400, pixelSpacingMm: { x: 5, y: 5 }, airValue: 60000, planes: [{ energy: 'high' }] },
          { id: 'side', width: 800, height: 300, pixelSpacingMm: null, airValue: 60000, planes: [{ energy: 'single' }] },
        ]);
      });
    });

    it('with hideIdentity gives no station name, does not look the station up, and drops plates and station fields', async () => {
      ownSession(setRow({ hideIdentity: true }));
      training.answersOf.mockResolvedValue([answerRow(CASE_B)]);
      showable();
      const next = (await service.next(trainee, SESSION_ID))!;
      expect(next.case.stationName).toBeNull();
      expect(stations.findById).not.toHaveBeenCalled();
      expect(next.case.manifest.conveyance).toEqual({
        containers: [{ number: 'CSQU3054383', checkDigitValid: true }],
        licencePlates: [],
        declarations: ['25EE0001234'],
        fields: { declaredGoods: 'bananas', riskScore: 40 },
      });
      expect(next.case.metadata).toEqual({ containers: ['CSQU3054383'], declarations: ['25EE0001234'], declaredGoods: 'bananas' });
      expect(JSON.stringify(next)).not.toMatch(/Narva|ABC123/);
    });

    it('without hideIdentity names the station of the scan', async () => {
      ownSession();
      training.answersOf.mockResolvedValue([answerRow(CASE_B)]);
      showable();
      const next = (await service.next(trainee, SESSION_ID))!;
      expect(stations.findById).toHaveBeenCalledWith(STATION_ID);
      expect(next.case.stationName).toBe('Narva lane 3');
    });
  });

  describe('answer', () => {
    const shownAt = new Date(NOW.getTime() - 42_500);
    const hitBody: AnswerBody = { decision: 'inspect', regions: [{ ...truthRegion, x: 120, y: 60, category: 'weapons', note: '' }], note: 'rear left' };

    /** A shown, unanswered case; `answeredAfter` is how many cases are answered once this answer is recorded. */
    function answerable(trainingCase = caseRow(), answeredAfter = 1): void {
      training.answer.mockResolvedValue(answerRow(trainingCase.id, { shownAt }));
      training.trainingCase.mockResolvedValue(trainingCase);
      scans.findById.mockResolvedValue(scan);
      training.recordAnswer.mockResolvedValue(true);
      training.answersOf.mockResolvedValue(CASE_ORDER.map((id, index) => (index < answeredAfter ? answered(id) : answerRow(id))));
      audit.record.mockResolvedValue();
    }

    it('refuses a case that was not shown', async () => {
      ownSession();
      training.answer.mockResolvedValue(undefined);
      expect(await refusal(service.answer(trainee, SESSION_ID, CASE_C, hitBody))).toMatchObject({ status: 409, code: 'case_not_shown' });
      expect(training.answer).toHaveBeenCalledWith(SESSION_ID, CASE_C);
      expect(training.trainingCase).not.toHaveBeenCalled();
    });

    it('refuses a malformed case id as not shown, without looking it up', async () => {
      ownSession();
      expect(await refusal(service.answer(trainee, SESSION_ID, 'case-1', hitBody))).toMatchObject({ status: 409, code: 'case_not_shown' });
      expect(training.answer).not.toHaveBeenCalled();
    });

    it('refuses another trainee’s session before looking at the case', async () => {
      training.session.mockResolvedValue(sessionRow({ traineeId: OTHER_TRAINEE_ID }));
      expect(await refusal(service.answer(trainee, SESSION_ID, CASE_B, hitBody))).toMatchObject({ status: 404, code: 'session_not_found' });
      expect(training.answer).not.toHaveBeenCalled();
    });

    it('refuses a case answered already', async () => {
      ownSession();
      training.answer.mockResolvedValue(answered(CASE_B));
      expect(await refusal(service.answer(trainee, SESSION_ID, CASE_B, hitBody))).toMatchObject({ status: 409, code: 'already_answered' });
      expect(training.recordAnswer).not.toHaveBeenCalled();
    });

    it.each([
      ['past the right edge', { view: 'top', x: 780, y: 10, width: 21, height: 10 }],
      ['past the bottom edge', { view: 'side', x: 0, y: 290, width: 10, height: 11 }],
      ['on a view the scan does not have', { view: 'view-3', x: 0, y: 0, width: 1, height: 1 }],
    ])('refuses a region %s', async (_, box) => {
      ownSession();
      answerable();
      const body: AnswerBody = { decision: 'inspect', regions: [{ ...box, category: 'weapons', note: '' }], note: '' };
      expect(await refusal(service.answer(trainee, SESSION_ID, CASE_B, body))).toMatchObject({ status: 400, code: 'invalid_region' });
      expect(training.recordAnswer).not.toHaveBeenCalled();
    });

    it('accepts a region that ends exactly on the edge of its view', async () => {
      ownSession();
      answerable();
      const body: AnswerBody = { decision: 'inspect', regions: [{ view: 'top', x: 760, y: 370, width: 40, height: 30, category: 'other', note: '' }], note: '' };
      await expect(service.answer(trainee, SESSION_ID, CASE_B, body)).resolves.toMatchObject({ caseId: CASE_B });
    });

    it('refuses when a concurrent answer was recorded first, and completes nothing', async () => {
      ownSession();
      answerable();
      training.recordAnswer.mockResolvedValue(false);
      expect(await refusal(service.answer(trainee, SESSION_ID, CASE_B, hitBody))).toMatchObject({ status: 409, code: 'already_answered' });
      expect(training.answersOf).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
    });

    it('in exam mode gives no feedback, though the answer is scored', async () => {
      ownSession(setRow({ mode: 'exam' }));
      answerable();
      const response = await service.answer(trainee, SESSION_ID, CASE_B, hitBody);
      expect(response).toEqual({ caseId: CASE_B, answeredAt: NOW.toISOString(), durationMs: 42_500, remaining: 2 });
      expect('feedback' in response).toBe(false);
      const keys = keysOf(JSON.parse(JSON.stringify(response)));
      for (const key of ['threat', 'categories', 'regions', 'outcome']) expect(keys.has(key)).toBe(false);
      expect(training.recordAnswer).toHaveBeenCalledWith(SESSION_ID, CASE_B, expect.objectContaining({ outcome: 'hit' }));
    });

    it.each([
      ['an inspect on the threat', caseRow(), hitBody, 'hit'],
      ['an inspect somewhere else', caseRow(), { decision: 'inspect', regions: [{ view: 'side', x: 100, y: 50, width: 40, height: 30, category: 'weapons', note: '' }], note: '' }, 'miss'],
      ['a clear on a threat', caseRow(), { decision: 'clear', regions: [], note: '' }, 'miss'],
      ['a clear on a clean case', caseRow({ kind: 'archived', sourceScanId: null, threatItemId: null, threat: false, categories: [], regions: [] }), { decision: 'clear', regions: [], note: '' }, 'correct_rejection'],
      ['an inconclusive on a clean case', caseRow({ kind: 'archived', sourceScanId: null, threatItemId: null, threat: false, categories: [], regions: [] }), { decision: 'inconclusive', regions: [], note: '' }, 'false_alarm'],
    ] as const)('in practice mode gives feedback on %s: the outcome and the truth', async (_, trainingCase, body, expected) => {
      ownSession();
      answerable(trainingCase);
      const truth = { threat: trainingCase.threat, categories: trainingCase.categories, regions: trainingCase.regions as Region[] };
      const response = await service.answer(trainee, SESSION_ID, CASE_B, body as AnswerBody);
      expect(classifyAnswer(truth as Parameters<typeof classifyAnswer>[0], body as AnswerBody)).toBe(expected);
      expect(response.feedback).toEqual({ outcome: expected, ...truth });
      expect(training.recordAnswer).toHaveBeenCalledWith(SESSION_ID, CASE_B, { answeredAt: NOW, decision: body.decision, regions: body.regions, note: body.note, outcome: expected });
    });

    it('measures the time from showing to answering', async () => {
      ownSession();
      answerable();
      const response = await service.answer(trainee, SESSION_ID, CASE_B, hitBody);
      expect(response.answeredAt).toBe(NOW.toISOString());
      expect(response.durationMs).toBe(NOW.getTime() - shownAt.getTime());
      expect(response.durationMs).toBe(42_500);
      expect(audit.record).toHaveBeenCalledWith({ actorType: 'user', actorId: TRAINEE_ID, action: 'training.answered', scanId: SCAN_ID, detail: { sessionId: SESSION_ID, caseId: CASE_B, decision: 'inspect' } });
    });

    it('leaves the session open while cases remain', async () => {
      ownSession();
      answerable(caseRow(), 2);
      expect((await service.answer(trainee, SESSION_ID, CASE_B, hitBody)).remaining).toBe(1);
      expect(training.completeSession).not.toHaveBeenCalled();
    });

    it('completes the session with the last answer, at the time of that answer', async () => {
      ownSession();
      answerable(caseRow({ id: CASE_A }), 3);
      training.completeSession.mockResolvedValue();
      expect((await service.answer(trainee, SESSION_ID, CASE_A, hitBody)).remaining).toBe(0);
      expect(training.completeSession).toHaveBeenCalledWith(SESSION_ID, NOW);
    });
  });

  describe('grant', () => {
    const user = (roles: Role[], id = TRAINEE_ID): UserPrincipal => ({ kind: 'user', id, username: roles.join('+'), roles });

    it.each([[['trainer']], [['admin']], [['trainer', 'trainee']]] as Role[][][])('lets a user with roles %p read the images of any case', async (roles) => {
      const principal = user(roles, TRAINER_ID);
      training.trainingCase.mockResolvedValue(caseRow());
      expect(await service.grant(principal, CASE_B)).toEqual({ ...principal, grantedScanId: SCAN_ID });
      expect(training.sessionOf).not.toHaveBeenCalled();
    });

    it('lets a trainee read a case they were shown', async () => {
      training.trainingCase.mockResolvedValue(caseRow());
      training.sessionOf.mockResolvedValue(sessionRow());
      training.answer.mockResolvedValue(answerRow(CASE_B));
      expect(await service.grant(trainee, CASE_B)).toEqual({ ...trainee, grantedScanId: SCAN_ID });
      expect(training.sessionOf).toHaveBeenCalledWith(SET_ID, TRAINEE_ID);
      expect(training.answer).toHaveBeenCalledWith(SESSION_ID, CASE_B);
    });

    it('hides a case the trainee has not been shown yet', async () => {
      training.trainingCase.mockResolvedValue(caseRow({ id: CASE_A }));
      training.sessionOf.mockResolvedValue(sessionRow());
      training.answer.mockResolvedValue(undefined);
      expect(await refusal(service.grant(trainee, CASE_A))).toMatchObject({ status: 404, code: 'case_not_found' });
    });

    it('hides a case of a set the trainee has no session of', async () => {
      training.trainingCase.mockResolvedValue(caseRow());
      training.sessionOf.mockResolvedValue(undefined);
      expect(await refusal(service.grant(trainee, CASE_B))).toMatchObject({ status: 404, code: 'case_not_found' });
      expect(training.answer).not.toHaveBeenCalled();
    });

    it.each([[['analyst']], [['supervisor']], [[]]] as Role[][][])('hides every case from a user with roles %p', async (roles) => {
      training.trainingCase.mockResolvedValue(caseRow());
      expect(await refusal(service.grant(user(roles), CASE_B))).toMatchObject({ status: 404, code: 'case_not_found' });
      expect(training.sessionOf).not.toHaveBeenCalled();
    });

    it('hides every case from a station', async () => {
      const station: StationPrincipal = { kind: 'station', id: STATION_ID, name: 'Narva lane 3' };
      training.trainingCase.mockResolvedValue(caseRow());
      expect(await refusal(service.grant(station, CASE_B))).toMatchObject({ status: 404, code: 'case_not_found' });
    });

    it('answers 404 for an unknown case, even to a trainer', async () => {
      training.trainingCase.mockResolvedValue(undefined);
      expect(await refusal(service.grant(user(['trainer'], TRAINER_ID), CASE_C))).toMatchObject({ status: 404, code: 'case_not_found' });
    });

    it('answers 404 for a malformed case id without looking it up', async () => {
      const principal: Principal = user(['admin'], TRAINER_ID);
      expect(await refusal(service.grant(principal, '../scans/1'))).toMatchObject({ status: 404, code: 'case_not_found' });
      expect(training.trainingCase).not.toHaveBeenCalled();
    });
  });
});
