import { mkdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { type TestService, scanForm } from '../service.harness.js';
import { markRegion } from './browser.js';

/** Screenshots for docs/ and the README: 1920 x 1080, dark, each at most this many bytes (else palette PNG). */
const MAX_BYTES = 400 * 1024;
const VIEWPORT = { width: 1920, height: 1080 };
const WAIT_MS = 60_000;

export interface ScreenshotCast {
  service: TestService;
  browser: Browser;
  /** A pool the analysts below work in (created earlier through the admin screen). */
  pool: string;
  /** A station of that pool and its API key. */
  station: { apiKey: string };
  analysts: { username: string; password: string }[];
  supervisor: { username: string; password: string };
  admin: { username: string; password: string };
}

/**
 * Writes analyst.png, supervisor.png and admin.png into `folder` from a realistic state built on the running
 * service: a few more stations, a 2000 x 640 dual-energy container scan (two views) claimed by an analyst in the
 * browser with a region drawn and material colouring on, a few cases decided, waiting and held in the pool.
 * Run with: NIIX_UI_SCREENSHOTS=docs/screenshots npx jest test/ui/admin-supervisor
 */
export async function writeScreenshots(cast: ScreenshotCast, folder: string): Promise<string[]> {
  const { service, browser } = cast;
  mkdirSync(folder, { recursive: true });
  const contexts: BrowserContext[] = [];
  const admin = service.adminToken;
  try {
    // more stations and users, so that the admin lists look like a working centre
    await service.request('PUT', '/api/v1/pools/night-shift', { token: admin, json: { fourEyesRisk: 70, fourEyesOnInspect: true } });
    const extra = [
      { name: 'Terehova road', country: 'LV', vendor: 'Rapiscan', pool: cast.pool, slaSeconds: 900, riskLevel: 30, callbackUrl: 'https://terehova.vid.example.lv/niix/results' },
      { name: 'Medininkai rail', country: 'LT', vendor: 'Smiths Detection', pool: 'central', slaSeconds: 1800, riskLevel: 0 },
      { name: 'Koidula rail', country: 'EE', vendor: 'Nuctech', pool: 'night-shift', slaSeconds: 1200, riskLevel: 50, callbackUrl: 'https://koidula.emta.example.ee/hooks/niix' },
    ];
    const keys: string[] = [cast.station.apiKey];
    for (const station of extra) {
      const created = await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: admin, json: station });
      if (created.status !== 201) throw new Error(`station ${station.name}: ${created.status} ${JSON.stringify(created.body)}`);
      if (station.pool === cast.pool) keys.push(created.body.apiKey);
    }
    for (const [username, roles] of [['marta', ['trainee']], ['oskar', ['trainer', 'analyst']], ['liis', ['supervisor', 'admin']]] as const) {
      await service.request('POST', '/api/v1/users', { token: admin, json: { username, password: 'screens-password-1', roles } });
    }

    // the case to show: a 2000 x 640 dual-energy container scan, two views, most urgent of the pool
    const big = generateScan({ seed: 7, kind: 'container', width: 2000, height: 640, views: ['top', 'side'], concealed: 1 });
    const bigMetadata = {
      containers: big.metadata.containers,
      declarations: big.metadata.declarations,
      licencePlates: big.metadata.licencePlates,
      declaredGoods: big.metadata.declaredGoods,
      riskScore: 82,
      reference: 'lane-3/1187',
    };
    const bigId = await upload(service, cast.station.apiKey, await writeScannerInput('raw:aurora-ax6', big), bigMetadata);
    // cases behind it: three that the second analyst decides (station pulls its results), four that wait or are held
    const [narva, terehova] = keys;
    const behind = [
      { key: narva, risk: 60 },
      { key: narva, risk: 64 },
      { key: narva, risk: 68 },
      { key: terehova, risk: 35 },
      { key: narva, risk: 20 },
      { key: terehova, risk: 30 },
      { key: narva, risk: 10 },
    ];
    const uploaded: [string, string][] = [[bigId, cast.station.apiKey]];
    for (const [i, { key, risk }] of behind.entries()) {
      const small = generateScan({ seed: 40 + i, kind: i % 2 ? 'truck' : 'container', width: 480, height: 160 });
      const metadata = { containers: small.metadata.containers, licencePlates: small.metadata.licencePlates, declarations: small.metadata.declarations, declaredGoods: small.metadata.declaredGoods, riskScore: risk, reference: `lane-${1 + (i % 2)}/12${i}` };
      uploaded.push([await upload(service, key, await writeScannerInput('raw:aurora-ax6', small), metadata), key]);
    }
    for (const [id, key] of uploaded) {
      const scan = await service.waitForScan(id, key);
      if (scan.status !== 'queued') throw new Error(`scan ${id} ${scan.status}`);
    }

    // analyst 1 in the browser: next case, tiles, a region drawn and marked as concealment
    const [first, second] = cast.analysts;
    const analyst = await signIn(browser, contexts, service.url, first, '#next-case');
    const [claim] = await Promise.all([analyst.waitForResponse((response) => response.url().endsWith('/api/v1/worklist/claim')), analyst.keyboard.press('n')]);
    if (claim.status() !== 200) throw new Error(`claim: ${claim.status()}`);
    await analyst.waitForSelector(`.case[data-scan="${bigId}"]`, { timeout: WAIT_MS });
    await analyst.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>('.view-pane')).every((pane) => Number(pane.dataset.greyTiles) > 0), undefined, { timeout: WAIT_MS });
    const box = (await analyst.locator('.view-pane[data-view="top"]').boundingBox())!;
    const cx = box.x + box.width * 0.55;
    const cy = box.y + box.height * 0.5;
    await markRegion(analyst, cx, cy, 70, 30, 6);
    await analyst.keyboard.press('8');
    await analyst.waitForSelector('.view-pane[data-view="top"] .region.selected');
    // dual-energy material colouring (organic / mixed / metal)
    await analyst.keyboard.press('m');
    await analyst.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>('.view-pane')).every((pane) => Number(pane.dataset.materialTiles) > 0), undefined, { timeout: WAIT_MS });
    await settle(analyst);
    const files = [await shoot(analyst, path.join(folder, 'analyst.png'))];

    // analyst 2 (through the API) decides the three most urgent cases left, then holds one more
    const login = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: second });
    for (const decision of ['clear', 'inspect', 'clear', null]) {
      const claimed = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: login.body.token });
      if (claimed.status !== 200) throw new Error(`claim: ${claimed.status}`);
      if (!decision) break;
      const verdict = await service.request('POST', `/api/v1/scans/${claimed.body.scan.id}/verdict`, { token: login.body.token, json: { claimId: claimed.body.claimId, decision } });
      if (verdict.status !== 201) throw new Error(`verdict: ${verdict.status} ${JSON.stringify(verdict.body)}`);
    }

    // the supervisor: pool depth, the two holders, recent decisions
    const supervisor = await signIn(browser, contexts, service.url, cast.supervisor, '#holders');
    await supervisor.waitForFunction(
      (pool) => document.querySelectorAll('#holders tr[data-claim]').length >= 2 && document.querySelectorAll('#recent tr[data-scan]').length >= 5 && Number(document.querySelector(`#pools tr[data-pool="${pool}"] td[data-field=waiting]`)?.textContent) >= 3,
      cast.pool,
      { timeout: WAIT_MS },
    );
    files.push(await shoot(supervisor, path.join(folder, 'supervisor.png')));

    // the administrator: stations, pools, users, undelivered results
    const adminPage = await signIn(browser, contexts, service.url, cast.admin, '#station-form');
    await adminPage.waitForFunction(() => document.querySelectorAll('#stations tr[data-station]').length >= 4 && document.querySelectorAll('#users tr[data-user]').length >= 6 && document.querySelectorAll('#pools tr[data-pool]').length >= 3, undefined, { timeout: WAIT_MS });
    files.push(await shoot(adminPage, path.join(folder, 'admin.png')));
    return files;
  } finally {
    for (const context of contexts) await context.close().catch(() => undefined);
  }
}

