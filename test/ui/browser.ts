import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

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

/** Waits on a condition (no fixed sleeps): polls until `check` returns a value that is not false/undefined/null. */
export async function until<T>(check: () => Promise<T | false | null | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
