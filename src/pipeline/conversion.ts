import { readFile } from 'node:fs/promises';
import { type BuiltPackage, type OriginalFile, buildPackage, readPackage } from '../../libs/exchange-format/src/package.js';
import type { ScanMetadata } from '../../libs/exchange-format/src/metadata.js';
import { type ConversionLimits, ConversionError, type InputFile } from '../../libs/scanner-adapters/src/adapter.js';
import type { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import { type RenderedView, renderViews } from '../scans/render-views.js';

/**
 * The CPU- and memory-heavy middle of a scan's conversion, free of the database, the queues and object storage:
 * vendor files on local disk → exchange package and viewer images, in memory. It runs in a conversion process
 * (conversion.process.ts), one scan at a time, so that a hostile or huge file cannot stall or kill the service.
 */
export interface ConversionTask {
  adapterId: string;
  files: InputFile[];
  limits: ConversionLimits;
  scanId: string;
  stationId: string;
  metadata: ScanMetadata;
  originals: OriginalFile[];
  /** ISO 8601: when the conversion started (recorded in the manifest). */
  convertedAt: string;
}

export type ConversionOutcome =
  | { ok: true; built: BuiltPackage; rendered: RenderedView[] }
  /** The input cannot be converted: the scan fails with this code, without retry. */
  | { ok: false; refused: { code: string; message: string } };

/**
 * The planes stay in memory: the lossless package and the renditions are made from them at the same time
 * (decoding the package again would cost ~0.5 s per 8000 x 2500 dual-energy view).
 */
export async function runConversion(adapters: AdapterRegistry, task: ConversionTask): Promise<ConversionOutcome> {
  const adapter = adapters.get(task.adapterId);
  if (!adapter) return { ok: false, refused: { code: 'adapter_unavailable', message: `the scanner adapter ${task.adapterId} is not installed on this service` } };
  try {
    const conversion = await adapter.convert({ files: task.files, limits: task.limits });
    const [built, rendered] = await Promise.allSettled([
      buildPackage({
        scanId: task.scanId,
        stationId: task.stationId,
        conversion,
        adapter: { id: adapter.id, version: adapter.version },
        originals: task.originals,
        metadata: task.metadata,
        convertedAt: new Date(task.convertedAt),
      }),
      renderViews(conversion.views),
    ]);
    // the package's reasons (planes of different sizes…) come before any fault of the renditions
    if (built.status === 'rejected') throw built.reason;
    if (rendered.status === 'rejected') throw rendered.reason;
    return { ok: true, built: built.value, rendered: rendered.value };
  } catch (error) {
    if (error instanceof ConversionError) return { ok: false, refused: { code: error.code, message: error.message } };
    throw error;
  }
}

/** A stored exchange package whose viewer images are missing (RenderScan): its manifest and its parts on local disk. */
export interface RenderingTask {
  manifest: unknown;
  /** Local file of each part, by its path in the package. */
  parts: Record<string, string>;
}

/** Package planes → viewer images (the package's integrity is checked as it is read). */
export async function runRendering(task: RenderingTask): Promise<RenderedView[]> {
  const { views } = await readPackage(task.manifest, (part) => {
    const local = task.parts[part];
    if (!local) throw new Error(`the package part ${part} was not handed to the conversion process`);
    return readFile(local);
  });
  return renderViews(views);
}
