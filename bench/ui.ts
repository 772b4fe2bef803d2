import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { launchChromium } from '../test/ui/browser.js';
import { startServiceProcess } from '../test/processes.js';
import { percentile } from './stats.js';
import { deleteRedisKeys } from '../test/redis.js';

const ADMIN_PASSWORD = 'bench-admin-password';
const ANALYST_PASSWORD = 'bench-analyst-password';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ViewerFigures {
  claimToFirstTilesP50: number;
  claimToFirstTilesP95: number;
  windowLevelRepaintP50: number;
  windowLevelRepaintP95: number;
  /** Claim → every 16-bit tile of the fitted view drawn by the WebGL layer (includes the service building the 16-bit pyramid on first use). */
  claimToSixteenBitP50: number;
  claimToSixteenBitP95: number;
  samples: { claimToFirstTiles: number[]; claimToSixteenBit: number[]; windowLevelRepaint: number[]; width: number; height: number; viewport: string };
}

async function json<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A distinct upload of the same pixels: the Aurora header's acquisition time differs (as in bench/run.ts). */
function variant(template: { name: string; data: Buffer }[], n: number): { name: string; data: Buffer }[] {
  return template.map((file) => {
    const data = Buffer.from(file.data);
    data.writeBigUInt64LE(BigInt(1_770_000_000 + n), 16);
    return { name: file.name.replace(/(\.\w+)$/, `-${n}$1`), data };
  });
}

/**
 * The analyst viewer in headless Chromium (WebGL2 on SwiftShader, 1920 x 1080) against the built service on
 * loopback: claim (key N) → first tiles drawn in every view (the viewer's data-first-tiles mark, the 8-bit first
 * paint), over `cases` generated 8000 x 2500 dual-energy scans; and window/level preset key → the next frame after
 * the 16-bit WebGL layer redrew with the new uniforms (data-drawn-serial, then one requestAnimationFrame), over
 * `changes` changes once every 16-bit tile is in. Needs `npm run build` (service and web/dist).
 */
