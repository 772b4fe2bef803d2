import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inArray } from 'drizzle-orm';
import { MANIFEST_PATH, type PackageView, readPackage } from '../libs/exchange-format/src/package.js';
import { encodeGrey8, encodePng16 } from '../libs/imaging/src/raster.js';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { type ScannerInputFormat, writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { DATABASE } from '../src/database/database.module.js';
import type { Database } from '../src/database/database.js';
import { results as resultsTable } from '../src/database/schema.js';
import { PipelineService } from '../src/pipeline/pipeline.service.js';
import { WorklistService } from '../src/review/worklist.service.js';
import { scanObjects } from '../src/scans/scan-objects.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../src/storage/object-storage.js';
import { ProjectionService } from '../src/training/projection.service.js';
import { aPrime, correctedRate, dPrime } from '../src/training/scoring.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';
import { until } from './until.js';
import { TRUTH_KEYS, keysOf } from './truth-keys.js';
import type { z } from 'zod';
import type { Region, ThreatCategory } from '../libs/exchange-format/src/verdict.js';
import type { CategoryScore, DetectionScore } from '../src/training/scoring.js';
import type { AnswerResponse, ArchiveCase, NextCaseResponse, SessionScore, SessionSummary, SetDetail, ThreatItemResponse, archiveResponse, ownSessionResponse } from '../src/training/training.contract.js';
import { itemPlanes } from './builders.js';

/*
 * Training over HTTP against the whole service (PGlite, real Redis, real storage): the archive trainers search,
 * the threat library, training sets with projected threats (and their training-only packages), trainees working
 * through sessions, scoring, and every separation rule of issue 5 tried the way an attacker would: training scans
 * never reach the live pool, a station or live statistics; a trainee cannot get the truth of a case before
 * answering it by any route; a trainee sees only their own sessions; a set can hide station names and plates.
 *
 * One service boot for the file: the archive is made once (scans uploaded through ingest, decided by an analyst,
 * outcomes reported by the station) and the tests run in order over it.
 */

const PASSWORD = 'training-password-of-tests';
/** Set preparation makes projected cases in the background: waited for as a condition, with a generous deadline. */
const READY_MS = 120_000;

type Json = Record<string, unknown>;
interface ApiErrorBody {
  error: { code: string; message: string };
}
interface Station {
  id: string;
  name: string;
  apiKey: string;
}
interface User {
  id: string;
  username: string;
  token: string;
}
type ArchivePage = z.infer<typeof archiveResponse>;
type ThreatItem = ThreatItemResponse;
type TrainerCase = SetDetail['caseList'][number];
type NextCase = NextCaseResponse;
type OwnSession = z.infer<typeof ownSessionResponse>;
interface Stats {
  pools: { pool: string; waiting: number; held: number; decidedLastHour: number; decidedLateLastHour: number }[];
  holders: { scanId: string }[];
  recent: { scanId: string; decidedAt: string }[];
}
type Outcome = 'hit' | 'miss' | 'false_alarm' | 'correct_rejection';

/** What the analyst decides and the station reports for one archived scan. */
interface Plan {
  key: string;
  station: 'A' | 'B';
  decision: 'clear' | 'inspect' | 'inconclusive';
  regions: Region[];
  outcome: { found: boolean; categories?: string[]; note?: string } | null;
  /** A first opinion that a second analyst overrides (four-eyes review on `inspect`). */
  first?: { decision: 'inspect'; regions: Region[] };
}

const region = (category: ThreatCategory, x = 100, y = 30): Region => ({ view: 'side', x, y, width: 60, height: 40, category, note: `${category} suspected` });

/**
 * The archive: station A (Aurora raw files, top and side views) and station B (Borealis, side view only).
 * a5 has no reported outcome; b2 is found with no category in the outcome (the verdict's region gives it);
 * b3 is an analyst's false alarm (tobacco region, nothing found); b4 is an analyst's miss (cleared, currency found).
 * Every first `inspect` gets a second analyst (four-eyes); for b5 the second one overrules the first: the archive
 * knows b5 by its final verdict only (clear, no region).
 */
const PLANS: Plan[] = [
  { key: 'a0', station: 'A', decision: 'clear', regions: [], outcome: { found: false } },
  { key: 'a1', station: 'A', decision: 'clear', regions: [], outcome: { found: false } },
  { key: 'a2', station: 'A', decision: 'clear', regions: [], outcome: { found: false } },
  { key: 'a3', station: 'A', decision: 'clear', regions: [], outcome: { found: false } },
  { key: 'a4', station: 'A', decision: 'inspect', regions: [region('narcotics')], outcome: { found: true, categories: ['narcotics'], note: '40 kg behind the seats' } },
  { key: 'a5', station: 'A', decision: 'clear', regions: [], outcome: null },
  { key: 'a6', station: 'A', decision: 'inconclusive', regions: [], outcome: { found: false } },
  { key: 'b0', station: 'B', decision: 'clear', regions: [], outcome: { found: false } },
  { key: 'b1', station: 'B', decision: 'clear', regions: [], outcome: { found: false } },
  { key: 'b2', station: 'B', decision: 'inspect', regions: [region('weapons', 150, 20)], outcome: { found: true, categories: [] } },
  { key: 'b3', station: 'B', decision: 'inspect', regions: [region('tobacco', 40, 50)], outcome: { found: false } },
  { key: 'b4', station: 'B', decision: 'clear', regions: [], outcome: { found: true, categories: ['currency'] } },
  { key: 'b5', station: 'B', decision: 'clear', regions: [], outcome: { found: false }, first: { decision: 'inspect', regions: [region('weapons', 10, 10)] } },
];
const B_KEYS = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];

const STARTERS = [
  { name: 'Pistol', category: 'weapons' },
  { name: 'Rifle parts', category: 'weapons' },
  { name: 'Drug blocks', category: 'narcotics' },
  { name: 'Cigarette cartons', category: 'tobacco' },
  { name: 'Cash bundles', category: 'currency' },
  { name: 'Hidden compartment', category: 'concealment' },
];

function overlaps(a: Pick<Region, 'view' | 'x' | 'y' | 'width' | 'height'>, b: Pick<Region, 'view' | 'x' | 'y' | 'width' | 'height'>): boolean {
  return a.view === b.view && Math.min(a.x + a.width, b.x + b.width) > Math.max(a.x, b.x) && Math.min(a.y + a.height, b.y + b.height) > Math.max(a.y, b.y);
}

/** A 1 x 1 region in `view` that overlaps none of the truth regions (to answer "inspect, but elsewhere"). */
function elsewhere(view: ArchiveCase['views'][number], truth: Region[]): Region {
  for (let y = 0; y < view.height; y += 4) {
    for (let x = 0; x < view.width; x += 4) {
      const candidate: Region = { view: view.id, x, y, width: 1, height: 1, category: 'other', note: '' };
      if (!truth.some((real) => overlaps(candidate, real))) return candidate;
    }
  }
  throw new Error(`no free pixel in view ${view.id}`);
}

function itemForm(fields: Record<string, string>, files: Record<string, Buffer>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const [name, data] of Object.entries(files)) form.append(name, new Blob([new Uint8Array(data)], { type: 'image/png' }), `${name}.png`);
  return form;
}

