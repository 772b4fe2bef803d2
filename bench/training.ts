import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { startServiceProcess } from '../test/processes.js';
import { percentile, seconds } from './stats.js';
import { deleteRedisKeys } from '../test/redis.js';
import type { NextCaseResponse as NextCase, SetDetail } from '../src/training/training.contract.js';

const ADMIN_PASSWORD = 'bench-admin-password';
const USER_PASSWORD = 'bench-user-password';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Within 5 minutes: "a trainer builds an exercise from real archived cases in minutes". */
const SET_READY_TARGET_MS = 5 * 60_000;
/** The viewer pane the first grey tile is fetched for: the pyramid level whose width fits it. */
const PANE_WIDTH = 1920;

export interface TrainingOptions {
  /** Archived cases in the set (decided clear, station outcome found: false). */
  cases: number;
  /** Of them, how many get a projected threat. */
  projected: number;
  width: number;
  height: number;
  /** Calls of each trainer score route. */
  scoreCalls: number;
}

export interface TrainingFigures {
  options: TrainingOptions;
  convertConcurrency: number;
  /** Uploading, queuing, deciding and reporting the outcome of the archive (not a target, context only). */
  archiveMs: number;
  createAckMs: number;
  setReadyMs: number;
  /** setReadyMs / projected. */
  perProjectedMs: number;
  /** Time between successive projected cases turning ready (the first counts from the POST). */
  projectionStepsMs: number[];
  nextMs: number[];
  answerMs: number[];
  firstTileMs: number[];
  scoresMs: number[];
  dashboardMs: number[];
  outcomes: Record<string, number>;
  peakRssMb: number;
}

export interface TrainingResult {
  figures: TrainingFigures;
  /** "## Training" with its table, for docs/benchmarks.md. */
  section: string;
}

async function call<T>(url: string, method: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: T; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const ms = performance.now() - started;
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, body: parsed as T, ms };
}

function expect(status: number, wanted: number, what: string, body: unknown): void {
  if (status !== wanted) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
}

/** A distinct upload of the same pixels: the Aurora header's acquisition time differs (as in bench/run.ts). */
function variant(template: { name: string; data: Buffer }[], n: number): { name: string; data: Buffer }[] {
  return template.map((file) => {
    const data = Buffer.from(file.data);
    data.writeBigUInt64LE(BigInt(1_780_000_000 + n), 16);
    return { name: file.name.replace(/(\.\w+)$/, `-${n}$1`), data };
  });
}

/** A Deep Zoom descriptor's geometry. */
function parseDzi(xml: string): { tileSize: number; format: string; width: number; height: number } {
  const attr = (name: string) => new RegExp(`${name}="([^"]+)"`).exec(xml)?.[1];
  const tileSize = Number(attr('TileSize'));
  const format = attr('Format') ?? 'jpeg';
  const width = Number(attr('Width'));
  const height = Number(attr('Height'));
  if (!tileSize || !width || !height) throw new Error(`not a Deep Zoom descriptor: ${xml.slice(0, 200)}`);
  return { tileSize, format, width, height };
}

/** The level whose width fits a pane of `pane` px (the viewer's fitted first paint); level max is full size. */
function fittedLevel(width: number, height: number, pane: number): number {
  const max = Math.ceil(Math.log2(Math.max(width, height)));
  let level = max;
  while (level > 0 && Math.ceil(width / 2 ** (max - level)) > pane) level--;
  return level;
}

export function trainingOptionsFromEnv(): TrainingOptions {
  return {
    cases: Number(process.env.BENCH_TRAINING_CASES ?? 12),
    projected: Number(process.env.BENCH_TRAINING_PROJECTED ?? 8),
    width: Number(process.env.BENCH_WIDTH ?? 8000),
    height: Number(process.env.BENCH_HEIGHT ?? 2500),
    scoreCalls: 20,
  };
}

/**
 * Training, against the built service as its own process on its embedded defaults: an archive of generated
 * dual-energy container scans (uploaded, decided clear by an analyst, outcome "nothing found" reported by the
 * station), then a trainer's exam set over all of them with `projected` threats projected (POST → set ready),
 * a trainee working through the session (next case, first grey tile, answer), and the trainer's score routes.
 * Needs `npm run build` (dist/src/main.js).
 */
