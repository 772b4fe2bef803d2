import { XMLBuilder } from 'fast-xml-parser';
import { encodeTiff16 } from '../../../imaging/src/raster.js';
import { encodeMultiPageTiff16 } from './multi-page-tiff.js';
import type { TiffSidecarInput } from './tiff-sidecar.schema.js';

export type { ScanToWrite } from '../adapter.js';
import type { ScanToWrite } from '../adapter.js';

export interface TiffSidecarWriteOptions {
  /** Spelling of the sidecar; default json. */
  sidecar: 'json' | 'xml';
  /** One multi-page TIFF per view (its planes as pages) instead of one TIFF per plane; default false. */
  multiPage?: boolean;
  /** Store attenuation (65535 - value) instead of transmission; default transmission. */
  values?: 'transmission' | 'attenuation';
}

/**
 * Writes a scan as a scanner of this kind would: 16-bit TIFF planes (deflate, or uncompressed multi-page) and
 * one sidecar. The inverse of TiffSidecarAdapter.convert, lossless. For tests, the demo and benchmarks.
 */
export async function writeTiffSidecar(
  scan: ScanToWrite,
  options: TiffSidecarWriteOptions = { sidecar: 'json' },
): Promise<{ name: string; data: Buffer }[]> {
  const values = options.values ?? 'transmission';
  const stored = (data: Uint16Array): Uint16Array => (values === 'attenuation' ? data.map((v) => 65535 - v) : data);
  const storedAir = (air: number): number => (values === 'attenuation' ? 65535 - air : air);
  const airs = new Set(scan.views.map((v) => v.airValue));
  const commonAir = airs.size === 1 ? storedAir(scan.views[0].airValue) : undefined;
  const files: { name: string; data: Buffer }[] = [];
  const entries: TiffSidecarInput['files'] = [];
  for (const view of scan.views) {
    const airValue = commonAir === undefined ? storedAir(view.airValue) : undefined;
    if (options.multiPage) {
      const name = `${view.id}.tif`;
      const pages = view.planes.map((p) => ({ width: view.width, height: view.height, data: stored(p.data) }));
      files.push({ name, data: encodeMultiPageTiff16(pages) });
      entries.push({
        name,
        view: view.id,
        pages: view.planes.map((p, index) => ({ index, energy: p.energy, nominalEnergy: nominalOf(p) })),
        airValue,
      });
    } else {
      for (const plane of view.planes) {
        const name = `${view.id}-${plane.energy}.tif`;
        files.push({ name, data: await encodeTiff16({ width: view.width, height: view.height, data: stored(plane.data) }) });
        entries.push({ name, view: view.id, energy: plane.energy, nominalEnergy: nominalOf(plane), airValue });
      }
    }
  }
  const sidecar: TiffSidecarInput = {
    kind: 'tiff-sidecar',
    version: 1,
    scanner: { ...scan.scanner },
    acquiredAt: scan.acquiredAt,
    pixelSpacingMm: scan.views[0]?.pixelSpacingMm ?? null,
    values,
    airValue: commonAir,
    files: entries,
  };
  const text = options.sidecar === 'xml' ? toXml(sidecar) : `${JSON.stringify(sidecar, null, 2)}\n`;
  files.push({ name: `sidecar.${options.sidecar}`, data: Buffer.from(text, 'utf8') });
  return files;
}

function nominalOf(plane: { nominalEnergy?: string }): string | undefined {
  return plane.nominalEnergy;
}

/** The XML spelling: attributes for short facts, elements for the rest (see README.md). */
function toXml(s: TiffSidecarInput): string {
  const attributes = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [`@_${k}`, v]));
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    TiffSidecar: {
      '@_version': s.version,
      Scanner: attributes({ ...s.scanner }),
      ...(s.acquiredAt ? { AcquiredAt: s.acquiredAt } : {}),
      ...(s.pixelSpacingMm ? { PixelSpacingMm: attributes({ ...s.pixelSpacingMm }) } : {}),
      Values: s.values,
      ...(s.airValue !== undefined ? { AirValue: s.airValue } : {}),
      File: s.files.map((f) => ({
        ...attributes({ name: f.name, view: f.view, energy: f.energy, nominalEnergy: f.nominalEnergy, values: f.values, airValue: f.airValue }),
        ...(f.pages ? { Page: f.pages.map((p) => attributes({ index: p.index, energy: p.energy, nominalEnergy: p.nominalEnergy })) } : {}),
      })),
    },
  };
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });
  return builder.build(doc) as string;
}
