import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = process.env.NIIX_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium without a GPU (checked with Chromium 156). WebGL2 runs on ANGLE over SwiftShader (software
 * Vulkan) even with --disable-gpu, which keeps the page's compositing in software Skia: about 8 times faster
 * here than also compositing through SwiftShader (--use-gl=angle --use-angle=swiftshader). The flag
 * --enable-unsafe-swiftshader opts in to the SwiftShader WebGL fallback Chromium is phasing out; the network
 * flags keep Chromium from calling home on this closed machine.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** The service serves web/dist: build it once when it is missing (npm run build does it otherwise). */
export function ensureWebBuilt(): void {
  if (existsSync(path.resolve('web/dist/index.html'))) return;
  execFileSync('npm', ['run', 'build:web'], { stdio: 'inherit' });
}

export { until } from '../until.js';

/** Marks a region the way an analyst does: Shift+drag a rectangle centred on (cx, cy) on the page; waits until it is listed. */
export async function markRegion(page: Page, cx: number, cy: number, halfWidth: number, halfHeight: number, steps: number): Promise<void> {
  await page.keyboard.down('Shift');
  await page.mouse.move(cx - halfWidth, cy - halfHeight);
  await page.mouse.down();
  await page.mouse.move(cx + halfWidth, cy + halfHeight, { steps });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await page.waitForSelector('.region-list li.selected');
}