export async function benchTraining(log: (line: string) => void, options: TrainingOptions = trainingOptionsFromEnv()): Promise<TrainingResult> {
  if (options.projected > options.cases) throw new Error(`BENCH_TRAINING_PROJECTED (${options.projected}) exceeds BENCH_TRAINING_CASES (${options.cases})`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-training-'));
  const prefix = `niixbench${randomBytes(3).toString('hex')}`;
  log(`training: generating a ${options.width} x ${options.height} dual-energy container scan`);
  const scan = generateScan({ seed: 2027, kind: 'container', width: options.width, height: options.height, concealed: 0 });
  const template = await writeScannerInput('raw:aurora-ax6', scan);
  const service = await startServiceProcess({ NIIX_DATA_DIR: dataDir, REDIS_URL, NIIX_REDIS_PREFIX: prefix, NIIX_ADMIN_PASSWORD: ADMIN_PASSWORD, NIIX_LOG_LEVEL: 'warn' });
  try {
    const url = service.url;
    const login = async (username: string, password: string) => {
      const response = await call<{ token: string }>(`${url}/api/v1/auth/login`, 'POST', undefined, { username, password });
      expect(response.status, 200, `login of ${username}`, response.body);
      return response.body.token;
    };
    const admin = await login('admin', ADMIN_PASSWORD);
    const station = await call<{ apiKey: string }>(`${url}/api/v1/stations`, 'POST', admin, { name: 'Bench training lane', country: 'EE' });
    expect(station.status, 201, 'creating the station', station.body);
    const stationKey = station.body.apiKey;
    const users: Record<'analyst' | 'trainer' | 'trainee', { id: string; token: string }> = {} as never;
    for (const role of ['analyst', 'trainer', 'trainee'] as const) {
      const created = await call<{ id: string }>(`${url}/api/v1/users`, 'POST', admin, { username: `bench-${role}`, password: USER_PASSWORD, roles: [role] });
      expect(created.status, 201, `creating the ${role}`, created.body);
      users[role] = { id: created.body.id, token: await login(`bench-${role}`, USER_PASSWORD) };
    }

    log(`training: archive of ${options.cases} scans (upload → queued → claimed → clear → outcome: nothing found)`);
    const archiveStarted = performance.now();
    const archived: string[] = [];
    for (let n = 0; n < options.cases; n++) {
      const form = new FormData();
      for (const file of variant(template, n)) form.append('file', new Blob([Uint8Array.prototype.slice.call(file.data)]), file.name);
      const accepted = await fetch(`${url}/api/v1/scans`, { method: 'POST', headers: { authorization: `Bearer ${stationKey}` }, body: form });
      const acceptedBody = (await accepted.json()) as { id: string };
      expect(accepted.status, 202, 'upload', acceptedBody);
      const scanId = acceptedBody.id;
      for (;;) {
        const state = await call<{ status: string }>(`${url}/api/v1/scans/${scanId}`, 'GET', stationKey);
        if (state.body.status === 'failed') throw new Error(`bench scan ${scanId} failed to convert`);
        if (state.body.status === 'queued') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // the pool holds only this scan now, so the claim is for it; the service marks a scan `queued` just before it
      // puts it into the pool, so a claim right after may still find the pool empty (204): try again shortly
      let claimed = await call<{ claimId: string; scan: { id: string } }>(`${url}/api/v1/worklist/claim`, 'POST', users.analyst.token);
      for (let tries = 0; claimed.status === 204 && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        claimed = await call(`${url}/api/v1/worklist/claim`, 'POST', users.analyst.token);
      }
      expect(claimed.status, 200, 'claim', claimed.body);
      if (claimed.body.scan.id !== scanId) throw new Error(`claimed ${claimed.body.scan.id}, expected ${scanId}`);
      const verdict = await call<{ final: boolean }>(`${url}/api/v1/scans/${scanId}/verdict`, 'POST', users.analyst.token, { claimId: claimed.body.claimId, decision: 'clear' });
      expect(verdict.status, 201, 'verdict', verdict.body);
      if (!verdict.body.final) throw new Error('the verdict went for a second opinion: the default pool should not ask for one');
      const outcome = await call(`${url}/api/v1/scans/${scanId}/outcome`, 'POST', stationKey, { found: false });
      expect(outcome.status, 201, 'outcome', outcome.body);
      archived.push(scanId);
    }
    const archiveMs = performance.now() - archiveStarted;
    log(`training: archive ready in ${seconds(archiveMs)} s`);

    log(`training: exam set of ${options.cases} cases, ${options.projected} with a projected threat`);
    const setStarted = performance.now();
    const created = await call<SetDetail>(`${url}/api/v1/training/sets`, 'POST', users.trainer.token, {
      name: 'Bench exam',
      mode: 'exam',
      archivedScanIds: archived,
      projectedCount: options.projected,
      traineeIds: [users.trainee.id],
      seed: 2027,
    });
    expect(created.status, 202, 'creating the set', created.body);
    const createAckMs = created.ms;
    const setId = created.body.id;
    const readySteps: number[] = [];
    const archivedReady = options.cases - options.projected;
    let seenReady = archivedReady;
    let detail: SetDetail = created.body;
    for (;;) {
      const polled = await call<SetDetail>(`${url}/api/v1/training/sets/${setId}`, 'GET', users.trainer.token);
      expect(polled.status, 200, 'reading the set', polled.body);
      detail = polled.body;
      const now = performance.now() - setStarted;
      // one step per projected case that turned ready since the last poll
      while (seenReady < detail.cases.ready) {
        readySteps.push(now);
        seenReady++;
      }
      if (detail.status === 'failed') throw new Error(`the set failed: ${detail.failureMessage ?? ''}`);
      if (detail.status === 'ready') break;
      if (now > 30 * 60_000) throw new Error('the set was not ready within 30 minutes');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const setReadyMs = performance.now() - setStarted;
    const projectionStepsMs = readySteps.map((at, i) => at - (i === 0 ? 0 : readySteps[i - 1]));
    log(`training: set ready in ${seconds(setReadyMs)} s`);

    log('training: the trainee works through the session');
    const truth = new Map(detail.caseList.map((entry) => [entry.id, entry]));
    const sessions = await call<{ id: string; setId: string }[]>(`${url}/api/v1/training/my/sessions`, 'GET', users.trainee.token);
    expect(sessions.status, 200, 'my sessions', sessions.body);
    const session = sessions.body.find((candidate) => candidate.setId === setId);
    if (!session) throw new Error('the trainee has no session of the bench set');
    const nextMs: number[] = [];
    const answerMs: number[] = [];
    const firstTileMs: number[] = [];
    const outcomes: Record<string, number> = {};
    for (;;) {
      const next = await call<NextCase>(`${url}/api/v1/training/sessions/${session.id}/next`, 'POST', users.trainee.token);
      if (next.status === 204) break;
      expect(next.status, 200, 'next case', next.body);
      nextMs.push(next.ms);
      const caseId = next.body.case.caseId;
      const view = next.body.case.manifest.views[0];

      // the viewer's first grey paint: the descriptor, then a tile of the level that fits the pane
      const tileStarted = performance.now();
      const dziResponse = await fetch(`${url}/api/v1/training/cases/${caseId}/views/${view.id}/tiles.dzi`, { headers: { authorization: `Bearer ${users.trainee.token}` } });
      const dziText = await dziResponse.text();
      expect(dziResponse.status, 200, 'tiles.dzi', dziText.slice(0, 200));
      const dzi = parseDzi(dziText);
      const level = fittedLevel(dzi.width, dzi.height, PANE_WIDTH);
      const tileResponse = await fetch(`${url}/api/v1/training/cases/${caseId}/views/${view.id}/tiles_files/${level}/0_0.${dzi.format}`, { headers: { authorization: `Bearer ${users.trainee.token}` } });
      const tile = Buffer.from(await tileResponse.arrayBuffer());
      expect(tileResponse.status, 200, `tile ${level}/0_0`, tile.subarray(0, 200).toString());
      if (tile.length === 0) throw new Error('an empty tile');
      firstTileMs.push(performance.now() - tileStarted);

      // answers follow the truth (the trainer's view of the set): inspect marking a threat, clear a clean case
      const known = truth.get(caseId);
      if (!known) throw new Error(`case ${caseId} is not in the trainer's view of the set`);
      const region = known.regions[0] ?? { view: view.id, x: 0, y: 0, width: view.width, height: view.height, category: known.categories[0] ?? 'other' };
      const body = known.threat
        ? { decision: 'inspect', regions: [{ view: region.view, x: region.x, y: region.y, width: region.width, height: region.height, category: region.category, note: 'bench' }] }
        : { decision: 'clear', regions: [] };
      const answered = await call<{ remaining: number }>(`${url}/api/v1/training/sessions/${session.id}/cases/${caseId}/answer`, 'POST', users.trainee.token, body);
      expect(answered.status, 201, 'answer', answered.body);
      answerMs.push(answered.ms);
      const kind = known.threat ? 'threat' : 'clean';
      outcomes[kind] = (outcomes[kind] ?? 0) + 1;
    }
    if (nextMs.length !== options.cases) throw new Error(`the session showed ${nextMs.length} cases, the set has ${options.cases}`);

    log(`training: the trainer reads scores and the dashboard (${options.scoreCalls} calls each)`);
    const scoresMs: number[] = [];
    const dashboardMs: number[] = [];
    for (let i = 0; i < options.scoreCalls; i++) {
      const scores = await call<{ overall: { threatEvents: number } }>(`${url}/api/v1/training/sets/${setId}/scores`, 'GET', users.trainer.token);
      expect(scores.status, 200, 'set scores', scores.body);
      if (scores.body.overall.threatEvents !== options.projected) throw new Error(`the set scores count ${scores.body.overall.threatEvents} threat events, expected ${options.projected}`);
      scoresMs.push(scores.ms);
    }
    for (let i = 0; i < options.scoreCalls; i++) {
      const dashboard = await call(`${url}/api/v1/training/dashboard`, 'GET', users.trainer.token);
      expect(dashboard.status, 200, 'dashboard', dashboard.body);
      dashboardMs.push(dashboard.ms);
    }

    const figures: TrainingFigures = {
      options,
      convertConcurrency: Number(process.env.NIIX_CONVERT_CONCURRENCY ?? 1),
      archiveMs,
      createAckMs,
      setReadyMs,
      perProjectedMs: options.projected > 0 ? setReadyMs / options.projected : Number.NaN,
      projectionStepsMs,
      nextMs,
      answerMs,
      firstTileMs,
      scoresMs,
      dashboardMs,
      outcomes,
      peakRssMb: service.peakRss() / 1024 ** 2,
    };
    return { figures, section: trainingSection(figures) };
  } finally {
    await service.stop();
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function ms(values: number[], digits = 1): string {
  return `p50 ${percentile(values, 50).toFixed(digits)} ms, p95 ${percentile(values, 95).toFixed(digits)} ms`;
}

/** The "## Training" section of docs/benchmarks.md (starts with a newline, as the other inserted sections). */
export function trainingSection(figures: TrainingFigures, note = ''): string {
  const { options } = figures;
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  const met = figures.setReadyMs <= SET_READY_TARGET_MS;
  return `
## Training
${note ? `${note}\n` : ''}The built service as its own process on its embedded defaults (PGlite, local object storage, Redis).
The archive: ${options.cases} generated ${options.width} x ${options.height} dual-energy container scans (Aurora AX6 raw), each
uploaded, decided \`clear\` by an analyst and reported "nothing found" by the station (${seconds(figures.archiveMs)} s in all, not a
figure below). A trainer then builds an exam set of all ${options.cases}, ${options.projected} of them with a projected threat
(\`projectedCount\`), assigned to one trainee. Set ready is timed from the POST to the first poll (every 100 ms) that
reads \`ready\`. Each projected case is a ProjectThreat job on the \`render\` queue, which a process runs one at a time
(NIIX_CONVERT_CONCURRENCY=${figures.convertConcurrency}): set ready grows with the number of projected cases, and more \`convert\`
instances share them. The trainee then asks for each case, fetches its first grey tile (the view's \`tiles.dzi\` and
tile 0_0 of the level that fits a ${PANE_WIDTH} px pane) and answers it (\`inspect\` marking the threat, \`clear\` otherwise);
the trainer reads the set's scores and the dashboard ${options.scoreCalls} times each.

| measure | result | target | |
|---|---|---|---|
| set of ${options.cases} cases (${options.projected} projected): POST → \`ready\` | ${seconds(figures.setReadyMs)} s | set of ${options.cases} cases ready ≤ 5 min | ${mark(met)} |
| per projected case (set ready / ${options.projected}) | ${seconds(figures.perProjectedMs)} s (between cases turning ready: p50 ${seconds(percentile(figures.projectionStepsMs, 50))} s, p95 ${seconds(percentile(figures.projectionStepsMs, 95))} s) | | |
| POST /training/sets (202) | ${figures.createAckMs.toFixed(0)} ms | | |
| trainee: POST /sessions/{id}/next (${figures.nextMs.length} cases) | ${ms(figures.nextMs)} | | |
| trainee: first grey tile (tiles.dzi + one tile) | ${ms(figures.firstTileMs)} | | |
| trainee: POST /sessions/{id}/cases/{caseId}/answer | ${ms(figures.answerMs)} | | |
| trainer: GET /training/sets/{id}/scores (${figures.scoresMs.length} calls) | ${ms(figures.scoresMs)} | | |
| trainer: GET /training/dashboard (${figures.dashboardMs.length} calls) | ${ms(figures.dashboardMs)} | | |
| peak memory (RSS) of the service process | ${figures.peakRssMb.toFixed(0)} MB | | |
`;
}
