import { cropPlane, decodePlaneTile, planeTileGeometry, planeTileGrid } from '../libs/imaging/src/plane-tiles.js';
import { decodePng16 } from '../libs/imaging/src/raster.js';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import type { Region } from '../libs/exchange-format/src/verdict.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import type { NextCaseResponse, SessionSummary, SetDetail, ThreatItemResponse } from '../src/training/training.contract.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';
import { until } from './until.js';

/*
 * Issue 10, part 6: a trainee must not recover the truth by comparing two cases made from one archived scan. When
 * one clean archived scan is a clean case in one set and the background of a projected threat in another, the two
 * images differ exactly at the threat. niix makes that impossible by construction: an archived scan has one image
 * per trainee (shown as itself in any number of sets, or as the background of one projection, never both), checked
 * when a set is made and when it is assigned (409 archived_scan_in_two_roles).
 *
 * The attack is run the way a trainee would: a trainer builds several sets from overlapping archived scans for the
 * same trainee (what niix refuses stays refused, what it accepts is assigned), then the trainee works through every
 * session and reads every case over the 16-bit plane tile routes the workstation uses, and diffs every pair of cases
 * that share an archived origin. The difference must not outline the truth region of a projection.
 *
 * On both databases: on PostgreSQL two requests really run side by side, which the race test needs.
 */

const PASSWORD = 'separation-password-of-tests';
const READY_MS = 120_000;
const CONFLICT = 'archived_scan_in_two_roles';

interface User {
  id: string;
  username: string;
  token: string;
}
interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
type Plane = { width: number; height: number; data: Uint16Array };
/** What the trainee read of one case: view id → energy → the plane as the tiles give it. */
type CaseImages = Map<string, Map<string, Plane>>;

/** Clean archived scans c0..c7 and one archived find f0. */
const CLEAN = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];