async function upload(service: TestService, apiKey: string, files: { name: string; data: Buffer }[], metadata: unknown): Promise<string> {
  const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: apiKey, body: scanForm(files, metadata) });
  if (accepted.status !== 202) throw new Error(`upload: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  return accepted.body.id;
}

async function signIn(browser: Browser, contexts: BrowserContext[], url: string, who: { username: string; password: string }, ready: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB', colorScheme: 'dark' });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('input[name=username]', who.username);
  await page.fill('input[name=password]', who.password);
  await page.click('button[type=submit]');
  await page.waitForSelector(ready, { timeout: WAIT_MS });
  return page;
}

/** Waits until the viewer has drawn what it asked for: tile counts unchanged over a few polls, then two frames. */
async function settle(page: Page): Promise<void> {
  const tiles = () => page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('.view-pane')).map((pane) => `${pane.dataset.greyTiles}/${pane.dataset.materialTiles}`).join(','));
  const deadline = Date.now() + WAIT_MS;
  let last = await tiles();
  let stable = 0;
  while (stable < 3 && Date.now() < deadline) {
    await page.waitForTimeout(250); // a polling interval of the condition, not a fixed wait for the result
    const now = await tiles();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/** A PNG of the viewport; a 256-colour palette PNG (through sharp, test-only) when it would exceed MAX_BYTES. */
async function shoot(page: Page, file: string): Promise<string> {
  await page.screenshot({ path: file });
  if (statSync(file).size > MAX_BYTES) {
    const smaller = await sharp(readFileSync(file)).png({ palette: true, colours: 256, effort: 10, compressionLevel: 9, dither: 0.6 }).toBuffer();
    writeFileSync(file, smaller);
  }
  return file;
}

export interface TrainingScreenshotCast {
  service: TestService;
  browser: Browser;
  trainer: { username: string; password: string };
  /** Decided scans with a reported outcome (the archive the sets are built from). */
  archivedScanIds: string[];
  /** Password of the trainees made here. */
  password: string;
}

interface TrainingCase {
  id: string;
  threat: boolean;
  regions: { view: string; x: number; y: number; width: number; height: number; category: string; note: string }[];
}
interface TrainingSet {
  id: string;
  status: string;
  caseList: TrainingCase[];
  sessionList: { id: string; trainee: string }[];
}

/**
 * Writes trainer.png (the dashboard: trainees' scores, d′ over time, hit rate per category) and trainee.png (an exam
 * case under the TRAINING banner) into `folder`. Four trainees work through two exam sets through the API with
 * different habits (one careful, one who misses, one who stops clean cases, one in between), so that the charts
 * have lines and bars; a fifth opens a session in the browser.
 * Run with: NIIX_UI_SCREENSHOTS=docs/screenshots npx jest test/ui/training
 */
export async function writeTrainingScreenshots(cast: TrainingScreenshotCast, folder: string): Promise<string[]> {
  const { service, browser } = cast;
  mkdirSync(folder, { recursive: true });
  const contexts: BrowserContext[] = [];
  const admin = service.adminToken;
  const token = async (who: { username: string; password: string }) => {
    const login = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: who });
    if (login.status !== 200) throw new Error(`login ${who.username}: ${login.status}`);
    return login.body.token;
  };
  try {
    const trainer = await token(cast.trainer);
    // habits: answer i of a threat case is missed when i % missEvery === missEvery - 1; clean case i is stopped when i % alarmEvery === 0
    const habits = [
      { username: 'anu', missEvery: 9, alarmEvery: 9 },
      { username: 'mihkel', missEvery: 2, alarmEvery: 5 },
      { username: 'rasmus', missEvery: 4, alarmEvery: 2 },
      { username: 'kertu', missEvery: 3, alarmEvery: 3 },
      { username: 'kaia', missEvery: 1, alarmEvery: 1 },
    ];
    const ids = new Map<string, string>();
    for (const { username } of habits) {
      const created = await service.request<{ id: string }>('POST', '/api/v1/users', { token: admin, json: { username, password: cast.password, roles: ['trainee'] } });
      if (created.status !== 201) throw new Error(`user ${username}: ${created.status}`);
      ids.set(username, created.body.id);
    }
    const workers = habits.slice(0, 4);
    const createSet = async (name: string, json: Record<string, unknown>) => {
      const created = await service.request<TrainingSet>('POST', '/api/v1/training/sets', { token: trainer, json: { name, archivedScanIds: cast.archivedScanIds, ...json } });
      if (created.status !== 202) throw new Error(`set ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const detail = await service.request<TrainingSet>('GET', `/api/v1/training/sets/${created.body.id}`, { token: trainer });
        if (detail.body.status === 'ready') return detail.body;
        if (detail.body.status === 'failed' || Date.now() > deadline) throw new Error(`set ${name}: ${detail.body.status}`);
        await new Promise((resolve) => setTimeout(resolve, 200)); // polling interval of the condition
      }
    };
    for (const [index, name] of ['Week 2 exam: concealment', 'Week 3 exam: mixed cargo'].entries()) {
      const set = await createSet(name, { mode: 'exam', threatShare: 0.6, traineeIds: workers.map((worker) => ids.get(worker.username)), seed: 100 + index });
      const truth = new Map(set.caseList.map((item) => [item.id, item]));
      for (const worker of workers) {
        const session = set.sessionList.find((candidate) => candidate.trainee === worker.username)!;
        const traineeToken = await token({ username: worker.username, password: cast.password });
        for (let i = 0; ; i++) {
          const next = await service.request<{ case: { caseId: string } }>('POST', `/api/v1/training/sessions/${session.id}/next`, { token: traineeToken });
          if (next.status === 204) break;
          const real = truth.get(next.body.case.caseId)!;
          const miss = i % worker.missEvery === worker.missEvery - 1;
          const alarm = i % worker.alarmEvery === 0;
          const body = real.threat ? (miss ? { decision: 'clear' } : { decision: 'inspect', regions: real.regions.slice(0, 1) }) : alarm ? { decision: 'inspect' } : { decision: 'clear' };
          const answered = await service.request('POST', `/api/v1/training/sessions/${session.id}/cases/${real.id}/answer`, { token: traineeToken, json: body });
          if (answered.status !== 201) throw new Error(`answer: ${answered.status} ${JSON.stringify(answered.body)}`);
        }
      }
    }

    // the trainer's dashboard
    const trainerPage = await signIn(browser, contexts, service.url, cast.trainer, '#archive-form');
    await trainerPage.click('button.tab[data-tab=dashboard]');
    await trainerPage.waitForFunction(() => document.querySelectorAll('#trainee-scores tr[data-trainee]').length >= 4 && document.querySelectorAll('#dprime-chart circle.point').length >= 8, undefined, { timeout: WAIT_MS });
    const files = [await shoot(trainerPage, path.join(folder, 'trainer.png'))];

    // a trainee's exam case under the TRAINING banner
    const last = habits[habits.length - 1];
    await createSet('Week 4 exam', { mode: 'exam', projectedCount: 2, traineeIds: [ids.get(last.username)], seed: 7 });
    const traineePage = await signIn(browser, contexts, service.url, { username: last.username, password: cast.password }, '#sessions button.open-session');
    await traineePage.click('#sessions button.open-session');
    await traineePage.waitForSelector('[data-testid=training-banner]', { timeout: WAIT_MS });
    await traineePage.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>('.view-pane')).every((pane) => Number(pane.dataset.greyTiles) > 0), undefined, { timeout: WAIT_MS });
    await settle(traineePage);
    files.push(await shoot(traineePage, path.join(folder, 'trainee.png')));
    return files;
  } finally {
    for (const context of contexts) await context.close().catch(() => undefined);
  }
}