describe('training end to end (PGlite)', () => {
  let service: TestService;
  let receiver: http.Server;
  /** Webhook bodies station A received. */
  const webhooks: { scanId: string }[] = [];
  const stations: Record<'A' | 'B', Station> = {} as Record<'A' | 'B', Station>;
  let trainer: User;
  let analyst: User;
  let secondAnalyst: User;
  let supervisor: User;
  /** t1 and t2 take the exam set, t3 the practice set. */
  let t1: User;
  let t2: User;
  let t3: User;
  /** Only in the assignment test. */
  let t4: User;
  /** Plan key → scan id, and back. */
  const scanOf: Record<string, string> = {};
  const keyOf: Record<string, string> = {};
  let statsBefore: Stats;

  async function call<T = Json>(method: string, route: string, token: string, json?: unknown) {
    return service.request<T>(method, route, { token, ...(json === undefined ? {} : { json }) });
  }

  function expectError(response: { status: number; body: unknown }, status: number, code: string): void {
    expect({ status: response.status, code: (response.body as ApiErrorBody | undefined)?.error?.code }).toEqual({ status, code });
  }

  /** Status and error code of a request, with its route (so a failure names the route). */
  async function refusal(method: string, route: string, token: string, json?: unknown): Promise<{ route: string; status: number; code: string | undefined }> {
    const response = await call<ApiErrorBody | undefined>(method, route, token, json);
    return { route: `${method} ${route}`, status: response.status, code: response.body?.error?.code };
  }
  const refused = (method: string, route: string, status: number, code: string) => ({ route: `${method} ${route}`, status, code });

  async function user(username: string, roles: string[]): Promise<User> {
    const created = await call<{ id: string }>('POST', '/api/v1/users', service.adminToken, { username, password: PASSWORD, roles });
    expect(created.status).toBe(201);
    const login = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { id: created.body.id, username, token: login.body.token };
  }

  async function upload(station: Station, format: ScannerInputFormat, seed: number, views: ('top' | 'side')[], key: string): Promise<string> {
    const scan = generateScan({ seed, kind: seed % 2 ? 'truck' : 'container', width: 320, height: 100, views });
    const metadata = { reference: `REF-${key.toUpperCase()}-77`, containers: ['CSQU3054383'], licencePlates: [`PLT${key.toUpperCase()}XQ`], declarations: [`25EE00${seed}`] };
    const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(await writeScannerInput(format, scan), metadata) });
    expect(accepted.status).toBe(202);
    return accepted.body.id;
  }

  async function archive(query: Record<string, string> = {}, token = trainer.token): Promise<ArchivePage> {
    const response = await call<ArchivePage>('GET', `/api/v1/training/archive?${new URLSearchParams({ limit: '200', ...query }).toString()}`, token);
    expect(response.status).toBe(200);
    return response.body;
  }

  async function stats(): Promise<Stats> {
    const response = await call<Stats>('GET', '/api/v1/worklist/stats', supervisor.token);
    expect(response.status).toBe(200);
    return response.body;
  }

  /** Waits until the analysts' pools hold `count` waiting cases (a scan is `queued` just before its job is added). */
  async function poolWaiting(count: number): Promise<void> {
    await until(async () => ((await stats()).pools.reduce((sum, pool) => sum + pool.waiting, 0) === count ? true : undefined), `${count} cases waiting in the pool`);
  }

  async function setDetail(id: string): Promise<SetDetail> {
    const response = await call<SetDetail>('GET', `/api/v1/training/sets/${id}`, trainer.token);
    expect(response.status).toBe(200);
    return response.body;
  }

  /** Polls the set until it is ready (fails at once when it failed). */
  async function ready(id: string): Promise<SetDetail> {
    return until(
      async () => {
        const detail = await setDetail(id);
        if (detail.status === 'failed') throw new Error(`set ${id} failed: ${detail.failureMessage ?? ''}`);
        return detail.status === 'ready' ? detail : undefined;
      },
      `set ${id} to be ready`,
      READY_MS,
    );
  }

  async function createSet(body: Json): Promise<SetDetail> {
    const created = await call<SetDetail>('POST', '/api/v1/training/sets', trainer.token, body);
    if (created.status !== 202) throw new Error(`POST /sets: ${created.status} ${JSON.stringify(created.body)}`);
    return ready(created.body.id);
  }

  async function next(token: string, sessionId: string): Promise<NextCase | null> {
    const response = await call<NextCase>('POST', `/api/v1/training/sessions/${sessionId}/next`, token);
    if (response.status === 204) return null;
    expect(response.status).toBe(200);
    return response.body;
  }

  async function answer(token: string, sessionId: string, caseId: string, body: { decision: string; regions?: Region[]; note?: string }) {
    return call<AnswerResponse>('POST', `/api/v1/training/sessions/${sessionId}/cases/${caseId}/answer`, token, body);
  }

  // ---- the exam set, made once and shared by the tests that need it ----

  /** Every archived scan with a known outcome (all but a5), with threats projected up to half of the cases. */
  let examPromise: Promise<SetDetail> | undefined;
  const examSet = () =>
    (examPromise ??= createSet({
      name: 'Week 1 exam',
      mode: 'exam',
      archivedScanIds: PLANS.filter((plan) => plan.outcome).map((plan) => scanOf[plan.key]),
      threatShare: 0.5,
      traineeIds: [t1.id, t2.id],
      seed: 4242,
    }));
  const sessionOf = (set: SetDetail, trainee: User) => set.sessionList.find((session) => session.traineeId === trainee.id)!;
  const truthOf = (set: SetDetail, caseId: string) => set.caseList.find((entry) => entry.id === caseId)!;
  /** The live station a case's scan (or its projection's source) came from. */
  const stationOfCase = (entry: TrainerCase): Station => (PLANS.find((plan) => plan.key === keyOf[entry.sourceScanId ?? entry.scanId])!.station === 'A' ? stations.A : stations.B);

  /** The practice set: hides identities; a4 (threat), b0 and a1 (clean) with one projected threat. */
  let practicePromise: Promise<SetDetail> | undefined;
  const practiceSet = () =>
    (practicePromise ??= createSet({
      name: 'Practice, shared with LV',
      mode: 'practice',
      hideIdentity: true,
      archivedScanIds: [scanOf.a4, scanOf.a1, scanOf.b0],
      projectedCount: 1,
      traineeIds: [t3.id],
    }));

  /**
   * What t1 answers and what it scores: a hit on every threat case (inspect, marking the truth region) except b2,
   * answered clear (the deliberate miss); clear on clean cases except the first one shown (the false alarm).
   * Over the exam's 6 threat and 6 clean cases: 5 hits, 1 miss, 1 false alarm, 5 correct rejections.
   */
  const t1Answers = new Map<string, { outcome: Outcome; decision: string }>();
  const t1Order: string[] = [];
  function t1Choice(entry: TrainerCase): { body: { decision: string; regions: Region[] }; outcome: Outcome } {
    if (entry.threat) {
      if (entry.scanId === scanOf.b2) return { body: { decision: 'clear', regions: [] }, outcome: 'miss' };
      const regions = entry.regions.length ? [{ ...entry.regions[0], category: 'other' as const, note: 'here' }] : [];
      return { body: { decision: 'inspect', regions }, outcome: 'hit' };
    }
    if (![...t1Answers.values()].some((answered) => answered.outcome === 'false_alarm')) {
      const view = entry.views.find((candidate) => candidate.id === 'side')!;
      return { body: { decision: 'inspect', regions: [{ view: 'side', x: 0, y: 0, width: view.width, height: view.height, category: 'other', note: 'looks odd' }] }, outcome: 'false_alarm' };
    }
    return { body: { decision: 'clear', regions: [] }, outcome: 'correct_rejection' };
  }

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        webhooks.push(JSON.parse(Buffer.concat(chunks).toString()) as { scanId: string });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    service = await startTestService();

    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/results`;
    for (const [key, body] of [
      ['A', { name: 'Narva road 1', country: 'EE', callbackUrl }],
      ['B', { name: 'Koidula rail 2', country: 'EE' }],
    ] as const) {
      const created = await call<Station>('POST', '/api/v1/stations', service.adminToken, body);
      expect(created.status).toBe(201);
      stations[key] = created.body;
    }
    trainer = await user('tiina', ['trainer']);
    analyst = await user('ieva', ['analyst']);
    secondAnalyst = await user('indrek', ['analyst']);
    supervisor = await user('sulev', ['supervisor']);
    t1 = await user('toomas', ['trainee']);
    t2 = await user('triin', ['trainee']);
    t3 = await user('tarmo', ['trainee']);
    t4 = await user('tuuli', ['trainee']);

    // the archive: upload, convert, decide, report
    for (const [i, plan] of PLANS.entries()) {
      const id = plan.station === 'A' ? await upload(stations.A, 'raw:aurora-ax6', 300 + i, ['top', 'side'], plan.key) : await upload(stations.B, 'raw:borealis-de', 300 + i, ['side'], plan.key);
      scanOf[plan.key] = id;
      keyOf[id] = plan.key;
    }
    for (const plan of PLANS) expect((await service.waitForScan(scanOf[plan.key], stations[plan.station].apiKey)).status).toBe('queued');
    await poolWaiting(PLANS.length);
    // four-eyes on inspect: the first analyst decides every case (b5 with its overruled first opinion), the second one
    // gives the final verdict on those the first called inspect
    expect((await call('PUT', '/api/v1/pools/central', service.adminToken, { fourEyesRisk: null, fourEyesOnInspect: true })).status).toBe(200);
    const finals: string[] = [];
    for (const [reviewer, stage] of [[analyst, 'first'], [secondAnalyst, 'second']] as const) {
      for (let claimed = await call<{ claimId: string; scan: { id: string; stage: string } }>('POST', '/api/v1/worklist/claim', reviewer.token); claimed.status === 200; claimed = await call('POST', '/api/v1/worklist/claim', reviewer.token)) {
        expect(claimed.body.scan.stage).toBe(stage);
        const plan = PLANS.find((candidate) => candidate.key === keyOf[claimed.body.scan.id])!;
        const opinion = stage === 'first' && plan.first ? plan.first : plan;
        const verdict = await call<{ final: boolean }>('POST', `/api/v1/scans/${claimed.body.scan.id}/verdict`, reviewer.token, { claimId: claimed.body.claimId, decision: opinion.decision, regions: opinion.regions, comment: 'checked' });
        expect(verdict.status).toBe(201);
        expect(verdict.body.final).toBe(opinion.decision !== 'inspect' || stage === 'second');
        if (!verdict.body.final) continue;
        finals.push(plan.key);
        if (plan.outcome) {
          const outcome = await call('POST', `/api/v1/scans/${claimed.body.scan.id}/outcome`, stations[plan.station].apiKey, plan.outcome);
          expect(outcome.status).toBe(201);
        }
      }
    }
    expect(finals.sort()).toEqual(PLANS.map((plan) => plan.key).sort());
    expect((await call('PUT', '/api/v1/pools/central', service.adminToken, { fourEyesRisk: null, fourEyesOnInspect: false })).status).toBe(200);
    statsBefore = await stats();
  }, 300_000);

  afterAll(async () => {
    await service?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  // ---- 1. archive search ----------------------------------------------------------------------------------

  describe('archive search', () => {
    it('lists every decided scan with its final verdict and the station’s outcome, newest first', async () => {
      const { cases, nextBefore } = await archive();
      expect(nextBefore).toBeNull();
      expect(cases.map((entry) => keyOf[entry.scanId]).sort()).toEqual(PLANS.map((plan) => plan.key).sort());
      const decided = cases.map((entry) => Date.parse(entry.decidedAt));
      expect(decided).toEqual([...decided].sort((a, b) => b - a));
      const byKey = (key: string) => cases.find((entry) => entry.scanId === scanOf[key])!;
      expect(byKey('a4')).toMatchObject({
        stationId: stations.A.id,
        stationName: 'Narva road 1',
        vendor: 'Aurora Inspection Systems',
        decision: 'inspect',
        regions: [region('narcotics')],
        outcome: { found: true, categories: ['narcotics'], note: '40 kg behind the seats' },
        views: [
          { id: 'top', width: 320, height: 100 },
          { id: 'side', width: 320, height: 100 },
        ],
      });
      expect(byKey('a5').outcome).toBeNull();
      expect(byKey('b3')).toMatchObject({ stationName: 'Koidula rail 2', vendor: 'Borealis Imaging', decision: 'inspect', outcome: { found: false, categories: [] } });
      expect(byKey('b4')).toMatchObject({ decision: 'clear', regions: [], outcome: { found: true, categories: ['currency'] } });
      // four-eyes: listed once, with the final (second) verdict
      expect(cases.filter((entry) => entry.scanId === scanOf.b5)).toHaveLength(1);
      expect(byKey('b5')).toMatchObject({ decision: 'clear', regions: [], outcome: { found: false } });
      expect(cases.filter((entry) => entry.scanId === scanOf.a4)).toHaveLength(1);
    });

    const keys = async (query: Record<string, string>) => (await archive(query)).cases.map((entry) => keyOf[entry.scanId]).sort();

    it('narrows by station', async () => {
      expect(await keys({ station: stations.A.id })).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
      expect(await keys({ station: stations.B.id })).toEqual(B_KEYS);
      expect(await keys({ station: randomUUID() })).toEqual([]);
    });

    it('narrows by vendor, case-insensitively', async () => {
      expect(await keys({ vendor: 'borealis imaging' })).toEqual(B_KEYS);
      expect(await keys({ vendor: 'AURORA INSPECTION SYSTEMS' })).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
      expect(await keys({ vendor: 'Aurora' })).toEqual([]);
    });

    it('narrows by period: decided at or after `from`, before `to`', async () => {
      const all = (await archive()).cases;
      const from = all[8].decidedAt;
      const to = all[3].decidedAt;
      const expected = all.filter((entry) => entry.decidedAt >= from && entry.decidedAt < to).map((entry) => keyOf[entry.scanId]).sort();
      expect(expected.length).toBeGreaterThanOrEqual(4);
      expect(await keys({ from, to })).toEqual(expected);
      expect(await keys({ from })).toEqual(all.filter((entry) => entry.decidedAt >= from).map((entry) => keyOf[entry.scanId]).sort());
      expect(await keys({ to })).toEqual(all.filter((entry) => entry.decidedAt < to).map((entry) => keyOf[entry.scanId]).sort());
      expect(await keys({ from: to, to: from })).toEqual([]);
    });

    it('narrows by decision', async () => {
      expect(await keys({ decision: 'inspect' })).toEqual(['a4', 'b2', 'b3']);
      expect(await keys({ decision: 'inconclusive' })).toEqual(['a6']);
      expect(await keys({ decision: 'clear' })).toEqual(['a0', 'a1', 'a2', 'a3', 'a5', 'b0', 'b1', 'b4', 'b5']); // b5 by its final verdict
    });

    it('narrows by outcome: found, clean, unknown', async () => {
      expect(await keys({ outcome: 'found' })).toEqual(['a4', 'b2', 'b4']);
      expect(await keys({ outcome: 'clean' })).toEqual(['a0', 'a1', 'a2', 'a3', 'a6', 'b0', 'b1', 'b3', 'b5']);
      expect(await keys({ outcome: 'unknown' })).toEqual(['a5']);
      expect(await keys({ outcome: 'clean', station: stations.B.id, decision: 'inspect' })).toEqual(['b3']);
    });

    it('narrows by category, in the outcome or in the verdict’s regions', async () => {
      expect(await keys({ category: 'narcotics' })).toEqual(['a4']); // outcome and region
      expect(await keys({ category: 'weapons' })).toEqual(['b2']); // region only (the outcome named none); not b5, whose weapons region was overruled
      expect(await keys({ category: 'tobacco' })).toEqual(['b3']); // region only (nothing was found)
      expect(await keys({ category: 'currency' })).toEqual(['b4']); // outcome only (the analyst cleared it)
      expect(await keys({ category: 'explosives' })).toEqual([]);
    });

    it('pages with nextBefore, without gaps or duplicates', async () => {
      const all = (await archive()).cases.map((entry) => entry.scanId);
      for (const limit of [1, 5, 12, 13]) {
        const seen: string[] = [];
        let before: string | null = null;
        let pages = 0;
        do {
          const page: ArchivePage = await archive({ limit: String(limit), ...(before ? { before } : {}) });
          expect(page.cases.length).toBeLessThanOrEqual(limit);
          seen.push(...page.cases.map((entry) => entry.scanId));
          before = page.nextBefore;
          pages++;
        } while (before);
        expect(seen).toEqual(all);
        expect(pages).toBe(Math.ceil(all.length / limit));
      }
      // within a filter too
      const first = await archive({ station: stations.A.id, limit: '4' });
      const second = await archive({ station: stations.A.id, limit: '4', before: first.nextBefore! });
      expect(second.nextBefore).toBeNull();
      expect([...first.cases, ...second.cases].map((entry) => keyOf[entry.scanId]).sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
    });

    it('refuses trainees and analysts (403), and bad cursors and filters (400)', async () => {
      expectError(await call('GET', '/api/v1/training/archive', t1.token), 403, 'forbidden');
      expectError(await call('GET', '/api/v1/training/archive', analyst.token), 403, 'forbidden');
      expectError(await call('GET', '/api/v1/training/archive', stations.A.apiKey), 403, 'forbidden');
      expectError(await call('GET', '/api/v1/training/archive?before=yesterday', trainer.token), 400, 'invalid_cursor');
      expectError(await call('GET', '/api/v1/training/archive?outcome=maybe', trainer.token), 400, 'invalid_body');
      expectError(await call('GET', '/api/v1/training/archive?from=last-week', trainer.token), 400, 'invalid_body');
      expect((await archive({}, service.adminToken)).cases).toHaveLength(PLANS.length);
    });
  });

  // ---- 2. threat library ----------------------------------------------------------------------------------

  describe('threat library', () => {
    let mine: ThreatItem;

    async function items(includeRetired = false): Promise<ThreatItem[]> {
      const response = await call<ThreatItem[]>('GET', `/api/v1/training/threat-items${includeRetired ? '?includeRetired=true' : ''}`, trainer.token);
      expect(response.status).toBe(200);
      return response.body;
    }

    async function post(form: FormData) {
      return service.request<ThreatItem & ApiErrorBody>('POST', '/api/v1/training/threat-items', { token: trainer.token, body: form });
    }

    const fields = { name: 'Detonator kit', category: 'explosives', pixelSpacingMm: '5', airValue: '60000', description: 'three caps in a tin' };

    it('has the starter set at first start, with previews', async () => {
      const listed = await items();
      expect(listed.map(({ name, category }) => ({ name, category })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([...STARTERS].sort((a, b) => a.name.localeCompare(b.name)));
      for (const item of listed) {
        expect(item).toMatchObject({ source: 'starter', retired: false });
        expect(item.width).toBeGreaterThan(0);
        expect(item.height).toBeGreaterThan(0);
        const preview = await service.bytes(`/api/v1/training/threat-items/${item.id}/preview`, trainer.token);
        expect(preview.status).toBe(200);
        expect(preview.type).toBe('image/jpeg');
        expect([...preview.data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
      }
      expectError(await call('GET', `/api/v1/training/threat-items/${randomUUID()}/preview`, trainer.token), 404, 'threat_item_not_found');
    });

    it('adds an uploaded item: two 16-bit PNG planes with a mask, or with the mask derived', async () => {
      const { high, low, mask } = itemPlanes(40, 30);
      const form = itemForm(fields, {
        high: await encodePng16({ width: 40, height: 30, data: high }),
        low: await encodePng16({ width: 40, height: 30, data: low }),
        mask: await encodeGrey8(40, 30, mask, 'png'),
      });
      const created = await post(form);
      expect(created.status).toBe(201);
      mine = created.body;
      expect(mine).toMatchObject({ name: 'Detonator kit', category: 'explosives', description: 'three caps in a tin', width: 40, height: 30, pixelSpacingMm: 5, source: 'upload', retired: false });

      const derived = await post(itemForm({ name: 'Bottles', category: 'alcohol', pixelSpacingMm: '2.5', airValue: '60000' }, { high: await encodePng16({ width: 24, height: 16, data: itemPlanes(24, 16).high }), low: await encodePng16({ width: 24, height: 16, data: itemPlanes(24, 16).low }) }));
      expect(derived.status).toBe(201);
      expect(derived.body).toMatchObject({ category: 'alcohol', width: 24, height: 16, pixelSpacingMm: 2.5 });

      const listed = await items();
      expect(listed).toHaveLength(STARTERS.length + 2);
      expect(listed.map((item) => item.id)).toEqual(expect.arrayContaining([mine.id, derived.body.id]));
      const preview = await service.bytes(`/api/v1/training/threat-items/${mine.id}/preview`, trainer.token);
      expect([preview.status, preview.type]).toEqual([200, 'image/jpeg']);
    });

    it('refuses bad uploads with a status and a code, and keeps nothing of them', async () => {
      const { high, low } = itemPlanes(40, 30);
      const png16 = (data: Uint16Array, width = 40, height = 30) => encodePng16({ width, height, data });
      const eight = await encodeGrey8(40, 30, new Uint8Array(40 * 30).fill(120), 'png');
      const cases: [string, FormData, number, string, RegExp][] = [
        ['8-bit planes', itemForm(fields, { high: eight, low: eight }), 422, 'invalid_threat_item', /16-bit/],
        ['planes of different sizes', itemForm(fields, { high: await png16(high), low: await png16(itemPlanes(30, 30).low, 30, 30) }), 422, 'invalid_threat_item', /differ in size/],
        ['not a PNG', itemForm(fields, { high: Buffer.from('certainly not an image'), low: await png16(low) }), 422, 'invalid_threat_item', /image/],
        ['no low plane', itemForm(fields, { high: await png16(high) }), 400, 'invalid_threat_item', /high and low/],
        ['a category not on the list', itemForm({ ...fields, category: 'bombs' }, { high: await png16(high), low: await png16(low) }), 400, 'invalid_threat_item', /category/],
        ['no name', itemForm({ ...fields, name: '' }, { high: await png16(high), low: await png16(low) }), 400, 'invalid_threat_item', /name/],
        ['air value out of range', itemForm({ ...fields, airValue: '70000' }, { high: await png16(high), low: await png16(low) }), 400, 'invalid_threat_item', /airValue/],
        ['an empty mask', itemForm(fields, { high: await png16(high), low: await png16(low), mask: await encodeGrey8(40, 30, new Uint8Array(40 * 30), 'png') }), 422, 'invalid_threat_item', /mask/],
        ['an unexpected file', itemForm(fields, { high: await png16(high), low: await png16(low), extra: await png16(low) }), 400, 'unexpected_part', /extra/],
      ];
      for (const [what, form, status, code, message] of cases) {
        const response = await post(form);
        expect({ what, status: response.status, code: response.body.error?.code }).toEqual({ what, status, code });
        expect(response.body.error.message).toMatch(message);
      }
      const json = await call('POST', '/api/v1/training/threat-items', trainer.token, { name: 'x' });
      expectError(json, 415, 'not_multipart');
      expect(await items(true)).toHaveLength(STARTERS.length + 2);
    });

    it('is the trainers’ only: trainees and analysts get 403', async () => {
      for (const token of [t1.token, analyst.token]) {
        expectError(await call('GET', '/api/v1/training/threat-items', token), 403, 'forbidden');
        expectError(await call('PATCH', `/api/v1/training/threat-items/${mine.id}`, token, { retired: true }), 403, 'forbidden');
        expect((await service.bytes(`/api/v1/training/threat-items/${mine.id}/preview`, token)).status).toBe(403);
      }
    });

    it('retires an item: not listed by default, refused by name, not chosen by category; restoring brings it back', async () => {
      const retired = await call<ThreatItem>('PATCH', `/api/v1/training/threat-items/${mine.id}`, trainer.token, { retired: true });
      expect(retired.status).toBe(200);
      expect(retired.body.retired).toBe(true);
      expect((await items()).map((item) => item.id)).not.toContain(mine.id);
      expect((await items(true)).find((item) => item.id === mine.id)?.retired).toBe(true);

      const base = { name: 'with a retired item', mode: 'exam', archivedScanIds: [scanOf.a2], projectedCount: 1 };
      const named = await call('POST', '/api/v1/training/sets', trainer.token, { ...base, threatItemIds: [mine.id] });
      expectError(named, 400, 'threat_item_retired');
      // the only explosives item is retired: choosing by category finds none
      expectError(await call('POST', '/api/v1/training/sets', trainer.token, { ...base, categories: ['explosives'] }), 400, 'no_threat_items');
      expectError(await call('PATCH', `/api/v1/training/threat-items/${randomUUID()}`, trainer.token, { retired: true }), 404, 'threat_item_not_found');

      const restored = await call<ThreatItem>('PATCH', `/api/v1/training/threat-items/${mine.id}`, trainer.token, { retired: false });
      expect([restored.status, restored.body.retired]).toEqual([200, false]);
      expect((await items()).map((item) => item.id)).toContain(mine.id);
      const set = await createSet({ ...base, name: 'explosives drill', categories: ['explosives'] });
      expect(set.caseList).toHaveLength(1);
      expect(set.caseList[0]).toMatchObject({ kind: 'projected', threat: true, threatItemId: mine.id, categories: ['explosives'], sourceScanId: scanOf.a2, status: 'ready' });
      expect(set.caseList[0].regions).toEqual([expect.objectContaining({ category: 'explosives', note: 'projected: Detonator kit' }), expect.objectContaining({ category: 'explosives' })]);
    });
  });

  // ---- 3. training sets --------------------------------------------------------------------------------------

  describe('training sets', () => {
    /** The small set of the share test, assigned to more trainees later. */
    let shareSetId: string;

    it('refuses sets it cannot build, with a status and a code', async () => {
      const base = { name: 'refused', mode: 'exam', archivedScanIds: [scanOf.a0, scanOf.a4] };
      const post = (body: Json) => call('POST', '/api/v1/training/sets', trainer.token, { ...base, ...body });
      expectError(await post({ archivedScanIds: [scanOf.a0, scanOf.a5] }), 400, 'outcome_unknown');
      expectError(await post({ archivedScanIds: [scanOf.a0, randomUUID()] }), 400, 'archived_scan_not_found');
      expectError(await post({ projectedCount: 2 }), 400, 'not_enough_clean_cases'); // one clean case for two projections
      expectError(await post({ traineeIds: [analyst.id] }), 400, 'not_a_trainee');
      expectError(await post({ traineeIds: [t1.id, trainer.id] }), 400, 'not_a_trainee');
      expectError(await post({ threatShare: 0.5, projectedCount: 1 }), 400, 'invalid_body');
      expectError(await post({ threatShare: 1.5 }), 400, 'invalid_body');
      expectError(await post({ archivedScanIds: [] }), 400, 'invalid_body');
      expectError(await post({ projectedCount: 1, threatItemIds: [randomUUID()] }), 400, 'threat_item_not_found');
      expectError(await post({ mode: 'quiz' }), 400, 'invalid_body');
      expectError(await call('POST', '/api/v1/training/sets', t1.token, base), 403, 'forbidden');
      expect((await call<SetDetail[]>('GET', '/api/v1/training/sets', trainer.token)).body.map((set) => set.name)).not.toContain('refused');
    });

    it('builds a set with the wanted share of threats; it becomes ready with truth regions inside the views', async () => {
      const created = await call<SetDetail>('POST', '/api/v1/training/sets', trainer.token, {
        name: 'share check',
        mode: 'exam',
        archivedScanIds: [scanOf.a0, scanOf.a1, scanOf.a3, scanOf.b0, scanOf.b2],
        threatShare: 0.6,
      });
      expect(created.status).toBe(202);
      // 0.6 of 5 cases = 3 threats; b2 is one already, so two clean cases get a projected threat
      expect(created.body.cases).toMatchObject({ total: 5, threats: 3, projected: 2, archived: 3 });
      expect(['preparing', 'ready']).toContain(created.body.status);
      const examPending = examSet(); // started now, checked below and used by the sessions
      const set = await ready(created.body.id);
      shareSetId = set.id;
      expect(set.cases).toEqual({ total: 5, threats: 3, projected: 2, archived: 3, ready: 5 });
      expect(set.readyAt).not.toBeNull();

      const exam = await examPending;
      // 12 cases with known outcomes, 3 archived threats: half (6) means 3 projected
      expect(exam.cases).toEqual({ total: 12, threats: 6, projected: 3, archived: 9, ready: 12 });
      expect(exam.sessionList.map((session) => [session.trainee, session.status, session.total]).sort()).toEqual([
        ['toomas', 'assigned', 12],
        ['triin', 'assigned', 12],
      ]);
      const clean = PLANS.filter((plan) => plan.outcome && !plan.outcome.found).map((plan) => scanOf[plan.key]);
      const liveIds = Object.values(scanOf);
      for (const entry of [...set.caseList, ...exam.caseList]) {
        expect(entry.status).toBe('ready');
        expect(entry.views.length).toBeGreaterThan(0);
        if (entry.kind === 'archived') {
          expect(liveIds).toContain(entry.scanId);
          continue;
        }
        expect(liveIds).not.toContain(entry.scanId);
        expect(clean).toContain(entry.sourceScanId);
        expect(entry.threat).toBe(true);
        expect(entry.threatItemId).not.toBeNull();
        // one truth region per view of the source scan, inside that view
        const source = PLANS.find((plan) => plan.key === keyOf[entry.sourceScanId!])!;
        expect(entry.views.map((view) => view.id)).toEqual(source.station === 'A' ? ['top', 'side'] : ['side']);
        expect(entry.regions.map((truth) => truth.view)).toEqual(entry.views.map((view) => view.id));
        for (const truth of entry.regions) {
          const view = entry.views.find((candidate) => candidate.id === truth.view)!;
          expect(truth.x).toBeGreaterThanOrEqual(0);
          expect(truth.y).toBeGreaterThanOrEqual(0);
          expect(truth.width).toBeGreaterThan(0);
          expect(truth.height).toBeGreaterThan(0);
          expect(truth.x + truth.width).toBeLessThanOrEqual(view.width);
          expect(truth.y + truth.height).toBeLessThanOrEqual(view.height);
          expect(entry.categories).toEqual([truth.category]);
        }
      }
      // archived truth: b2's category comes from the verdict's region, b4's from the outcome (no region: the analyst cleared it)
      const archivedTruth = (key: string) => exam.caseList.find((entry) => entry.scanId === scanOf[key]);
      expect(archivedTruth('b2')).toMatchObject({ threat: true, categories: ['weapons'], regions: [region('weapons', 150, 20)] });
      expect(archivedTruth('b4')).toMatchObject({ threat: true, categories: ['currency'], regions: [] });
      expect(archivedTruth('a4')).toMatchObject({ threat: true, categories: ['narcotics'], regions: [region('narcotics')] });
      for (const entry of exam.caseList.filter((candidate) => candidate.kind === 'archived' && !candidate.threat)) expect(entry).toMatchObject({ categories: [], regions: [] });
    });

    it('stores each projection as a training-only package 1.1: the source’s planes outside the truth, darker inside (both energies)', async () => {
      const storage = service.app.get<ObjectStorage>(OBJECT_STORAGE);
      const stored = async (scanId: string) => {
        const manifest = JSON.parse((await storage.get(scanObjects.packagePart(scanId, MANIFEST_PATH))).toString('utf8')) as unknown;
        return readPackage(manifest, (part) => storage.get(scanObjects.packagePart(scanId, part)));
      };
      const exam = await examSet();
      for (const entry of exam.caseList.filter((candidate) => candidate.kind === 'projected')) {
        const [projected, source] = await Promise.all([stored(entry.scanId), stored(entry.sourceScanId!)]);
        expect(projected.manifest.version).toBe('1.1');
        expect(source.manifest.version).toBe('1.0');
        expect(source.manifest.training).toBeUndefined();
        expect(projected.manifest).toMatchObject({ scanId: entry.scanId, stationId: stationOfCase(entry).id });
        expect(projected.manifest.training).toMatchObject({ purpose: 'training', sourceScanId: entry.sourceScanId });
        expect(projected.manifest.training!.projectedThreats.map(({ threatItemId, category, view, region: box }) => ({ threatItemId, category, view, ...box }))).toEqual(
          entry.regions.map(({ view, x, y, width, height, category }) => ({ threatItemId: entry.threatItemId, category, view, x, y, width, height })),
        );
        expect(projected.views.map((view) => view.id)).toEqual(source.views.map((view) => view.id));
        for (const view of projected.views) {
          const original = source.views.find((candidate) => candidate.id === view.id)! as PackageView;
          const truth = entry.regions.filter((box) => box.view === view.id);
          expect(view.planes.map((plane) => plane.energy).sort()).toEqual(['high', 'low']);
          for (const plane of view.planes) {
            const before = original.planes.find((candidate) => candidate.energy === plane.energy)!.data;
            let changedOutside = 0;
            let darkerInside = 0;
            let brighterInside = 0;
            for (let y = 0; y < view.height; y++) {
              for (let x = 0; x < view.width; x++) {
                const i = y * view.width + x;
                const inside = truth.some((box) => x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height);
                if (!inside) changedOutside += plane.data[i] !== before[i] ? 1 : 0;
                else if (plane.data[i] < before[i]) darkerInside++;
                else if (plane.data[i] > before[i]) brighterInside++;
              }
            }
            expect({ view: view.id, energy: plane.energy, changedOutside, brighterInside }).toEqual({ view: view.id, energy: plane.energy, changedOutside: 0, brighterInside: 0 });
            expect(darkerInside).toBeGreaterThan(0);
          }
        }
      }
    });

    it('assigns a set to more trainees, each once, with a session of their own', async () => {
      const assigned = await call<SetDetail>('POST', `/api/v1/training/sets/${shareSetId}/assignments`, trainer.token, { traineeIds: [t4.id, t4.id] });
      expect(assigned.status).toBe(200);
      expect(assigned.body.sessionList.map((session) => [session.trainee, session.status, session.total])).toEqual([['tuuli', 'assigned', 5]]);
      const again = await call<SetDetail>('POST', `/api/v1/training/sets/${shareSetId}/assignments`, trainer.token, { traineeIds: [t4.id] });
      expect(again.body.sessionList.map((session) => session.id)).toEqual(assigned.body.sessionList.map((session) => session.id));
      expectError(await call('POST', `/api/v1/training/sets/${shareSetId}/assignments`, trainer.token, { traineeIds: [supervisor.id] }), 400, 'not_a_trainee');
      expectError(await call('POST', `/api/v1/training/sets/${randomUUID()}/assignments`, trainer.token, { traineeIds: [t4.id] }), 404, 'training_set_not_found');
      expectError(await call('GET', `/api/v1/training/sets/${randomUUID()}`, trainer.token), 404, 'training_set_not_found');
      const mine = await call<SessionSummary[]>('GET', '/api/v1/training/my/sessions', t4.token);
      expect(mine.body.map((session) => [session.id, session.setName, session.status])).toEqual([[assigned.body.sessionList[0].id, 'share check', 'assigned']]);
    });

    it('does not take a training scan (or any non-archived id) as an archived case', async () => {
      const exam = await examSet();
      const projected = exam.caseList.find((entry) => entry.kind === 'projected')!;
      expectError(await call('POST', '/api/v1/training/sets', trainer.token, { name: 'nested', mode: 'exam', archivedScanIds: [projected.scanId] }), 400, 'archived_scan_not_found');
      expectError(await call('POST', '/api/v1/training/sets', trainer.token, { name: 'nested', mode: 'exam', archivedScanIds: [projected.id] }), 400, 'archived_scan_not_found');
    });
  });

  // ---- 4. separation: the truth before answering, and other trainees' sessions ----------------------------

  describe('a trainee cannot get the truth before answering', () => {
    it('gets 403 on every trainer route', async () => {
      const exam = await examSet();
      const routes: [string, string, unknown?][] = [
        ['GET', '/api/v1/training/archive'],
        ['GET', '/api/v1/training/threat-items'],
        ['GET', '/api/v1/training/trainees'],
        ['GET', '/api/v1/training/sets'],
        ['POST', '/api/v1/training/sets', { name: 'mine', mode: 'practice', archivedScanIds: [scanOf.a0] }],
        ['GET', `/api/v1/training/sets/${exam.id}`],
        ['POST', `/api/v1/training/sets/${exam.id}/assignments`, { traineeIds: [t1.id] }],
        ['GET', `/api/v1/training/sets/${exam.id}/scores`],
        ['GET', `/api/v1/training/sets/${exam.id}/answers.csv`],
        ['GET', '/api/v1/training/dashboard'],
        ['GET', `/api/v1/training/trainees/${t1.id}/scores`],
        ['GET', `/api/v1/training/trainees/${t1.id}/scores.csv`],
      ];
      for (const [method, route, json] of routes) {
        const response = await call(method, route, t1.token, json);
        expect({ route: `${method} ${route}`, status: response.status }).toEqual({ route: `${method} ${route}`, status: 403 });
      }
    });

    it('cannot read the archived scans behind the cases through the live scan routes', async () => {
      const exam = await examSet();
      for (const entry of exam.caseList) {
        const scanId = entry.sourceScanId ?? entry.scanId;
        // routes of the reviewers only: refused by role
        for (const route of [`/api/v1/scans/${scanId}`, `/api/v1/scans/${scanId}/bundle`, `/api/v1/scans/${scanId}/verdict.dcs`, `/api/v1/scans/${scanId}/views/side/planes/high.png`]) {
          expect(await refusal('GET', route, t1.token)).toEqual(refused('GET', route, 403, 'forbidden'));
        }
        expect(await refusal('POST', `/api/v1/scans/${scanId}/verdict`, t1.token, { claimId: randomUUID(), decision: 'clear' })).toEqual(refused('POST', `/api/v1/scans/${scanId}/verdict`, 403, 'forbidden'));
        // image routes shared with trainees: neither the archived scan nor the training scan is theirs to read
        for (const id of [scanId, entry.scanId]) {
          for (const path of ['views/side/thumbnail', 'views/side/display', 'views/side/tiles.dzi', 'views/side/material/thumbnail', 'views/side/planes/high/tiles.dzi', 'views/side/tiles_files/0/0_0.jpeg']) {
            const route = `/api/v1/scans/${id}/${path}`;
            expect(await refusal('GET', route, t1.token)).toEqual(refused('GET', route, 404, 'scan_not_found'));
          }
        }
      }
    });

    it('has no score in its own session until the session is completed', async () => {
      const exam = await examSet();
      const own = await call<OwnSession>('GET', `/api/v1/training/sessions/${sessionOf(exam, t1).id}`, t1.token);
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ status: 'assigned', answered: 0, total: 12, score: null, byCategory: [] });
      expect(keysOf(own.body)).not.toContain('caseOrder');
    });

    it('gets a case from /next with none of its truth or origin, the same case until it is answered', async () => {
      const exam = await examSet();
      const session = sessionOf(exam, t1);
      const shown = (await next(t1.token, session.id))!;
      expect(shown.session).toEqual({ id: session.id, mode: 'exam', setName: 'Week 1 exam', total: 12, answered: 0 });
      expect(shown.case).toMatchObject({ position: 1, total: 12 });
      const keys = keysOf(shown);
      for (const key of TRUTH_KEYS) expect({ key, present: keys.has(key) }).toEqual({ key, present: false });
      const text = JSON.stringify(shown);
      const truth = truthOf(exam, shown.case.caseId);
      const secrets = [...Object.values(scanOf), ...exam.caseList.map((entry) => entry.scanId), stations.A.id, stations.B.id, 'tip-projection', 'projected', ...STARTERS.map((item) => item.name)];
      for (const secret of secrets) expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
      // not hidden in this set: the station and the plates are there
      expect(shown.case.stationName).toBe(stationOfCase(truth).name);
      expect((shown.case.metadata as Record<string, unknown>).licencePlates).toEqual([expect.stringMatching(/^PLT/)]);
      const again = (await next(t1.token, session.id))!;
      expect([again.case.caseId, again.case.shownAt]).toEqual([shown.case.caseId, shown.case.shownAt]);
      const own = await call<OwnSession>('GET', `/api/v1/training/sessions/${session.id}`, t1.token);
      expect(own.body).toMatchObject({ status: 'in_progress', score: null });
      t1Order.push(shown.case.caseId);
    });

    it('gets 404 for the images of a case not shown yet; the shown case’s images are readable', async () => {
      const exam = await examSet();
      const current = t1Order[0];
      const later = exam.caseList.find((entry) => entry.id !== current)!;
      for (const entry of exam.caseList.filter((candidate) => candidate.id !== current)) {
        for (const path of ['thumbnail', 'display', 'tiles.dzi', 'material/thumbnail', 'material/display', 'planes/high/tiles.dzi', 'planes/low/tiles_files/0/0_0.png', 'tiles_files/0/0_0.jpeg', 'material/tiles_files/0/0_0.jpeg']) {
          const route = `/api/v1/training/cases/${entry.id}/views/side/${path}`;
          expect(await refusal('GET', route, t1.token)).toEqual(refused('GET', route, 404, 'case_not_found'));
        }
      }
      const thumbnail = await service.bytes(`/api/v1/training/cases/${current}/views/side/thumbnail`, t1.token);
      expect([thumbnail.status, thumbnail.type]).toEqual([200, 'image/jpeg']);
      const dzi = await service.bytes(`/api/v1/training/cases/${current}/views/side/planes/high/tiles.dzi`, t1.token);
      expect(dzi.status).toBe(200);
      // a trainer may look at any case of a set
      expect((await service.bytes(`/api/v1/training/cases/${later.id}/views/side/thumbnail`, trainer.token)).status).toBe(200);
      expectError(await call('GET', `/api/v1/training/cases/${randomUUID()}/views/side/thumbnail`, t1.token), 404, 'case_not_found');
    });

    it('never learns the scan behind a shown case, not even from the image routes’ errors', async () => {
      const exam = await examSet();
      const current = t1Order[0];
      const scanIds = [...Object.values(scanOf), ...exam.caseList.map((entry) => entry.scanId)];
      const probes: [string, number, string][] = [
        ['views/nope/thumbnail', 404, 'view_not_found'],
        ['views/nope/material/display', 404, 'view_not_found'],
        ['views/nope/tiles_files/0/0_0.jpeg', 404, 'view_not_found'],
        ['views/side/planes/single/tiles.dzi', 404, 'plane_not_found'],
        ['views/nope/planes/high/tiles.dzi', 404, 'plane_not_found'],
        ['views/side/planes/high/tiles_files/0/9_9.png', 404, 'tile_not_found'],
        ['views/side/tiles_files/0/9_9.jpeg', 404, 'tile_not_found'],
      ];
      for (const [path, status, code] of probes) {
        const route = `/api/v1/training/cases/${current}/${path}`;
        const response = await call<ApiErrorBody>('GET', route, t1.token);
        expect({ route, status: response.status, code: response.body.error?.code }).toEqual({ route, status, code });
        const text = JSON.stringify(response.body);
        for (const id of scanIds) expect({ route, leaks: text.includes(id) }).toEqual({ route, leaks: false });
        if (code === 'view_not_found') expect(response.body.error.message).toContain(`training case ${current}`);
      }
      // nor from the descriptors it reads
      for (const path of ['views/side/tiles.dzi', 'views/side/material/tiles.dzi', 'views/side/planes/high/tiles.dzi']) {
        const descriptor = await service.bytes(`/api/v1/training/cases/${current}/${path}`, t1.token);
        expect([path, descriptor.status, descriptor.type]).toEqual([path, 200, expect.stringMatching(/^application\/xml/)]);
        for (const id of scanIds) expect({ path, leaks: descriptor.data.toString('utf8').includes(id) }).toEqual({ path, leaks: false });
      }
    });

    it('cannot answer a case it was not shown (409 case_not_shown)', async () => {
      const exam = await examSet();
      const session = sessionOf(exam, t1);
      const later = exam.caseList.find((entry) => entry.id !== t1Order[0])!;
      expectError(await answer(t1.token, session.id, later.id, { decision: 'clear' }), 409, 'case_not_shown');
      expectError(await answer(t1.token, session.id, randomUUID(), { decision: 'clear' }), 409, 'case_not_shown');
      expectError(await answer(t1.token, session.id, 'not-an-id', { decision: 'clear' }), 404, 'not_found');
    });

    it('gets no feedback in exam mode, and cannot answer the same case twice (409 already_answered)', async () => {
      const exam = await examSet();
      const session = sessionOf(exam, t1);
      const current = truthOf(exam, t1Order[0]);
      const outside = await answer(t1.token, session.id, current.id, { decision: 'inspect', regions: [{ view: 'side', x: 300, y: 0, width: 40, height: 10, category: 'other', note: '' }] });
      expectError(outside, 400, 'invalid_region');
      const { body, outcome } = t1Choice(current);
      const answered = await answer(t1.token, session.id, current.id, body);
      expect(answered.status).toBe(201);
      expect(answered.body.feedback).toBeUndefined();
      expect(Object.keys(answered.body).sort()).toEqual(['answeredAt', 'caseId', 'durationMs', 'remaining']);
      expect(answered.body.remaining).toBe(11);
      t1Answers.set(current.id, { outcome, decision: body.decision });
      const twice = await answer(t1.token, session.id, current.id, { decision: body.decision === 'clear' ? 'inspect' : 'clear' });
      expectError(twice, 409, 'already_answered');
      // an answered case's images stay readable to its trainee
      expect((await service.bytes(`/api/v1/training/cases/${current.id}/views/side/thumbnail`, t1.token)).status).toBe(200);
    });

    it('sees only its own sessions: another trainee gets 404 for the session, its next, its answers and its case images', async () => {
      const exam = await examSet();
      const practice = await practiceSet();
      const t1Session = sessionOf(exam, t1);
      const t2Session = sessionOf(exam, t2);
      for (const other of [t2, t3]) {
        expectError(await call('GET', `/api/v1/training/sessions/${t1Session.id}`, other.token), 404, 'session_not_found');
        expectError(await call('POST', `/api/v1/training/sessions/${t1Session.id}/next`, other.token), 404, 'session_not_found');
        expectError(await answer(other.token, t1Session.id, t1Order[0], { decision: 'clear' }), 404, 'session_not_found');
        // t1's shown (and answered) case: t2 is in the same set but has not been shown it; t3 is not in the set
        expectError(await call('GET', `/api/v1/training/cases/${t1Order[0]}/views/side/thumbnail`, other.token), 404, 'case_not_found');
      }
      expectError(await call('GET', `/api/v1/training/sessions/${sessionOf(practice, t3).id}`, t1.token), 404, 'session_not_found');
      // nor can a trainer act as a trainee
      expectError(await call('POST', `/api/v1/training/sessions/${t1Session.id}/next`, trainer.token), 403, 'forbidden');

      const mine = async (trainee: User) => (await call<SessionSummary[]>('GET', '/api/v1/training/my/sessions', trainee.token)).body;
      expect((await mine(t1)).map((session) => session.id)).toEqual([t1Session.id]);
      expect((await mine(t2)).map((session) => session.id)).toEqual([t2Session.id]);
      expect((await mine(t3)).map((session) => [session.id, session.setName, session.mode])).toEqual([[sessionOf(practice, t3).id, 'Practice, shared with LV', 'practice']]);
      expect((await mine(t1))[0]).toMatchObject({ status: 'in_progress', answered: 1, total: 12, traineeId: t1.id });
      expectError(await call('GET', '/api/v1/training/my/sessions', trainer.token), 403, 'forbidden');
    });

    it('sees no station name, plate or reference in a set that hides identities', async () => {
      const practice = await practiceSet();
      const session = sessionOf(practice, t3);
      const shown = (await next(t3.token, session.id))!;
      expect(shown.case.stationName).toBeNull();
      expect(shown.case.metadata).not.toHaveProperty('licencePlates');
      expect(shown.case.metadata).not.toHaveProperty('reference');
      expect((shown.case.metadata as Record<string, unknown>).containers).toEqual(['CSQU3054383']); // the declaration itself stays
      const conveyance = shown.case.manifest.conveyance as { licencePlates?: string[]; fields?: Json };
      expect(conveyance.licencePlates ?? []).toEqual([]);
      expect(conveyance.fields ?? {}).not.toHaveProperty('reference');
      const text = JSON.stringify(shown);
      for (const secret of ['PLT', 'REF-', stations.A.name, stations.B.name]) expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
      for (const key of TRUTH_KEYS) expect({ key, present: keysOf(shown).has(key) }).toEqual({ key, present: false });
    });
  });

  // ---- 5. trainees' answers and scores --------------------------------------------------------------------

  describe('answering and scoring', () => {
    /** t2: inspect, but elsewhere, on every threat case with a truth region (misses); inspect on b4 (a hit); inconclusive on clean cases (false alarms). */
    const t2Answers = new Map<string, Outcome>();
    const t2Order: string[] = [];

    it('t1 answers the whole exam: time per case recorded, no feedback, the session completes with its score', async () => {
      const exam = await examSet();
      const session = sessionOf(exam, t1);
      /** The shape (every key) of what /next gives, per station: archived and projected cases must look alike. */
      const shapes = new Map<string, Set<string>>();
      for (let shown = await next(t1.token, session.id); shown; shown = await next(t1.token, session.id)) {
        expect(shown.case.position).toBe(t1Order.length + 1);
        expect(shown.session.answered).toBe(t1Order.length);
        t1Order.push(shown.case.caseId);
        const truth = truthOf(exam, shown.case.caseId);
        const station = shown.case.stationName!;
        shapes.set(station, (shapes.get(station) ?? new Set()).add(JSON.stringify([...keysOf(shown)].sort())));
        const { body, outcome } = t1Choice(truth);
        let answered: Awaited<ReturnType<typeof answer>>;
        if (t1Order.length === 3) {
          // the same answer sent twice at once: recorded once
          const both = await Promise.all([answer(t1.token, session.id, truth.id, body), answer(t1.token, session.id, truth.id, body)]);
          expect(both.map((response) => response.status).sort()).toEqual([201, 409]);
          expectError(both.find((response) => response.status === 409)!, 409, 'already_answered');
          answered = both.find((response) => response.status === 201)!;
        } else {
          answered = await answer(t1.token, session.id, truth.id, body);
        }
        expect(answered.status).toBe(201);
        expect(answered.body.feedback).toBeUndefined();
        expect(answered.body.durationMs).toBeGreaterThanOrEqual(0);
        expect(Date.parse(answered.body.answeredAt) - Date.parse(shown.case.shownAt)).toBe(answered.body.durationMs);
        expect(answered.body.remaining).toBe(12 - t1Order.length);
        t1Answers.set(truth.id, { outcome, decision: body.decision });
        if (t1Order.length === 5) {
          expect((await call<OwnSession>('GET', `/api/v1/training/sessions/${session.id}`, t1.token)).body).toMatchObject({ status: 'in_progress', answered: 5, score: null });
        }
      }
      expect(t1Order).toHaveLength(12);
      expect([...t1Order].sort()).toEqual(exam.caseList.map((entry) => entry.id).sort());
      expect([...shapes.keys()].sort()).toEqual([stations.A.name, stations.B.name].sort());
      for (const [station, seen] of shapes) expect({ station, shapes: seen.size }).toEqual({ station, shapes: 1 });
      expect([...t1Answers.values()].map((entry) => entry.outcome).sort()).toEqual([...Array(5).fill('hit'), 'miss', 'false_alarm', ...Array(5).fill('correct_rejection')].sort());
      const own = await call<OwnSession>('GET', `/api/v1/training/sessions/${session.id}`, t1.token);
      expect(own.body).toMatchObject({ status: 'completed', answered: 12, score: { hits: 5, misses: 1, falseAlarms: 1, correctRejections: 5, threatEvents: 6, reliable: false } });
      expect(own.body.completedAt).not.toBeNull();
      expect(await next(t1.token, session.id)).toBeNull();
      expectError(await answer(t1.token, session.id, t1Order[3], { decision: 'clear' }), 409, 'already_answered');
    });

    it('t2 answers the same exam in another order of the same cases', async () => {
      const exam = await examSet();
      const session = sessionOf(exam, t2);
      // asked twice at once, the first case is shown once
      const [first, again] = await Promise.all([next(t2.token, session.id), next(t2.token, session.id)]);
      expect([again!.case.caseId, again!.case.shownAt, again!.case.position]).toEqual([first!.case.caseId, first!.case.shownAt, 1]);
      for (let shown = first; shown; shown = await next(t2.token, session.id)) {
        t2Order.push(shown.case.caseId);
        const truth = truthOf(exam, shown.case.caseId);
        let body: { decision: string; regions: Region[] };
        if (truth.threat && truth.regions.length) {
          const view = truth.views.find((candidate) => candidate.id === truth.regions[0].view)!;
          body = { decision: 'inspect', regions: [elsewhere(view, truth.regions)] };
          t2Answers.set(truth.id, 'miss');
        } else if (truth.threat) {
          body = { decision: 'inspect', regions: [] };
          t2Answers.set(truth.id, 'hit');
        } else {
          body = { decision: 'inconclusive', regions: [] };
          t2Answers.set(truth.id, 'false_alarm');
        }
        const answered = await answer(t2.token, session.id, truth.id, body);
        expect(answered.status).toBe(201);
        expect(answered.body.feedback).toBeUndefined();
      }
      expect([...t2Order].sort()).toEqual(exam.caseList.map((entry) => entry.id).sort());
      expect(new Set(t2Order).size).toBe(12);
      // a shuffle of its own: the chance of two equal orders of 12 cases is 1 in 479001600
      expect(t2Order).not.toEqual(t1Order);
      expect([...t2Answers.values()].sort()).toEqual(['hit', ...Array(5).fill('miss'), ...Array(6).fill('false_alarm')].sort());
    });

    function expectScore(actual: DetectionScore, counts: { hits: number; misses: number; falseAlarms: number; correctRejections: number }): void {
      const threatEvents = counts.hits + counts.misses;
      const cleanEvents = counts.falseAlarms + counts.correctRejections;
      const h = correctedRate(counts.hits, threatEvents);
      const f = correctedRate(counts.falseAlarms, cleanEvents);
      expect(actual).toMatchObject({ ...counts, threatEvents, cleanEvents, reliable: false });
      expect(actual.hitRate).toBeCloseTo(counts.hits / threatEvents, 12);
      expect(actual.falseAlarmRate).toBeCloseTo(counts.falseAlarms / cleanEvents, 12);
      expect(actual.dPrime).toBeCloseTo(dPrime(h, f), 10);
      expect(actual.aPrime).toBeCloseTo(aPrime(h, f), 10);
      const extreme = (count: number, total: number) => count === 0 || count === total;
      expect(actual.corrected).toBe(extreme(counts.hits, threatEvents) || extreme(counts.falseAlarms, cleanEvents));
      expect(actual.meanDecisionMs).toBeGreaterThanOrEqual(0);
    }

    /** Hits and misses per category, from the trainer's truth and the outcomes expected. */
    function byCategory(exam: SetDetail, outcomes: Map<string, Outcome>[]): { category: string; hits: number; misses: number; threatEvents: number }[] {
      const counts = new Map<string, { hits: number; misses: number }>();
      for (const answers of outcomes) {
        for (const [caseId, outcome] of answers) {
          if (outcome !== 'hit' && outcome !== 'miss') continue;
          for (const category of truthOf(exam, caseId).categories) {
            const entry = counts.get(category) ?? { hits: 0, misses: 0 };
            entry[outcome === 'hit' ? 'hits' : 'misses']++;
            counts.set(category, entry);
          }
        }
      }
      return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([category, { hits, misses }]) => ({ category, hits, misses, threatEvents: hits + misses }));
    }

    it('scores the set per session and overall: hits, misses, false alarms, correct rejections, d′ and A′', async () => {
      const exam = await examSet();
      const scores = await call<{ setId: string; sessions: SessionScore[]; overall: DetectionScore; byCategory: CategoryScore[] }>('GET', `/api/v1/training/sets/${exam.id}/scores`, trainer.token);
      expect(scores.status).toBe(200);
      const t1Outcomes = new Map([...t1Answers].map(([caseId, entry]) => [caseId, entry.outcome]));
      const t1Score = scores.body.sessions.find((session) => session.traineeId === t1.id)!;
      const t2Score = scores.body.sessions.find((session) => session.traineeId === t2.id)!;
      expect(scores.body.sessions).toHaveLength(2);
      expectScore(t1Score.score, { hits: 5, misses: 1, falseAlarms: 1, correctRejections: 5 });
      expectScore(t2Score.score, { hits: 1, misses: 5, falseAlarms: 6, correctRejections: 0 });
      expectScore(scores.body.overall, { hits: 6, misses: 6, falseAlarms: 7, correctRejections: 5 });
      expect(t2Score.score.corrected).toBe(true); // every clean case a false alarm: F = 1 − 1/(2·6)
      expect(t1Score.byCategory).toMatchObject(byCategory(exam, [t1Outcomes]));
      expect(scores.body.byCategory).toMatchObject(byCategory(exam, [t1Outcomes, t2Answers]));
      for (const category of scores.body.byCategory) expect(category.reliable).toBe(false);
      expect(t1Score.byCategory.find((entry) => entry.category === 'weapons')).toMatchObject({ misses: 1 }); // b2, the deliberate miss
    });

    it('scores a trainee over time from completed sessions', async () => {
      const exam = await examSet();
      const response = await call<{ traineeId: string; trainee: string; sessions: SessionScore[]; overall: DetectionScore }>('GET', `/api/v1/training/trainees/${t1.id}/scores`, trainer.token);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ traineeId: t1.id, trainee: 'toomas' });
      expect(response.body.sessions).toHaveLength(1);
      expect(response.body.sessions[0].completedAt).not.toBeNull();
      expectScore(response.body.overall, { hits: 5, misses: 1, falseAlarms: 1, correctRejections: 5 });
      expect(response.body.overall.dPrime).toBeCloseTo(dPrime(5 / 6, 1 / 6), 10);
      expect(response.body.overall.aPrime).toBeCloseTo(aPrime(5 / 6, 1 / 6), 10);
      // t3 has completed nothing yet
      const t3Scores = await call<{ sessions: SessionScore[]; overall: DetectionScore }>('GET', `/api/v1/training/trainees/${t3.id}/scores`, trainer.token);
      expect(t3Scores.body.sessions).toEqual([]);
      expect(t3Scores.body.overall).toMatchObject({ threatEvents: 0, hitRate: null, dPrime: null, aPrime: null });
      expectError(await call('GET', `/api/v1/training/trainees/${analyst.id}/scores`, trainer.token), 404, 'trainee_not_found');

      const dashboard = await call<{ trainees: { traineeId: string; sessions: SessionScore[] }[]; sets: { id: string; sessions: { total: number; completed: number } }[] }>('GET', '/api/v1/training/dashboard', trainer.token);
      expect(dashboard.status).toBe(200);
      expect(dashboard.body.trainees.map((trainee) => trainee.traineeId).sort()).toEqual([t1.id, t2.id, t3.id, t4.id].sort());
      expect(dashboard.body.trainees.find((trainee) => trainee.traineeId === t1.id)?.sessions).toHaveLength(1);
      expect(dashboard.body.sets.find((set) => set.id === exam.id)?.sessions).toEqual({ total: 2, completed: 2 });
    });

    it('records the time per case: shown at before answered at, in the answers export', async () => {
      const exam = await examSet();
      const csv = await call<string>('GET', `/api/v1/training/sets/${exam.id}/answers.csv`, trainer.token);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = csv.body.split('\r\n');
      expect(lines.pop()).toBe('');
      expect(lines[0]).toBe('set,trainee,session,position,case,kind,threat,categories,decision,outcome,shown_at,answered_at,duration_ms');
      const rows = lines.slice(1).map((line) => line.split(','));
      expect(rows).toHaveLength(24); // one per answer: 12 each for t1 and t2
      for (const [setName, trainee, sessionId, position, caseId, kind, threat, , decision, outcome, shownAt, answeredAt, durationMs] of rows) {
        expect(setName).toBe('Week 1 exam');
        const truth = truthOf(exam, caseId);
        expect([kind, threat]).toEqual([truth.kind, String(truth.threat)]);
        const expected = trainee === 'toomas' ? t1Answers.get(caseId)!.outcome : t2Answers.get(caseId);
        expect(outcome).toBe(expected);
        expect(sessionId).toBe(sessionOf(exam, trainee === 'toomas' ? t1 : t2).id);
        if (trainee === 'toomas') {
          expect(Number(position)).toBe(t1Order.indexOf(caseId) + 1);
          expect(decision).toBe(t1Answers.get(caseId)!.decision);
        }
        expect(Date.parse(shownAt)).toBeLessThanOrEqual(Date.parse(answeredAt));
        expect(Number(durationMs)).toBe(Date.parse(answeredAt) - Date.parse(shownAt));
      }
    });

    it('exports a trainee’s sessions, one row per completed session', async () => {
      const csv = await call<string>('GET', `/api/v1/training/trainees/${t1.id}/scores.csv`, trainer.token);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = csv.body.split('\r\n').filter(Boolean);
      expect(lines[0]).toBe('trainee,set,mode,completed_at,threat_events,clean_events,hits,misses,false_alarms,correct_rejections,hit_rate,false_alarm_rate,d_prime,a_prime,rates_corrected,mean_decision_ms,reliable');
      expect(lines).toHaveLength(2);
      const row = Object.fromEntries(lines[0].split(',').map((column, i) => [column, lines[1].split(',')[i]]));
      expect(row).toMatchObject({ trainee: 'toomas', set: 'Week 1 exam', mode: 'exam', threat_events: '6', clean_events: '6', hits: '5', misses: '1', false_alarms: '1', correct_rejections: '5', rates_corrected: 'false', reliable: 'false' });
      expect(Number(row.d_prime)).toBeCloseTo(dPrime(correctedRate(5, 6), correctedRate(1, 6)), 10);
      expect(Number(row.a_prime)).toBeCloseTo(aPrime(correctedRate(5, 6), correctedRate(1, 6)), 10);
    });

    it('gives feedback in practice mode: the outcome and the truth with its regions', async () => {
      const practice = await practiceSet();
      const session = sessionOf(practice, t3);
      const outcomes: Outcome[] = [];
      for (let shown = await next(t3.token, session.id); shown; shown = await next(t3.token, session.id)) {
        const truth = truthOf(practice, shown.case.caseId);
        // inspect where the truth is on the archived threat, clear everything else (the projected threat is missed)
        const body = truth.kind === 'archived' && truth.threat ? { decision: 'inspect', regions: [{ ...truth.regions[0], x: truth.regions[0].x + 10, y: truth.regions[0].y + 5, width: 5, height: 5 }] } : { decision: 'clear', regions: [] };
        const expected: Outcome = truth.threat ? (truth.kind === 'archived' ? 'hit' : 'miss') : 'correct_rejection';
        const answered = await answer(t3.token, session.id, truth.id, body);
        expect(answered.status).toBe(201);
        expect(answered.body.feedback).toEqual({ outcome: expected, threat: truth.threat, categories: truth.categories, regions: truth.regions });
        if (truth.kind === 'projected') expect(answered.body.feedback!.regions.length).toBeGreaterThan(0);
        outcomes.push(expected);
      }
      expect(outcomes.sort()).toEqual(['correct_rejection', 'hit', 'miss']);
      const own = await call<OwnSession>('GET', `/api/v1/training/sessions/${session.id}`, t3.token);
      expect(own.body).toMatchObject({ status: 'completed', mode: 'practice', score: { hits: 1, misses: 1, falseAlarms: 0, correctRejections: 1 } });
    });
  });

  // ---- 4. separation: training scans stay out of live work --------------------------------------------------

  describe('training scans stay out of live work', () => {
    const trainingScans = async () => {
      const sets = await call<{ id: string }[]>('GET', '/api/v1/training/sets', trainer.token);
      const details = await Promise.all(sets.body.map((set) => setDetail(set.id)));
      return details.flatMap((set) => set.caseList.filter((entry) => entry.kind === 'projected'));
    };

    it('never appear in live statistics: building sets and answering cases changed no decided count', async () => {
      const after = await stats();
      const figures = (value: Stats) => value.pools.map(({ pool, waiting, held, decidedLastHour, decidedLateLastHour }) => ({ pool, waiting, held, decidedLastHour, decidedLateLastHour }));
      expect(figures(after)).toEqual(figures(statsBefore));
      expect(after.recent.map((entry) => entry.scanId).sort()).toEqual(statsBefore.recent.map((entry) => entry.scanId).sort());
      expect(after.pools.map((pool) => pool.pool)).not.toContain('training');
      const ids = (await trainingScans()).map((entry) => entry.scanId);
      expect(ids.length).toBeGreaterThanOrEqual(6);
      for (const listed of [...after.recent, ...after.holders]) expect(ids).not.toContain(listed.scanId);
    });

    it('never enter the live pool: claims, reconciles and pool figures see none of them', async () => {
      const ids = new Set((await trainingScans()).map((entry) => entry.scanId));
      // a live scan arrives meanwhile: the analyst gets it, then nothing
      const live = await upload(stations.B, 'raw:borealis-de', 999, ['side'], 'late');
      expect((await service.waitForScan(live, stations.B.apiKey)).status).toBe('queued');
      await poolWaiting(1);
      expect(await service.app.get(WorklistService).reconcile()).toBe(0);
      expect(await service.app.get(PipelineService).reconcile()).toBe(0);
      expect(await service.app.get(ProjectionService).reconcile()).toBe(0);
      expect((await stats()).pools.reduce((sum, pool) => sum + pool.waiting, 0)).toBe(1);
      const claimed: string[] = [];
      for (let response = await call<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', analyst.token); response.status === 200; response = await call('POST', '/api/v1/worklist/claim', analyst.token)) {
        claimed.push(response.body.scan.id);
        expect((await call('POST', `/api/v1/scans/${response.body.scan.id}/verdict`, analyst.token, { claimId: response.body.claimId, decision: 'clear' })).status).toBe(201);
      }
      expect(claimed).toEqual([live]);

      // even a training scan put in the `queued` state by mistake stays out: the live queries look at live scans only
      const scans = service.app.get(ScanRepository);
      const [victim] = [...ids];
      expect(await scans.transition(victim, ['ready'], { status: 'queued' })).toBe(true);
      try {
        expect(await service.app.get(WorklistService).reconcile()).toBe(0);
        expect((await call('POST', '/api/v1/worklist/claim', analyst.token)).status).toBe(204);
        const figures = await stats();
        expect(figures.pools.map((pool) => pool.pool)).not.toContain('training');
        expect(figures.pools.reduce((sum, pool) => sum + pool.waiting + pool.held, 0)).toBe(0);
      } finally {
        await scans.transition(victim, ['queued'], { status: 'ready' });
      }
      // nor can an analyst (or an administrator) read them as scans
      for (const token of [analyst.token, supervisor.token, service.adminToken]) {
        for (const id of ids) {
          expectError(await call('GET', `/api/v1/scans/${id}`, token), 404, 'scan_not_found');
          expectError(await call('GET', `/api/v1/scans/${id}/views/side/thumbnail`, token), 404, 'scan_not_found');
        }
      }
    });

    it('never reach a station: 404 on every scan route, no result by pull, webhook or in the database', async () => {
      const projected = await trainingScans();
      for (const entry of projected) {
        const station = stationOfCase(entry);
        const id = entry.scanId;
        for (const route of [
          `/api/v1/scans/${id}`,
          `/api/v1/scans/${id}/bundle`,
          `/api/v1/scans/${id}/verdict.dcs`,
          `/api/v1/scans/${id}/views/side/planes/high.png`,
          `/api/v1/scans/${id}/views/side/thumbnail`,
          `/api/v1/scans/${id}/views/side/display`,
          `/api/v1/scans/${id}/views/side/tiles.dzi`,
          `/api/v1/scans/${id}/views/side/material/display`,
          `/api/v1/scans/${id}/views/side/planes/high/tiles.dzi`,
        ]) {
          expect(await refusal('GET', route, station.apiKey)).toEqual(refused('GET', route, 404, 'scan_not_found'));
        }
        const byCase = `/api/v1/training/cases/${entry.id}/views/side/thumbnail`;
        expect(await refusal('GET', byCase, station.apiKey)).toEqual(refused('GET', byCase, 404, 'case_not_found'));
        expectError(await call('POST', `/api/v1/scans/${id}/outcome`, station.apiKey, { found: true, categories: ['weapons'] }), 404, 'scan_not_found');
      }
      const ids = projected.map((entry) => entry.scanId);
      for (const station of [stations.A, stations.B]) {
        const pulled = await call<{ results: { scanId: string }[] }>('GET', '/api/v1/station/results?limit=500', station.apiKey);
        expect(pulled.status).toBe(200);
        const own = PLANS.filter((plan) => stations[plan.station] === station).map((plan) => scanOf[plan.key]);
        expect(pulled.body.results.map((result) => result.scanId)).toEqual(expect.arrayContaining(own));
        for (const result of pulled.body.results) expect(ids).not.toContain(result.scanId);
      }
      const database = service.app.get<Database>(DATABASE);
      expect(await database.db.select().from(resultsTable).where(inArray(resultsTable.scanId, ids))).toEqual([]);
      // station A has a webhook: every live result of it arrived, no training one
      const ownA = PLANS.filter((plan) => plan.station === 'A').map((plan) => scanOf[plan.key]);
      await until(async () => (ownA.every((id) => webhooks.some((hook) => hook.scanId === id)) ? true : undefined), 'the webhooks of station A');
      for (const hook of webhooks) expect(ids).not.toContain(hook.scanId);
    });

    it('are not in the archive trainers search', async () => {
      const ids = (await trainingScans()).map((entry) => entry.scanId);
      const listed = (await archive()).cases.map((entry) => entry.scanId);
      for (const id of ids) expect(listed).not.toContain(id);
      expect(listed).toHaveLength(PLANS.length + 1); // and the live scan decided meanwhile
    });
  });
  describe('hardening', () => {
    it('refuses as trainees people whose other roles read the truth (trainer, admin, supervisor)', async () => {
      const archivedScanIds = (await archive({ outcome: 'clean' })).cases.map((entry) => entry.scanId);
      for (const roles of [['trainee', 'trainer'], ['trainee', 'supervisor'], ['trainee', 'admin']]) {
        const both = await user(`both-${roles[1]}`, roles);
        expectError(await call('POST', '/api/v1/training/sets', trainer.token, { name: 'Own answers', mode: 'exam', archivedScanIds, traineeIds: [both.id] }), 400, 'trainee_sees_truth');
      }
      const analystTrainee = await user('anneli', ['trainee', 'analyst']);
      const created = await call<SetDetail>('POST', '/api/v1/training/sets', trainer.token, { name: 'Analysts train too', mode: 'exam', archivedScanIds, traineeIds: [analystTrainee.id] });
      expect(created.status).toBe(202);
      const trainerTrainee = await user('both-assign', ['trainee', 'trainer']);
      expectError(await call('POST', `/api/v1/training/sets/${created.body.id}/assignments`, trainer.token, { traineeIds: [trainerTrainee.id] }), 400, 'trainee_sees_truth');
    });

    it('answers 404, never 500, to ids that only look like uuids', async () => {
      for (const id of ['-'.repeat(36), 'a'.repeat(36), 'A0000000-0000-4000-8000-000000000000']) {
        const attempts = [
          await refusal('GET', `/api/v1/training/sessions/${id}`, t1.token),
          await refusal('POST', `/api/v1/training/sessions/${id}/next`, t1.token),
          await refusal('GET', `/api/v1/training/cases/${id}/views/top/thumbnail`, t1.token),
          await refusal('GET', `/api/v1/training/sets/${id}`, trainer.token),
          await refusal('GET', `/api/v1/training/trainees/${id}/scores`, trainer.token),
          await refusal('PATCH', `/api/v1/training/threat-items/${id}`, trainer.token, { retired: true }),
          await refusal('GET', `/api/v1/scans/${id}`, analyst.token),
        ];
        for (const attempt of attempts) expect(attempt.status).toBe(404);
      }
      expectError(await call('GET', `/api/v1/training/archive?before=${encodeURIComponent(`2026-01-01T00:00:00.000Z|${'a'.repeat(36)}`)}`, trainer.token), 400, 'invalid_cursor');
    });

    it('keeps a set whose cases were answered: it holds the trainees’ results (409 set_has_answers)', async () => {
      const exam = await examSet();
      expectError(await call('DELETE', `/api/v1/training/sets/${exam.id}`, trainer.token), 409, 'set_has_answers');
      expect((await call('GET', `/api/v1/training/sets/${exam.id}`, trainer.token)).status).toBe(200);
    });

    it('refuses a threat item part over 16 MB while it streams (413)', async () => {
      const huge = Buffer.alloc(17 * 1024 * 1024, 1);
      const response = await service.request<ApiErrorBody>('POST', '/api/v1/training/threat-items', {
        token: trainer.token,
        body: itemForm({ name: 'Too big', category: 'other', pixelSpacingMm: '2', airValue: '60000' }, { high: huge, low: huge }),
      });
      expect([response.status, response.body.error.code]).toEqual([413, 'threat_item_too_large']);
    });
  });
});
