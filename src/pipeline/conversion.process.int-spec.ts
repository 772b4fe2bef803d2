import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { loadConfig } from '../config/config.js';
import type { ConversionTask } from './conversion.js';
import { ConversionMemoryError, ConversionProcessDiedError, ConversionProcesses } from './conversion.process.js';
import { until } from '../../test/until.js';

/** Real conversion processes (the TypeScript child through tsx), real adapters, real files on disk. */
describe(ConversionProcesses.name, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-conversion-process-'));
  const opened: ConversionProcesses[] = [];

  function processes(memory: string): ConversionProcesses {
    const made = new ConversionProcesses(loadConfig({ NIIX_DATA_DIR: dir, NIIX_CONVERT_MEMORY: memory }));
    opened.push(made);
    return made;
  }

  /** A DICOS scan of the given size written to disk, as the pipeline hands it to a conversion process. */
  async function task(name: string, width: number, height: number): Promise<ConversionTask> {
    const files = await writeScannerInput('dicos', generateScan({ seed: 7, kind: 'truck', width, height }));
    const inputs = files.map((file, index) => {
      const local = path.join(dir, `${name}-${index}-${file.name}`);
      writeFileSync(local, file.data);
      return { name: file.name, path: local, size: file.data.length };
    });
    return {
      adapterId: 'dicos',
      files: inputs,
      limits: { maxPixelsPerPlane: 100_000_000, maxPixelsPerScan: 100_000_000 },
      scanId: '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01',
      stationId: '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b',
      metadata: {},
      originals: inputs.map((input) => ({ name: input.name, size: input.size, sha256: 'a'.repeat(64), object: `scans/x/original/${input.name}` })),
      convertedAt: '2026-12-03T10:00:00.000Z',
    };
  }

  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => {
    for (const made of opened) made.onModuleDestroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('converts a scan in a child process: the package, the renditions and the peak memory come back', async () => {
    const pool = processes('1gb');
    const { outcome, peakBytes } = await pool.convert(await task('small', 400, 160));
    if (!outcome.ok) throw new Error(`refused: ${outcome.refused.message}`);
    expect(outcome.built.manifest.views.map((view) => [view.id, view.width, view.height])).toEqual([['side', 400, 160]]);
    expect(outcome.built.parts.map((part) => part.path).sort()).toEqual(['views/side/high.png', 'views/side/low.png']);
    expect(Buffer.isBuffer(outcome.built.parts[0].data)).toBe(true);
    expect(outcome.rendered.map((view) => view.viewId)).toEqual(['side']);
    expect(outcome.rendered[0].renditions.display.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(peakBytes).toBeGreaterThan(20 * 1024 ** 2);
    expect(peakBytes).toBeLessThan(1024 ** 3);

    // the process is kept for the next scan
    const again = await pool.convert(await task('small-again', 300, 120));
    expect(again.outcome.ok).toBe(true);
  });

  it('renders a stored package in a child process (RenderScan), checking its parts as it reads them', async () => {
    const pool = processes('1gb');
    const { outcome } = await pool.convert(await task('to-render', 400, 160));
    if (!outcome.ok) throw new Error(`refused: ${outcome.refused.message}`);
    const parts = Object.fromEntries(
      outcome.built.parts.map((part, index) => {
        const local = path.join(dir, `part-${index}.png`);
        writeFileSync(local, part.data);
        return [part.path, local];
      }),
    );
    const { rendered } = await pool.render({ manifest: outcome.built.manifest, parts });
    expect(rendered.map((view) => view.viewId)).toEqual(['side']);
    expect(rendered[0].renditions.tiles.index).toEqual(outcome.rendered[0].renditions.tiles.index);

    writeFileSync(Object.values(parts)[0], Buffer.from('not the stored plane'));
    await expect(pool.render({ manifest: outcome.built.manifest, parts })).rejects.toThrow(/is damaged: its sha-256/);
  });

  it('answers an input it cannot convert with the adapter reason', async () => {
    const broken = await task('broken', 300, 120);
    writeFileSync(broken.files[0].path, Buffer.from('DICM is not here'));
    broken.files[0].size = 16;
    const { outcome } = await processes('1gb').convert(broken);
    expect(outcome).toEqual({ ok: false, refused: { code: 'malformed_input', message: expect.any(String) } });
  });

  it('stops a conversion that passes the memory limit, and the next one gets a fresh process', async () => {
    const pool = processes('220mb');
    const big = await task('big', 6000, 2000);
    await expect(pool.convert(big)).rejects.toBeInstanceOf(ConversionMemoryError);
    const { outcome } = await pool.convert(await task('after', 300, 120));
    expect(outcome.ok).toBe(true);
  });

  it('reports a conversion process killed from outside as died, not as a memory fault', async () => {
    const pool = processes('2gb');
    const before = new Set(childPids());
    const converting = pool.convert(await task('killed', 6000, 2000));
    const child = await until(async () => childPids().find((pid) => !before.has(pid)), 'a conversion process to start');
    process.kill(child, 'SIGKILL');
    await expect(converting).rejects.toBeInstanceOf(ConversionProcessDiedError);
  });
});

/** Pids of this process's children running conversion.child. */
function childPids(): number[] {
  const lines = execSync(`ps -o pid=,args= --ppid ${process.pid}`, { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => line.includes('conversion.child')).map((line) => Number(line.trim().split(/\s+/)[0]));
}
