import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { attenuationLut, greyLut } from '../../libs/imaging/src/display.js';
import { type MaterialColourClass, classifyColour, materialMap } from '../../libs/imaging/src/material-map.js';
import { type SyntheticScan, generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';
import { ensureWebBuilt, launchChromium } from './browser.js';

const PASSWORD = 'analyst-password-1';
/** Set NIIX_UI_SCREENSHOTS=<folder> to keep a screenshot of the material colouring (for review). */
const SCREENSHOTS = process.env.NIIX_UI_SCREENSHOTS;
const WIDTH = 1200;
const HEIGHT = 400;


interface Probe {
  material: MaterialColourClass;
  x: number;
  y: number;
  /** The 16-bit high value there. */
  high: number;
}

/**
 * Points (full-resolution image pixels of the side view) where the service's own material map (material-map.ts, CPU)
 * gives one class over an 11 x 11 neighbourhood at mid brightness: the oracle for the shader's colours.
 */
function probes(scan: SyntheticScan): Probe[] {
  const view = scan.views[0];
  const high = view.planes.find((plane) => plane.energy === 'high')!.data;
  const low = view.planes.find((plane) => plane.energy === 'low')!.data;
  const grey = greyLut(view.airValue);
  const rgb = materialMap(high, low, view.airValue, grey);
  const classAt = (x: number, y: number) => {
    const i = (y * view.width + x) * 3;
    return classifyColour(rgb[i], rgb[i + 1], rgb[i + 2]);
  };
  const found: Probe[] = [];
  for (const material of ['organic', 'mixed', 'metal'] as const) {
    search: for (const object of scan.objects.filter((candidate) => candidate.view === view.id && candidate.material === material)) {
      for (let y = object.y + 6; y < object.y + object.height - 6; y += 3) {
        for (let x = object.x + 6; x < object.x + object.width - 6; x += 3) {
          const g = grey[high[y * view.width + x]];
          if (g < 60 || g > 200) continue;
          let uniform = true;
          for (let dy = -5; dy <= 5 && uniform; dy++) for (let dx = -5; dx <= 5 && uniform; dx++) uniform = classAt(x + dx, y + dy) === material;
          if (uniform) {
            found.push({ material, x, y, high: high[y * view.width + x] });
            break search;
          }
        }
      }
    }
  }
  return found;
}

/** The first seed whose side view has an organic, a mixed and a metal probe. */
function sceneWithThreeClasses(): { scan: SyntheticScan; points: Probe[] } {
  for (let seed = 1; seed < 60; seed++) {
    const scan = generateScan({ seed, kind: 'container', width: WIDTH, height: HEIGHT, views: ['side'] });
    const points = probes(scan);
    if (points.length === 3) return { scan, points };
  }
  throw new Error('no seed below 60 gives the three material classes');
}

/**
 * The image tools on the 16-bit data in headless Chromium (WebGL2 on SwiftShader): the shader's grey equals the
 * window/level formula on the exact 16-bit value, a window/level change (preset key and right-button drag) changes
 * the pixels without fetching tiles, material colouring shows organic, mixed and metal where the service's material
 * map does, the single-material filter greys the others, and the ruler measures in millimetres.
 */
describe('16-bit image tools in the browser', () => {
  let service: TestService;
  let browser: Browser;
  let page: Page;
  let points: Probe[];
  let scan: SyntheticScan;
  /** The manifest's pixel spacing (the scanner format's, not the generator's). */
  let spacing: { x: number; y: number };

  beforeAll(async () => {
    ensureWebBuilt();
    const found = sceneWithThreeClasses();
    scan = found.scan;
    points = found.points;
    const [started, launched] = await Promise.all([startTestService(), launchChromium()]);
    service = started;
    browser = launched;
    const station = (await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Koidula rail', country: 'EE', vendor: 'Aurora' } })).body;
    const created = await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'mari', password: PASSWORD, roles: ['analyst'] } });
    expect(created.status).toBe(201);
    const files = await writeScannerInput('raw:aurora-ax6', scan);
    const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files, { riskScore: 50 }) });
    expect(accepted.status).toBe(202);
    expect((await service.waitForScan(accepted.body.id, station.apiKey)).status).toBe('queued');

    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-GB', deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`browser: ${message.text()}`);
    });
    await page.goto(service.url);
    await page.fill('input[name=username]', 'mari');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#next-case');
    const [claim] = await Promise.all([page.waitForResponse((response) => response.url().endsWith('/api/v1/worklist/claim')), page.keyboard.press('n')]);
    const claimed = (await claim.json()) as { scan: { manifest: { views: { pixelSpacingMm: { x: number; y: number } }[] } } };
    spacing = claimed.scan.manifest.views[0].pixelSpacingMm;
    await page.waitForSelector('.case .view-pane[data-view="side"]');
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  /** Waits until the tool state is drawn from 16-bit tiles with nothing left to fetch (conditions, no sleeps). */
  async function settled(): Promise<void> {
    await page.waitForFunction(
      () => {
        const viewer = document.querySelector<HTMLElement>('.scan-viewer');
        const pane = document.querySelector<HTMLElement>('.view-pane[data-view="side"]');
        return (
          !!viewer &&
          !!pane &&
          pane.dataset.gl === 'on' &&
          Number(pane.dataset.glTiles) > 0 &&
          pane.dataset.glPending === '0' &&
          pane.dataset.glLevel === pane.dataset.glMaxLevel &&
          viewer.dataset.drawnSerial === (viewer.dataset.toolSerial ?? '0')
        );
      },
      undefined,
      { timeout: 20_000, polling: 50 },
    );
  }

  /**
   * Screen position (page px) of an image pixel of the side view, from the layer's transform, and the image pixel
   * whose value that screen pixel shows (the transform maps the screen pixel's centre back into the image).
   */
  async function screenPoint(x: number, y: number): Promise<{ x: number; y: number; shows: number }> {
    const pane = page.locator('.view-pane[data-view="side"]');
    const box = (await pane.boundingBox())!;
    const [ox, oy, scale] = (await pane.getAttribute('data-gl-transform'))!.split(',').map(Number);
    const sx = Math.floor(box.x + ox + (x + 0.5) * scale);
    const sy = Math.floor(box.y + oy + (y + 0.5) * scale);
    const ix = Math.floor((sx + 0.5 - box.x - ox) / scale);
    const iy = Math.floor((sy + 0.5 - box.y - oy) / scale);
    return { x: sx, y: sy, shows: iy * WIDTH + ix };
  }

  /** The grey the shader must give a 16-bit value for a window (log-attenuation centre and width). */
  function expectedGrey(index: number, level: number, window: number): number {
    const view = scan.views[0];
    const high = view.planes.find((plane) => plane.energy === 'high')!.data[index];
    const a = attenuationLut(view.airValue)[high];
    return Math.round(255 * Math.min(1, Math.max(0, 1 - (a - (level - window / 2)) / window)));
  }

  /** RGB of the page pixel at each point (one screenshot). */
  async function pixels(at: { x: number; y: number }[]): Promise<[number, number, number][]> {
    const png = await page.screenshot({ type: 'png' });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    return at.map(({ x, y }) => {
      const i = (y * info.width + x) * info.channels;
      return [data[i], data[i + 1], data[i + 2]];
    });
  }

  it('has a WebGL2 context and draws the 16-bit tiles at full resolution', async () => {
    expect(await page.evaluate(() => !!document.createElement('canvas').getContext('webgl2'))).toBe(true);
    await settled();
    expect(await page.getAttribute('.scan-viewer', 'data-gl')).toBe('on');
  });

  /** Each test starts from the default tools (key 0), whatever the one before left. */
  async function resetTools(): Promise<void> {
    await page.keyboard.press('0');
    await settled();
  }

  it('window/level changes the rendered pixels (exact 16-bit formula), without fetching tiles again', async () => {
    await resetTools();
    const at = await Promise.all(points.map((probe) => screenPoint(probe.x, probe.y)));
    const high = scan.views[0].planes.find((plane) => plane.energy === 'high')!.data;
    const full = await pixels(at);
    // the full-range preset mirrors the 8-bit display mapping (display.ts greyLut)
    const lut = greyLut(scan.views[0].airValue);
    for (const [i, point] of at.entries()) expect(Math.abs(full[i][0] - lut[high[point.shows]])).toBeLessThanOrEqual(3);

    let tileRequests = 0;
    const count = (request: { url(): string }) => {
      if (/tiles_files/.test(request.url())) tileRequests++;
    };
    page.on('request', count);
    await page.keyboard.press('s'); // preset "thin goods": level 1.0, window 2.0 (log-attenuation)
    await settled();
    const thin = await pixels(at);
    for (const [i, point] of at.entries()) expect(Math.abs(thin[i][0] - expectedGrey(point.shows, 1.0, 2.0))).toBeLessThanOrEqual(3);
    expect(Math.max(...thin.map(([r], i) => Math.abs(r - full[i][0])))).toBeGreaterThan(10);

    // right-button drag: wider window, brighter level
    const pane = (await page.locator('.view-pane[data-view="side"]').boundingBox())!;
    const serial = await page.getAttribute('.scan-viewer', 'data-tool-serial');
    await page.mouse.move(pane.x + pane.width / 2, pane.y + pane.height / 2);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(pane.x + pane.width / 2 + 120, pane.y + pane.height / 2 + 60, { steps: 6 });
    await page.mouse.up({ button: 'right' });
    expect(await page.getAttribute('.scan-viewer', 'data-tool-serial')).not.toBe(serial);
    await settled();
    const dragged = await pixels(at);
    expect(Math.max(...dragged.map(([r], i) => Math.abs(r - thin[i][0])))).toBeGreaterThan(10);
    page.off('request', count);
    expect(tileRequests).toBe(0);

    await page.keyboard.press('0');
    await settled();
  });

  it('colours organic, mixed and metal where the material map does, and filters one material', async () => {
    await resetTools();
    await page.keyboard.press('m');
    await page.waitForSelector('.scan-viewer[data-layer="material"]');
    await settled();
    const at = await Promise.all(points.map((probe) => screenPoint(probe.x, probe.y)));
    const colours = await pixels(at);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'viewer-material-16bit.png') });
    expect(colours.map(([r, g, b]) => classifyColour(r, g, b))).toEqual(points.map((probe) => probe.material));
    // sanity of the hues: orange-ish, green-ish, blue-ish
    const [organic, mixed, metal] = colours;
    expect(organic[0]).toBeGreaterThan(organic[2] + 40);
    expect(mixed[1]).toBeGreaterThan(mixed[0] + 20);
    expect(metal[2]).toBeGreaterThan(metal[0] + 40);

    // organic only: the others turn grey
    await page.keyboard.press('o');
    await settled();
    const filtered = await pixels(at);
    expect(filtered.map(([r, g, b]) => classifyColour(r, g, b))).toEqual(['organic', 'none', 'none']);
    await page.keyboard.press('0');
    await settled();
  });

  it('edge enhancement, the density band and the magnifier change the picture', async () => {
    await resetTools();
    const pane = (await page.locator('.view-pane[data-view="side"]').boundingBox())!;
    const probe = points[0];
    const centre = await screenPoint(probe.x, probe.y);
    // a row of screen pixels through the cargo, left of the probe to right of it
    const row = Array.from({ length: 121 }, (_, i) => ({ x: Math.round(Math.max(pane.x + 1, centre.x - 60) + i), y: centre.y }));
    const plain = await pixels(row);
    const differs = (a: [number, number, number][], b: [number, number, number][]) => a.filter((rgb, i) => Math.abs(rgb[0] - b[i][0]) + Math.abs(rgb[1] - b[i][1]) + Math.abs(rgb[2] - b[i][2]) > 6).length;

    await page.keyboard.press('e');
    await settled();
    expect(differs(await pixels(row), plain)).toBeGreaterThan(0);
    await resetTools();

    // the band around this probe's log-attenuation turns its pixels magenta
    const a = attenuationLut(scan.views[0].airValue)[probe.high];
    const steps = Math.round((a - 2) / 0.15);
    await page.keyboard.press('b');
    for (let i = 0; i < Math.abs(steps); i++) await page.keyboard.press(steps > 0 ? ']' : '[');
    await settled();
    const banded = await pixels(row);
    expect(banded.filter(([r, g, b]) => r - g > 60 && b - g > 60).length).toBeGreaterThan(0);
    await resetTools();

    // the magnifier: x3 under the pointer, the rest unchanged
    await page.keyboard.press('z');
    await page.mouse.move(centre.x, centre.y);
    await settled();
    const lensAt = `${Math.round(centre.x - pane.x)},${Math.round(centre.y - pane.y)}`;
    await page.waitForFunction((at) => document.querySelector<HTMLElement>('.view-pane[data-view="side"]')?.dataset.glLens === at, lensAt);
    const lens = await pixels(row);
    expect(differs(lens, plain)).toBeGreaterThan(0);
    await page.mouse.move(pane.x + 5, pane.y + 5);
    await page.keyboard.press('z');
    await settled();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.view-pane[data-view="side"]')?.dataset.glLens === '');
    expect(differs(await pixels(row), plain)).toBe(0);
  });

  it('measures with the ruler in millimetres from the pixel spacing', async () => {
    await resetTools();
    await page.keyboard.press('r');
    const [ox, , scale] = (await page.getAttribute('.view-pane[data-view="side"]', 'data-gl-transform'))!.split(',').map(Number);
    const pane = (await page.locator('.view-pane[data-view="side"]').boundingBox())!;
    const x0 = pane.x + Math.max(ox, 0) + 50;
    const y0 = pane.y + pane.height / 2;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + 200, y0, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => !!document.querySelector<HTMLElement>('.scan-viewer')?.dataset.rulerMm);
    const mm = Number(await page.getAttribute('.scan-viewer', 'data-ruler-mm'));
    const expected = (200 / scale) * spacing.x;
    expect(Math.abs(mm - expected) / expected).toBeLessThan(0.02);
    expect(await page.textContent('.view-pane[data-view="side"] .ruler-layer text')).toMatch(/m$/);
    await page.keyboard.press('r');
  });
});
