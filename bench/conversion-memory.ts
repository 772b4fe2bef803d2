import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { type ScannerInputFormat, writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { loadConfig } from '../src/config/config.js';
import { ConversionProcesses } from '../src/pipeline/conversion.process.js';

/**
 * Peak memory of one conversion for the largest scan the defaults allow (NIIX_MAX_PIXELS_PER_SCAN), in the
 * conversion process the service uses, measured the way the service measures it (resident size, sampled every
 * 25 ms). Run alone: `BENCH_ONLY=memory node dist/bench/run.js`.
 */

interface Shape {
  label: string;
  format: ScannerInputFormat;
  adapterId: string;
  width: number;
  height: number;
  views: ('top' | 'side')[];
}

export interface ConversionMemoryRow {
  label: string;
  pixels: number;
  peakMb: number;
  seconds: number;
}

export interface ConversionMemoryFigures {
  maxPixelsPerScan: number;
  memoryLimitMb: number;
  rows: ConversionMemoryRow[];
}

/** Shapes that fill the default pixel budget: one view and two views, each dual energy. */
function shapes(maxPixelsPerScan: number): Shape[] {
  const oneView = Math.floor(maxPixelsPerScan / 2);
  const twoViews = Math.floor(maxPixelsPerScan / 4);
  const height = (pixels: number, width: number) => Math.floor(pixels / width);
  return [
    { label: 'DICOS, one view, dual energy', format: 'dicos', adapterId: 'dicos', width: 8000, height: height(oneView, 8000), views: ['side'] },
    { label: 'DICOS, two views, dual energy', format: 'dicos', adapterId: 'dicos', width: 8000, height: height(twoViews, 8000), views: ['top', 'side'] },
    { label: 'TIFF + JSON sidecar, two views, dual energy', format: 'tiff-json', adapterId: 'tiff-sidecar', width: 8000, height: height(twoViews, 8000), views: ['top', 'side'] },
  ];
}

export async function benchConversionMemory(log: (line: string) => void): Promise<ConversionMemoryFigures> {
  const config = loadConfig({});
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-bench-memory-'));
  const rows: ConversionMemoryRow[] = [];
  try {
    for (const [index, shape] of shapes(config.limits.maxPixelsPerScan).entries()) {
      const files = await writeScannerInput(shape.format, generateScan({ seed: index + 1, kind: 'truck', width: shape.width, height: shape.height, views: shape.views }));
      const inputs = files.map((file, position) => {
        const local = path.join(dir, `${index}-${position}-${file.name}`);
        writeFileSync(local, file.data);
        return { name: file.name, path: local, size: file.data.length };
      });
      // a fresh conversion process for each shape, as after a restart: no memory left over from the one before
      const processes = new ConversionProcesses(config);
      try {
        const started = performance.now();
        const { outcome, peakBytes } = await processes.convert({
          adapterId: shape.adapterId,
          files: inputs,
          limits: { maxPixelsPerPlane: config.limits.maxPixelsPerPlane, maxPixelsPerScan: config.limits.maxPixelsPerScan },
          scanId: '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01',
          stationId: '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b',
          metadata: {},
          originals: inputs.map((input) => ({ name: input.name, size: input.size, sha256: '0'.repeat(64), object: input.name })),
          convertedAt: new Date().toISOString(),
        });
        if (!outcome.ok) throw new Error(`${shape.label}: refused: ${outcome.refused.code}: ${outcome.refused.message}`);
        const pixels = shape.width * shape.height * shape.views.length * 2;
        const row = { label: `${shape.label}, ${shape.views.length} x 2 planes of ${shape.width} x ${shape.height}`, pixels, peakMb: peakBytes / 1024 ** 2, seconds: (performance.now() - started) / 1000 };
        log(`memory: ${row.label}: peak ${Math.round(row.peakMb)} MB in ${row.seconds.toFixed(1)} s`);
        rows.push(row);
      } finally {
        processes.onModuleDestroy();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { maxPixelsPerScan: config.limits.maxPixelsPerScan, memoryLimitMb: config.convertMemoryBytes / 1024 ** 2, rows };
}

/** The "## Memory of one conversion" section of docs/benchmarks.md. */
export function conversionMemorySection(figures: ConversionMemoryFigures, note = ''): string {
  const million = (pixels: number) => `${(pixels / 1e6).toFixed(1)} M`;
  return `
## Memory of one conversion
The largest scan the defaults allow (\`NIIX_MAX_PIXELS_PER_SCAN\` = ${figures.maxPixelsPerScan.toLocaleString('en')} pixels over all
planes), converted in a fresh conversion process: vendor files → lossless package, display image, thumbnail,
deep-zoom pyramids and material map. Peak resident size of that process, read every 25 ms as the service reads it
to enforce \`NIIX_CONVERT_MEMORY\` (default ${Math.round(figures.memoryLimitMb)} MB). Larger scans are refused from their headers
before any decoding (413 at upload, or \`too_many_pixels\`).${note ? `\n${note}` : ''}

| scan | pixels | peak memory | time |
|---|---|---|---|
${figures.rows.map((row) => `| ${row.label} | ${million(row.pixels)} | ${Math.round(row.peakMb)} MB | ${row.seconds.toFixed(1)} s |`).join('\n')}
`;
}
