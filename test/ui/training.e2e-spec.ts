import path from 'node:path';
import { type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import sharp from 'sharp';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { type Answer, type CaseTruth, type ScoredAnswer, classifyAnswer, score } from '../../src/training/scoring.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';
import { ensureWebBuilt, launchChromium, markRegion, until } from './browser.js';
import { writeTrainingScreenshots } from './screenshots.js';
import type { Region } from '../../libs/exchange-format/src/verdict.js';
import type { DetectionScore } from '../../src/training/scoring.js';
import type { SetDetail } from '../../src/training/training.contract.js';

const PASSWORD = 'training-password-1';
/** Conditions in the page (set preparation makes projected cases: a few seconds each on this machine). */
const WAIT_MS = 90_000;
/** Set NIIX_UI_SCREENSHOTS=<folder> to write trainer.png and trainee.png there (docs/screenshots). */
const SCREENSHOTS = process.env.NIIX_UI_SCREENSHOTS;
const percent = new Intl.NumberFormat('en-GB', { style: 'percent', maximumFractionDigits: 1 });

/**
 * Training in headless Chromium against the whole service. An archive is made through the API (scans uploaded,
 * decided by an analyst, their inspection outcomes reported by the station); then in the browser a trainer searches
 * the archive, picks cases and creates an exam set with projected threats for a trainee, and follows it until it is
 * ready; the trainee answers every case under the TRAINING banner without any feedback and reaches the summary; the
 * trainer's dashboard shows the scores those answers give, with the charts; a practice set shows the truth after
 * an answer.
 */
describe('training in the browser', () => {
  let service: TestService;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let station: { id: string; apiKey: string };
  let trainerToken: string;
  let trainee: { id: string; username: string };
  let trainerPage: Page;
  /** Archived scans: the two found (with a region in the verdict) first, then three clean ones. */
  const archive: { id: string; found: boolean }[] = [];
  let examSet: SetDetail;
  let examScore: ReturnType<typeof score>;

  beforeAll(async () => {
    ensureWebBuilt();
    const [started, launched] = await Promise.all([startTestService(), launchChromium()]);
    service = started;
    browser = launched;
    station = (await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Valga road 1', country: 'EE', vendor: 'Aurora' } })).body;
    for (const [username, roles] of [['ieva', ['analyst']], ['tiina', ['trainer']], ['toomas', ['trainee']]] as const) {
      const created = await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username, password: PASSWORD, roles } });
      expect(created.status).toBe(201);
    }
    trainerToken = await login('tiina');
    const users = await service.request<{ id: string; username: string }[]>('GET', '/api/v1/users', { token: service.adminToken });
    trainee = users.body.find((user) => user.username === 'toomas')!;

    // five scans, decided by an analyst: two inspected with a region and found, three cleared and clean
    const uploaded: string[] = [];
    for (let i = 0; i < 5; i++) {
      const scan = generateScan({ seed: 60 + i, kind: i % 2 ? 'truck' : 'container', width: 640, height: 200, views: ['top', 'side'] });
      const metadata = { containers: scan.metadata.containers, licencePlates: scan.metadata.licencePlates, declarations: scan.metadata.declarations, declaredGoods: scan.metadata.declaredGoods, riskScore: 20 + i, reference: `lane-1/7${i}` };
      const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(await writeScannerInput('raw:aurora-ax6', scan), metadata) });
      expect(accepted.status).toBe(202);
      uploaded.push(accepted.body.id);
    }
    for (const id of uploaded) expect((await service.waitForScan(id, station.apiKey)).status).toBe('queued');
    const analyst = await login('ieva');
    for (let i = 0; i < uploaded.length; i++) {
      const claimed = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: analyst });
      expect(claimed.status).toBe(200);
      const found = archive.filter((scan) => scan.found).length < 2;
      const regions = found ? [{ view: 'top', x: 200, y: 60, width: 90, height: 50, category: 'narcotics', note: 'dense packages' }] : [];
      const verdict = await service.request<{ final: boolean }>('POST', `/api/v1/scans/${claimed.body.scan.id}/verdict`, { token: analyst, json: { claimId: claimed.body.claimId, decision: found ? 'inspect' : 'clear', regions } });
      expect(verdict.status).toBe(201);
      expect(verdict.body.final).toBe(true);
      const outcome = await service.request('POST', `/api/v1/scans/${claimed.body.scan.id}/outcome`, { token: station.apiKey, json: found ? { found: true, categories: ['narcotics'], note: 'found in the ceiling' } : { found: false } });
      expect(outcome.status).toBe(201);
      archive.push({ id: claimed.body.scan.id, found });
    }
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await service?.close();
  });

  async function login(username: string): Promise<string> {
    const signedIn = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: PASSWORD } });
    expect(signedIn.status).toBe(200);
    return signedIn.body.token;
  }

  async function signIn(username: string, ready: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-GB' });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`browser (${username}): ${message.text()}`);
    });
    await page.goto(service.url);
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector(ready);
    return page;
  }

  async function setDetail(id: string): Promise<SetDetail> {
    const detail = await service.request<SetDetail>('GET', `/api/v1/training/sets/${id}`, { token: trainerToken });
    expect(detail.status).toBe(200);
    return detail.body;
  }

  /** Every view of the shown case has drawn tiles. */
  async function imagesShown(page: Page): Promise<void> {
    await page.waitForFunction(() => {
      const panes = Array.from(document.querySelectorAll<HTMLElement>('.case .view-pane'));
      return panes.length > 0 && panes.every((pane) => Number(pane.dataset.greyTiles) > 0);
    }, undefined, { timeout: WAIT_MS });
  }

  /** Shift+drag a small rectangle around the centre of a truth region (through the 16-bit layer's image-to-screen transform). */
  async function markOver(page: Page, region: Region): Promise<void> {
    const pane = page.locator(`.case .view-pane[data-view="${region.view}"]`);
    const transform = await until(async () => (await pane.getAttribute('data-gl-transform')) || null, `the ${region.view} view to be drawn`, WAIT_MS);
    const [tx, ty, scale] = transform.split(',').map(Number);
    const box = (await pane.boundingBox())!;
    const cx = box.x + tx + (region.x + region.width / 2) * scale;
    const cy = box.y + ty + (region.y + region.height / 2) * scale;
    await markRegion(page, cx, cy, 12, 8, 4);
  }

  async function answerWith(page: Page, key: string): Promise<Response> {
    const [answered] = await Promise.all([page.waitForResponse((response) => /\/api\/v1\/training\/sessions\/[^/]+\/cases\/[^/]+\/answer$/.test(response.url())), page.keyboard.press(key)]);
    expect(answered.status()).toBe(201);
    return answered;
  }

  it('the trainer searches the archive, picks cases and creates an exam set with projected threats for a trainee', async () => {
    trainerPage = await signIn('tiina', '#archive-form');
    const rows = trainerPage.locator('#archive-results tr[data-scan]');
    await until(async () => (await rows.count()) === 5, 'the five archived cases');
    await trainerPage.waitForSelector('#archive-results img.thumb[data-loaded="true"]');

    // the outcome filter: only the two found cases
    await trainerPage.selectOption('#archive-form select[name=outcome]', 'found');
    await trainerPage.click('#archive-search');
    await until(async () => (await rows.count()) === 2, 'the found cases only');
    expect(await rows.evaluateAll((list) => list.map((row) => (row as HTMLElement).dataset.outcome))).toEqual(['found', 'found']);
    // the station filter knows the station from the results
    await trainerPage.selectOption('#archive-form select[name=outcome]', '');
    await trainerPage.selectOption('#archive-form select[name=station]', station.id);
    await trainerPage.click('#archive-search');
    await until(async () => (await rows.count()) === 5, 'every case of the station');

    // pick all of them, compose an exam set: one projected threat, assigned to the trainee
    await trainerPage.check('#pick-all');
    expect(await trainerPage.textContent('#picked-summary')).toContain('5 archived case(s) picked: 2 found, 3 clean');
    await trainerPage.fill('#set-form input[name=name]', 'Week 1 exam');
    await trainerPage.check('#set-form input[name=mode][value=exam]');
    await trainerPage.check('#set-form input[name=threatBy][value=count]');
    await trainerPage.fill('#set-form input[name=projectedCount]', '1');
    await trainerPage.locator('#set-trainees label', { hasText: 'toomas' }).locator('input').check();
    const [created] = await Promise.all([trainerPage.waitForResponse((response) => response.url().endsWith('/api/v1/training/sets') && response.request().method() === 'POST'), trainerPage.click('#create-set')]);
    expect(created.status()).toBe(202);
    const body = (await created.json()) as SetDetail;
    expect(body.mode).toBe('exam');

    // followed until ready: cases ready n / N
    await trainerPage.waitForSelector(`#set-status .set-overview[data-set="${body.id}"]`);
    await trainerPage.waitForSelector(`#set-status .set-overview[data-status="ready"]`, { timeout: WAIT_MS });
    const ready = trainerPage.locator('#cases-ready');
    expect(await ready.getAttribute('data-ready')).toBe(await ready.getAttribute('data-total'));
    examSet = await setDetail(body.id);
    expect(examSet.status).toBe('ready');
    expect(examSet.cases.projected).toBe(1);
    expect(examSet.cases.total).toBe(5);
    expect(examSet.caseList.filter((item) => item.threat)).toHaveLength(3);
    expect(examSet.sessionList.map((session) => session.traineeId)).toEqual([trainee.id]);
    expect(await trainerPage.locator('#set-status tr[data-trainee="toomas"]').count()).toBe(1);
  });

  it('the trainee answers the exam under the TRAINING banner with no feedback and reaches the summary', async () => {
    const page = await signIn('toomas', `#sessions tr[data-session="${examSet.sessionList[0].id}"]`);
    // anything that looks like feedback, at any moment, is recorded
    await page.evaluate(() => {
      const flag = window as unknown as { sawFeedback: boolean };
      flag.sawFeedback = false;
      new MutationObserver(() => {
        if (document.querySelector('.training-feedback, .region.truth')) flag.sawFeedback = true;
      }).observe(document.body, { childList: true, subtree: true });
    });
    await page.click(`#sessions tr[data-session="${examSet.sessionList[0].id}"] button.open-session`);
    const truth = new Map(examSet.caseList.map((item) => [item.id, item]));
    const scored: ScoredAnswer[] = [];
    let marked = false;
    let falseAlarm = false;
    for (let position = 1; position <= examSet.cases.total; position++) {
      await page.waitForSelector(`#case-position[data-position="${position}"]`, { timeout: WAIT_MS });
      const banner = page.getByTestId('training-banner');
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.textContent()).toContain('TRAINING — exam');
      expect(await page.textContent('#case-position')).toBe(`Case ${position} / 5`);
      expect(await page.locator('.case-bar .sla, .badge.stage-first, .badge.stage-second').count()).toBe(0);
      expect(await page.textContent('.declaration')).toContain('Valga road 1');
      await imagesShown(page);
      const caseId = (await page.getAttribute('.case', 'data-training-case'))!;
      const real = truth.get(caseId)!;
      // one threat found where it is (a hit), one clean case sent to inspection (a false alarm), the rest cleared
      let key = 'c';
      if (real.threat && real.regions.length && !marked) {
        await markOver(page, real.regions[0]);
        marked = true;
        key = 'i';
      } else if (!real.threat && !falseAlarm) {
        falseAlarm = true;
        key = 'i';
      }
      const answered = await answerWith(page, key);
      const sent = answered.request().postDataJSON() as Answer;
      const result = (await answered.json()) as { feedback?: unknown; remaining: number; durationMs: number };
      expect(result.feedback).toBeUndefined();
      expect(result.remaining).toBe(examSet.cases.total - position);
      scored.push({ outcome: classifyAnswer(real as CaseTruth, sent), categories: real.categories as CaseTruth['categories'], durationMs: result.durationMs });
    }
    expect(marked && falseAlarm).toBe(true);

    // the summary of the completed session
    await page.waitForSelector('#session-summary[data-status="completed"]', { timeout: WAIT_MS });
    expect(await page.evaluate(() => (window as unknown as { sawFeedback: boolean }).sawFeedback)).toBe(false);
    examScore = score(scored);
    expect(examScore.hits).toBe(1);
    expect(examScore.falseAlarms).toBe(1);
    expect(await page.textContent('#session-summary [data-field=threat-events] strong')).toBe(String(examScore.threatEvents));
    expect(await page.textContent('#session-summary [data-field=hit-rate] strong')).toBe(percent.format(examScore.hitRate!));
    expect(await page.textContent('#session-summary [data-field=false-alarm-rate] strong')).toBe(percent.format(examScore.falseAlarmRate!));
    expect(await page.textContent('#session-summary [data-field=reliability]')).toContain('Fewer than 100 threat events');

    // back in the list: completed, with the score
    await page.click('#session-summary button:has-text("Back to my sessions")');
    await page.waitForSelector(`#sessions tr[data-session="${examSet.sessionList[0].id}"][data-status="completed"]`);
    await page.waitForSelector(`#results tr[data-session="${examSet.sessionList[0].id}"] td[data-field=threat-events]`);
    expect(await page.textContent(`#results tr[data-session="${examSet.sessionList[0].id}"] td[data-field=threat-events]`)).toBe(String(examScore.threatEvents));
  });

  it('the trainer’s dashboard shows the trainee’s scores from those answers, the charts and a CSV export', async () => {
    await trainerPage.click('button.tab[data-tab=dashboard]');
    const row = trainerPage.locator('#trainee-scores tr[data-trainee="toomas"]');
    await row.waitFor({ timeout: WAIT_MS });
    const cell = (field: string) => row.locator(`td[data-field=${field}]`).textContent();
    expect(await cell('threat-events')).toBe(String(examScore.threatEvents));
    expect(await cell('clean-events')).toBe(String(examScore.cleanEvents));
    expect(await cell('hit-rate')).toBe(percent.format(examScore.hitRate!));
    expect(await cell('false-alarm-rate')).toBe(percent.format(examScore.falseAlarmRate!));
    expect(await cell('reliability')).toBe('fewer than 100 threat events: read with care');
    expect(await cell('sessions')).toBe('1');
    const scores = await service.request<{ overall: DetectionScore & { dPrime: number } }>('GET', `/api/v1/training/trainees/${trainee.id}/scores`, { token: trainerToken });
    expect(scores.body.overall).toMatchObject({ threatEvents: examScore.threatEvents, hits: examScore.hits, falseAlarms: examScore.falseAlarms });
    expect(await cell('d-prime')).toBe(scores.body.overall.dPrime.toFixed(2));

    // the charts: d′ of the completed session, hit rate per category
    expect(await trainerPage.locator('svg#dprime-chart g.series[data-series="toomas"] circle.point').count()).toBe(1);
    const point = Number(await trainerPage.getAttribute('svg#dprime-chart circle.point', 'data-value'));
    expect(point).toBeCloseTo(scores.body.overall.dPrime, 2);
    expect(await trainerPage.locator('svg#category-chart g.bar').count()).toBeGreaterThanOrEqual(1);
    expect(await trainerPage.locator('#sets tr[data-set] td[data-field=sessions]').first().textContent()).toBe('1 / 1');

    // the trainee's CSV, downloaded with the bearer token
    const [download] = await Promise.all([trainerPage.waitForEvent('download'), row.locator('a.download').click()]);
    expect(download.suggestedFilename()).toBe('scores-toomas.csv');
    const text = await (await download.createReadStream()).toArray();
    expect(Buffer.concat(text).toString('utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(2);
  });

  it('the trainer adds a threat item with the upload form and retires it', async () => {
    // two 16-bit planes (a dense block in air) as the trainer's files
    const [width, height] = [64, 48];
    const plane = (inside: number) => {
      const pixels = new Uint16Array(width * height).fill(60000);
      for (let y = 12; y < 36; y++) for (let x = 16; x < 48; x++) pixels[y * width + x] = inside;
      return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    };
    await trainerPage.click('button.tab[data-tab=library]');
    await trainerPage.waitForSelector('#threat-items .threat-card');
    const form = trainerPage.locator('#threat-form');
    await form.locator('input[name=name]').fill('Steel box');
    await form.locator('select[name=category]').selectOption('concealment');
    await form.locator('input[name=description]').fill('a welded box, 24 × 32 px');
    await form.locator('input[name=pixelSpacingMm]').fill('2');
    await form.locator('input[name=high]').setInputFiles({ name: 'high.png', mimeType: 'image/png', buffer: await plane(20000) });
    await form.locator('input[name=low]').setInputFiles({ name: 'low.png', mimeType: 'image/png', buffer: await plane(14000) });
    const [added] = await Promise.all([trainerPage.waitForResponse((response) => response.url().endsWith('/api/v1/training/threat-items') && response.request().method() === 'POST'), form.locator('button[type=submit]').click()]);
    expect(added.status()).toBe(201);
    const item = (await added.json()) as { id: string; source: string; width: number; height: number };
    expect(item).toMatchObject({ source: 'upload', width, height });
    const card = trainerPage.locator(`#threat-items .threat-card[data-item="${item.id}"]`);
    await card.locator('img[data-loaded="true"]').waitFor();
    expect(await card.textContent()).toContain('concealment');

    // retired: kept in the library (dimmed), gone from the items offered for new sets
    await card.locator('button.retire').click();
    await trainerPage.waitForSelector(`#threat-items .threat-card[data-item="${item.id}"][data-retired="true"]`);
    const active = await service.request<{ id: string }[]>('GET', '/api/v1/training/threat-items', { token: trainerToken });
    expect(active.body.map((listed) => listed.id)).not.toContain(item.id);
    await trainerPage.click('button.tab[data-tab=build]');
    await until(async () => (await trainerPage.locator(`#set-items input[value="${item.id}"]`).count()) === 0 && (await trainerPage.locator('#set-items input').count()) > 0, 'the composer to drop the retired item');
  });

  it('practice mode shows the outcome and the truth regions after an answer (identities hidden)', async () => {
    const foundId = archive.find((scan) => scan.found)!.id;
    const created = await service.request<SetDetail>('POST', '/api/v1/training/sets', { token: trainerToken, json: { name: 'Practice: narcotics', mode: 'practice', hideIdentity: true, archivedScanIds: [foundId], projectedCount: 0, traineeIds: [trainee.id] } });
    expect(created.status).toBe(202);
    const practice = await until(async () => {
      const detail = await setDetail(created.body.id);
      return detail.status === 'ready' ? detail : null;
    }, 'the practice set to be ready', WAIT_MS);
    const sessionId = practice.sessionList[0].id;

    const page = await signIn('toomas', `#sessions tr[data-session="${sessionId}"] button.open-session`);
    await page.click(`#sessions tr[data-session="${sessionId}"] button.open-session`);
    await page.waitForSelector('#case-position[data-position="1"]');
    expect(await page.getByTestId('training-banner').textContent()).toContain('TRAINING — practice');
    // the set hides identities: no station name anywhere on the case
    expect(await page.textContent('.case')).not.toContain('Valga road 1');
    await imagesShown(page);
    const answered = await answerWith(page, 'c');
    const result = (await answered.json()) as { feedback: { outcome: string; regions: Region[] } };
    expect(result.feedback.outcome).toBe('miss');
    expect(result.feedback.regions).toHaveLength(1);

    // the feedback: the outcome, the truth outlined on the image, a way on; the decisions are closed
    const feedback = page.locator('.training-feedback');
    await feedback.waitFor();
    expect(await feedback.getAttribute('data-outcome')).toBe('miss');
    expect(await feedback.textContent()).toContain('narcotics');
    await page.waitForSelector('.view-pane[data-view="top"] .region.truth');
    expect(await page.locator('.region.truth').count()).toBe(1);
    expect(await page.locator('button.decide:not([disabled])').count()).toBe(0);

    // next: the session was the one case, so the summary
    await page.keyboard.press('n');
    await page.waitForSelector(`#session-summary[data-session="${sessionId}"][data-status="completed"]`);
    expect(await page.textContent('#session-summary [data-field=threat-events] strong')).toBe('1');
  });

  (SCREENSHOTS ? it : it.skip)('writes screenshots of the trainer dashboard and a trainee session', async () => {
    const files = await writeTrainingScreenshots(
      { service, browser, trainer: { username: 'tiina', password: PASSWORD }, archivedScanIds: archive.map((scan) => scan.id), password: PASSWORD },
      path.resolve(SCREENSHOTS ?? '.'),
    );
    expect(files.map((file) => path.basename(file))).toEqual(['trainer.png', 'trainee.png']);
  }, 300_000);
});