describe.each([
  ['PGlite', 'pglite'],
  ['PostgreSQL', 'postgres'],
] as const)('training separation by construction: one image of an archived scan per trainee (%s)', (_name, database) => {
  let service: TestService;
  let station: { id: string; apiKey: string };
  let trainer: User;
  let analyst: User;
  /** The trainee who is given overlapping sets. */
  let tiit: User;
  /** Another trainee: what is refused for tiit may go to someone else. */
  let tauno: User;
  /** For the race of two conflicting sets. */
  let tanel: User;
  const scanOf: Record<string, string> = {};
  const keyOf: Record<string, string> = {};
  const items: Record<string, string> = {};
  /** Every set the trainer made (name → detail once ready), and the trainer's attempts with their answers. */
  const sets = new Map<string, SetDetail>();
  const attempts: { what: string; status: number; body: unknown }[] = [];

  async function call<T = unknown>(method: string, route: string, token: string, json?: unknown) {
    return service.request<T>(method, route, { token, ...(json === undefined ? {} : { json }) });
  }

  async function user(username: string, roles: string[]): Promise<User> {
    const created = await call<{ id: string }>('POST', '/api/v1/users', service.adminToken, { username, password: PASSWORD, roles });
    expect(created.status).toBe(201);
    const login = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { id: created.body.id, username, token: login.body.token };
  }

  async function detail(id: string): Promise<SetDetail> {
    const response = await call<SetDetail>('GET', `/api/v1/training/sets/${id}`, trainer.token);
    expect(response.status).toBe(200);
    return response.body;
  }

  async function ready(id: string): Promise<SetDetail> {
    return until(
      async () => {
        const set = await detail(id);
        if (set.status === 'failed') throw new Error(`set ${set.name} failed: ${set.failureMessage ?? ''}`);
        return set.status === 'ready' ? set : undefined;
      },
      `set ${id} to be ready`,
      READY_MS,
    );
  }

  /** A set as the trainer asks for it: made (202, kept once ready) or refused (kept as the answer). */
  async function trySet(name: string, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const response = await call<SetDetail | ApiErrorBody>('POST', '/api/v1/training/sets', trainer.token, { name, mode: 'exam', ...body });
    attempts.push({ what: `create ${name}`, status: response.status, body: response.body });
    if (response.status === 202) sets.set(name, await ready((response.body as SetDetail).id));
    return response;
  }

  async function tryAssign(name: string, trainee: User): Promise<{ status: number; body: unknown }> {
    const response = await call<SetDetail | ApiErrorBody>('POST', `/api/v1/training/sets/${sets.get(name)!.id}/assignments`, trainer.token, { traineeIds: [trainee.id] });
    attempts.push({ what: `assign ${name} to ${trainee.username}`, status: response.status, body: response.body });
    if (response.status === 200) sets.set(name, await detail(sets.get(name)!.id));
    return response;
  }

  const scans = (...keys: string[]) => keys.map((key) => scanOf[key]);
  const project = (key: string, item: string) => ({ scanId: scanOf[key], threatItemId: items[item] });

  /** One plane of a case, stitched from its full-resolution 16-bit tiles (the viewer's tiles.dzi and tiles_files). */
  async function readPlane(token: string, caseId: string, view: string, energy: string): Promise<Plane> {
    const base = `/api/v1/training/cases/${caseId}/views/${view}/planes/${energy}`;
    const dzi = await call<string>('GET', `${base}/tiles.dzi`, token);
    expect(dzi.status).toBe(200);
    const [, width, height] = /<Size Width="(\d+)" Height="(\d+)"\/>/.exec(dzi.body)!.map(Number);
    const geometry = planeTileGeometry(width, height);
    const { cols, rows } = planeTileGrid(geometry, geometry.maxLevel);
    const data = new Uint16Array(width * height);
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        const tile = await service.bytes(`${base}/tiles_files/${geometry.maxLevel}/${col}_${row}.png`, token);
        expect(tile.status).toBe(200);
        const values = await decodePlaneTile(tile.data);
        const left = Math.max(0, col * geometry.tileSize - geometry.overlap);
        const top = Math.max(0, row * geometry.tileSize - geometry.overlap);
        for (let y = 0; y < values.height; y++) data.set(values.data.subarray(y * values.width, (y + 1) * values.width), (top + y) * width + left);
      }
    }
    return { width, height, data };
  }

  /** Everything the trainee can see: every session worked through (answered clear), every case's planes read. */
  async function everythingSeenBy(trainee: User): Promise<Map<string, CaseImages>> {
    const seen = new Map<string, CaseImages>();
    const sessions = await call<SessionSummary[]>('GET', '/api/v1/training/my/sessions', trainee.token);
    expect(sessions.status).toBe(200);
    for (const session of sessions.body) {
      for (;;) {
        const next = await call<NextCaseResponse>('POST', `/api/v1/training/sessions/${session.id}/next`, trainee.token);
        if (next.status === 204) break;
        expect(next.status).toBe(200);
        const shown = next.body.case;
        const images: CaseImages = new Map();
        for (const view of shown.manifest.views) {
          const planes = new Map<string, Plane>();
          for (const { energy } of view.planes) planes.set(energy, await readPlane(trainee.token, shown.caseId, view.id, energy));
          images.set(view.id, planes);
        }
        seen.set(shown.caseId, images);
        const answered = await call('POST', `/api/v1/training/sessions/${session.id}/cases/${shown.caseId}/answer`, trainee.token, { decision: 'clear', regions: [] });
        expect(answered.status).toBe(201);
      }
    }
    return seen;
  }

  /**
   * Does the difference of two planes outline the truth? Mean absolute difference inside the truth boxes against
   * outside them: it outlines the truth when the inside stands out by more than four standard errors of the outside
   * (and one count, so that two identical images outline nothing).
   */
  function outlines(a: Plane, b: Plane, truth: Pick<Region, 'x' | 'y' | 'width' | 'height'>[]): { inside: number; outside: number; outlines: boolean } {
    let sumIn = 0;
    let nIn = 0;
    let sumOut = 0;
    let squaresOut = 0;
    let nOut = 0;
    for (let y = 0; y < a.height; y++) {
      for (let x = 0; x < a.width; x++) {
        const d = Math.abs(a.data[y * a.width + x] - b.data[y * a.width + x]);
        if (truth.some((box) => x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height)) {
          sumIn += d;
          nIn++;
        } else {
          sumOut += d;
          squaresOut += d * d;
          nOut++;
        }
      }
    }
    const inside = nIn ? sumIn / nIn : 0;
    const outside = nOut ? sumOut / nOut : 0;
    const sd = nOut ? Math.sqrt(Math.max(0, squaresOut / nOut - outside * outside)) : 0;
    return { inside, outside, outlines: nIn > 0 && inside - outside > (4 * sd) / Math.sqrt(nIn) + 1 };
  }

  beforeAll(async () => {
    service = await startTestService({ database });
    const created = await call<{ id: string; apiKey: string }>('POST', '/api/v1/stations', service.adminToken, { name: 'Luhamaa road 1', country: 'EE' });
    expect(created.status).toBe(201);
    station = created.body;
    trainer = await user('tiina', ['trainer']);
    analyst = await user('ieva', ['analyst']);
    tiit = await user('tiit', ['trainee']);
    tauno = await user('tauno', ['trainee']);
    tanel = await user('tanel', ['trainee']);
    expect((await call('PUT', '/api/v1/pools/central', service.adminToken, { fourEyesRisk: null, fourEyesOnInspect: false })).status).toBe(200);

    // the archive: uploaded, decided, the station's outcome reported (clean c0..c7, a find f0)
    for (const [i, key] of [...CLEAN, 'f0'].entries()) {
      const scan = generateScan({ seed: 900 + i, kind: i % 2 ? 'truck' : 'container', width: 320, height: 100, views: ['top', 'side'] });
      const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(await writeScannerInput('raw:aurora-ax6', scan), { reference: `REF-${key}` }) });
      expect(accepted.status).toBe(202);
      scanOf[key] = accepted.body.id;
      keyOf[accepted.body.id] = key;
    }
    for (const id of Object.values(scanOf)) expect((await service.waitForScan(id, station.apiKey)).status).toBe('queued');
    for (let decided = 0; decided < Object.keys(scanOf).length; decided++) {
      // a scan is queued a moment before its job is in the pool: wait for one to claim
      const claimed = await until(async () => {
        const response = await call<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', analyst.token);
        return response.status === 200 ? response.body : undefined;
      }, 'a case to claim');
      const find = keyOf[claimed.scan.id] === 'f0';
      const regions: Region[] = find ? [{ view: 'side', x: 100, y: 30, width: 60, height: 40, category: 'narcotics', note: 'dense block' }] : [];
      const verdict = await call('POST', `/api/v1/scans/${claimed.scan.id}/verdict`, analyst.token, { claimId: claimed.claimId, decision: find ? 'inspect' : 'clear', regions, comment: 'checked' });
      expect(verdict.status).toBe(201);
      const outcome = await call('POST', `/api/v1/scans/${claimed.scan.id}/outcome`, station.apiKey, find ? { found: true, categories: ['narcotics'] } : { found: false });
      expect(outcome.status).toBe(201);
    }
    const library = await call<ThreatItemResponse[]>('GET', '/api/v1/training/threat-items', trainer.token);
    for (const item of library.body) items[item.name] = item.id;

    // The trainer's week, all for tiit, over overlapping archived scans:
    // Monday: c0 carries a pistol; c1, c2, c3 are clean.
    await trySet('Monday', { archivedScanIds: scans('c0', 'c1', 'c2', 'c3'), projections: [project('c0', 'Pistol')], traineeIds: [tiit.id] });
    // Tuesday: c0 clean (it carried Monday's pistol), c1 carries drugs (it was clean on Monday), the find f0.
    await trySet('Tuesday', { archivedScanIds: scans('c0', 'c1', 'c4', 'f0'), projections: [project('c1', 'Drug blocks')], traineeIds: [tiit.id] });
    // Wednesday: made for nobody, then assigned: c0 carries cash (a second threat on Monday's background).
    await trySet('Wednesday', { archivedScanIds: scans('c0', 'c5'), projections: [project('c0', 'Cash bundles')] });
    await tryAssign('Wednesday', tiit);
    await tryAssign('Wednesday', tauno);
    // Thursday: c2 and c3 clean again (as on Monday), the find f0, a pistol in the fresh c6; for tiit and tauno.
    await trySet('Thursday', { archivedScanIds: scans('c2', 'c3', 'f0', 'c6'), projections: [project('c6', 'Pistol')], traineeIds: [tiit.id, tauno.id] });
    // Friday: one threat drawn at random among c2, c3 (seen clean) and the fresh c7.
    await trySet('Friday', { archivedScanIds: scans('c2', 'c3', 'c7'), projectedCount: 1, threatItemIds: [items['Rifle parts']], traineeIds: [tiit.id], seed: 7 });
  }, 600_000);

  afterAll(async () => {
    await service?.close();
  });

  it('leaves no pair of cases from one archived scan whose difference outlines a projected threat', async () => {
    const seen = await everythingSeenBy(tiit);
    // every case of every set tiit was given
    const given = [...sets.values()].filter((set) => set.sessionList.some((session) => session.traineeId === tiit.id));
    expect(seen.size).toBe(given.reduce((sum, set) => sum + set.cases.total, 0));
    const cases = [...sets.values()].flatMap((set) => set.caseList.map((entry) => ({ ...entry, setName: set.name })));
    const known = cases.filter((entry) => seen.has(entry.id));
    expect(known).toHaveLength(seen.size);
    const byOrigin = new Map<string, typeof known>();
    for (const entry of known) {
      const origin = entry.sourceScanId ?? entry.scanId;
      byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), entry]);
    }
    const compared: string[] = [];
    const outlined: unknown[] = [];
    for (const [origin, group] of byOrigin) {
      for (let i = 0; i < group.length; i++) {
        for (let j = i + 1; j < group.length; j++) {
          const [a, b] = [group[i], group[j]];
          const truth = [a, b].filter((entry) => entry.kind === 'projected').flatMap((entry) => entry.regions);
          for (const [view, planes] of seen.get(a.id)!) {
            for (const [energy, plane] of planes) {
              const other = seen.get(b.id)!.get(view)!.get(energy)!;
              const figures = outlines(plane, other, truth.filter((box) => box.view === view));
              if (figures.outlines) outlined.push({ scan: keyOf[origin], cases: [`${a.setName}: ${a.kind}`, `${b.setName}: ${b.kind}`], view, energy, inside: figures.inside, outside: figures.outside });
            }
          }
          compared.push(`${keyOf[origin]} (${a.setName}, ${b.setName})`);
        }
      }
    }
    expect(outlined).toEqual([]);
    // not vacuous: tiit saw c2 and c3 in three sets each (Monday, Thursday, Friday)
    expect(compared.length).toBeGreaterThanOrEqual(6);
  });

  it('refuses, with 409 archived_scan_in_two_roles, a set or an assignment that would show a trainee two images of one archived scan', async () => {
    const answers = attempts.map(({ what, status, body }) => ({ what, status, code: (body as ApiErrorBody).error?.code }));
    expect(answers).toEqual([
      { what: 'create Monday', status: 202, code: undefined },
      { what: 'create Tuesday', status: 409, code: CONFLICT },
      { what: 'create Wednesday', status: 202, code: undefined },
      { what: 'assign Wednesday to tiit', status: 409, code: CONFLICT },
      { what: 'assign Wednesday to tauno', status: 200, code: undefined },
      { what: 'create Thursday', status: 202, code: undefined },
      { what: 'create Friday', status: 202, code: undefined },
    ]);
    // the sentence names the trainee, the archived scan, both roles and both sets
    const tuesday = (attempts[1].body as ApiErrorBody).error;
    expect(tuesday.message).toContain('tiit');
    expect(tuesday.message).toMatch(new RegExp(`archived scan (${scanOf.c0}|${scanOf.c1})`));
    expect(tuesday.message).toContain('“Monday”');
    expect(tuesday.message).toContain('“Tuesday”');
    expect(tuesday.message).toContain('clean case');
    expect(tuesday.message).toContain('background of a projected threat');
    expect(tuesday.details).toMatchObject({ traineeId: tiit.id });
    const wednesday = (attempts[3].body as ApiErrorBody).error;
    expect(wednesday.message).toContain(`archived scan ${scanOf.c0}`);
    expect(wednesday.message).toContain('“Monday”');
    expect(wednesday.message).toContain('“Wednesday”');
    // nothing of a refused set was kept, and a refused assignment made no session
    expect((sets.get('Wednesday')?.sessionList ?? []).map((session) => session.trainee)).toEqual(['tauno']);
    const listed = await call<SetDetail[]>('GET', '/api/v1/training/sets', trainer.token);
    expect(listed.body.map((set) => set.name).sort()).toEqual(['Friday', 'Monday', 'Thursday', 'Wednesday']);
  });

  it('draws the backgrounds of a set among the archived scans its trainees have not seen', () => {
    const friday = sets.get('Friday')!;
    const projected = friday.caseList.filter((entry) => entry.kind === 'projected');
    expect(projected.map((entry) => keyOf[entry.sourceScanId!])).toEqual(['c7']);
  });

  it('lets two conflicting sets race for one trainee: one is made, the other refused', async () => {
    const body = (name: string, key: string) => ({ name, mode: 'exam', archivedScanIds: scans('c4', 'c5'), projections: [project(key, 'Pistol')], traineeIds: [tanel.id] });
    const answers = await Promise.all([call<ApiErrorBody>('POST', '/api/v1/training/sets', trainer.token, body('Race 1', 'c4')), call<ApiErrorBody>('POST', '/api/v1/training/sets', trainer.token, body('Race 2', 'c5'))]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([202, 409]);
    expect(answers.find((answer) => answer.status === 409)!.body.error.code).toBe(CONFLICT);
  });

  it('frees an archived scan for a trainee when the set that used it is deleted', async () => {
    // tauno has c0 as the background of Wednesday's cash; a set with c0 clean is refused until Wednesday goes
    const again = { name: 'Saturday', mode: 'exam', archivedScanIds: scans('c0', 'c1'), traineeIds: [tauno.id] };
    expect((await call<ApiErrorBody>('POST', '/api/v1/training/sets', trainer.token, again)).body.error.code).toBe(CONFLICT);
    expect((await call('DELETE', `/api/v1/training/sets/${sets.get('Wednesday')!.id}`, trainer.token)).status).toBe(204);
    const made = await call<SetDetail>('POST', '/api/v1/training/sets', trainer.token, again);
    expect(made.status).toBe(202);
  });

  it('reads the same pixels through the tiles as through a whole plane (the stitching the test relies on)', async () => {
    const monday = sets.get('Monday')!;
    const archived = monday.caseList.find((entry) => entry.kind === 'archived')!;
    const tiles = await readPlane(trainer.token, archived.id, 'side', 'high');
    const whole = await service.bytes(`/api/v1/scans/${archived.scanId}/views/side/planes/high.png`, station.apiKey);
    expect(whole.status).toBe(200);
    const plane = await decodePng16(whole.data);
    expect(tiles.data).toEqual(cropPlane(plane, 0, 0, plane.width, plane.height));
  });
});