export async function benchViewer(log: (line: string) => void, options = { cases: 10, changes: 30, width: 8000, height: 2500 }): Promise<ViewerFigures> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-ui-'));
  const prefix = `niixbench${randomBytes(3).toString('hex')}`;
  log(`viewer: generating a ${options.width} x ${options.height} dual-energy scan`);
  const scan = generateScan({ seed: 2026, kind: 'container', width: options.width, height: options.height, concealed: 2 });
  const template = await writeScannerInput('raw:aurora-ax6', scan);
  const service = await startServiceProcess({ NIIX_DATA_DIR: dataDir, REDIS_URL, NIIX_REDIS_PREFIX: prefix, NIIX_ADMIN_PASSWORD: ADMIN_PASSWORD, NIIX_LOG_LEVEL: 'warn' });
  const browser = await launchChromium();
  try {
    const url = service.url;
    const admin = (await json<{ token: string }>(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) })).body.token;
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${admin}` };
    const station = await json<{ apiKey: string }>(`${url}/api/v1/stations`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Bench viewer lane', country: 'EE' }) });
    if (station.status !== 201) throw new Error(`creating the station: ${station.status}`);
    const user = await json(`${url}/api/v1/users`, { method: 'POST', headers: auth, body: JSON.stringify({ username: 'bench-analyst', password: ANALYST_PASSWORD, roles: ['analyst'] }) });
    if (user.status !== 201) throw new Error(`creating the analyst: ${user.status}`);

    log(`viewer: uploading ${options.cases} scans`);
    for (let n = 0; n < options.cases; n++) {
      const form = new FormData();
      for (const file of variant(template, n)) form.append('file', new Blob([Uint8Array.prototype.slice.call(file.data)]), file.name);
      const accepted = await json<{ id: string }>(`${url}/api/v1/scans`, { method: 'POST', headers: { authorization: `Bearer ${station.body.apiKey}` }, body: form });
      if (accepted.status !== 202) throw new Error(`upload answered ${accepted.status}`);
      for (;;) {
        const state = await json<{ status: string }>(`${url}/api/v1/scans/${accepted.body.id}`, { headers: { authorization: `Bearer ${station.body.apiKey}` } });
        if (state.body.status === 'failed') throw new Error('a bench scan failed to convert');
        if (state.body.status === 'queued') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(url);
    await page.fill('input[name=username]', 'bench-analyst');
    await page.fill('input[name=password]', ANALYST_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#next-case');
    const gl = await page.evaluate(() => !!document.createElement('canvas').getContext('webgl2'));
    if (!gl) throw new Error('no WebGL2 in this Chromium: check the flags');

    const claims: number[] = [];
    const sixteen: number[] = [];
    const repaints: number[] = [];
    for (let n = 0; n < options.cases; n++) {
      const { first: ms, full } = await page.evaluate(
        () =>
          new Promise<{ first: number; full: number }>((resolve, reject) => {
            const start = performance.now();
            document.dispatchEvent(new KeyboardEvent('keydown', { key: 'n', bubbles: true }));
            let first = 0;
            const poll = () => {
              const mark = document.querySelector<HTMLElement>('.scan-viewer')?.dataset.firstTiles;
              if (mark && !first) first = Number(mark) - start;
              const panes = Array.from(document.querySelectorAll<HTMLElement>('.view-pane'));
              if (first && panes.length && panes.every((pane) => pane.dataset.gl === 'on' && Number(pane.dataset.glTiles) > 0 && pane.dataset.glPending === '0')) {
                return resolve({ first, full: performance.now() - start });
              }
              if (performance.now() - start > 30_000) return reject(new Error('no tiles within 30 s'));
              setTimeout(poll, 2);
            };
            poll();
          }),
      );
      claims.push(ms);
      sixteen.push(full);
      log(`viewer: case ${n + 1}: claim → first tiles ${ms.toFixed(0)} ms, → all 16-bit tiles ${full.toFixed(0)} ms`);
      if (n === options.cases - 1) break;
      await page.keyboard.press('c');
      await page.waitForSelector('#next-case');
    }

    // every 16-bit tile of the fit view in, then window/level presets round and round
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll<HTMLElement>('.view-pane')).every((pane) => pane.dataset.gl === 'on' && Number(pane.dataset.glTiles) > 0 && pane.dataset.glPending === '0'),
      undefined,
      { timeout: 60_000, polling: 50 },
    );
    const keys = ['s', 'd', 'f', 'a'];
    for (let i = 0; i < options.changes; i++) {
      const ms = await page.evaluate(
        (key) =>
          new Promise<number>((resolve, reject) => {
            const viewer = document.querySelector<HTMLElement>('.scan-viewer')!;
            const start = performance.now();
            document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
            const target = viewer.dataset.toolSerial;
            const poll = () => {
              if (viewer.dataset.drawnSerial === target) return requestAnimationFrame(() => resolve(performance.now() - start));
              if (performance.now() - start > 10_000) return reject(new Error('no repaint within 10 s'));
              requestAnimationFrame(poll);
            };
            requestAnimationFrame(poll);
          }),
        keys[i % keys.length],
      );
      repaints.push(ms);
    }
    log(`viewer: window/level repaint p50 ${percentile(repaints, 50).toFixed(1)} ms, p95 ${percentile(repaints, 95).toFixed(1)} ms`);
    await context.close();
    return {
      claimToFirstTilesP50: percentile(claims, 50),
      claimToFirstTilesP95: percentile(claims, 95),
      windowLevelRepaintP50: percentile(repaints, 50),
      windowLevelRepaintP95: percentile(repaints, 95),
      claimToSixteenBitP50: percentile(sixteen, 50),
      claimToSixteenBitP95: percentile(sixteen, 95),
      samples: { claimToFirstTiles: claims, claimToSixteenBit: sixteen, windowLevelRepaint: repaints, width: options.width, height: options.height, viewport: '1920 x 1080' },
    };
  } finally {
    await browser.close();
    await service.stop();
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
