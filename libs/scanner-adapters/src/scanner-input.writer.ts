import { writeDicos } from './dicos/dicos.writer.js';
import { writeImages } from './image/image.writer.js';
import { loadProfiles } from './raw-profile/raw-profile.loader.js';
import { writeRawProfile } from './raw-profile/raw-profile.writer.js';
import { writeTiffSidecar } from './tiff-sidecar/tiff-sidecar.writer.js';
import { BUILT_IN_PROFILE_DIR } from './index.js';

/** Input formats niix can write (the inverse of the adapters), for tests, the demo and the benchmarks. */
export const SCANNER_INPUT_FORMATS = ['dicos', 'tiff-json', 'tiff-xml', 'raw:aurora-ax6', 'raw:borealis-de', 'png16', 'jpeg'] as const;
export type ScannerInputFormat = (typeof SCANNER_INPUT_FORMATS)[number];

export type { ScanToWrite } from './adapter.js';
import type { ScanToWrite } from './adapter.js';

/** The files a scanner of the given format would send for this scan. */
export async function writeScannerInput(format: ScannerInputFormat, scan: ScanToWrite): Promise<{ name: string; data: Buffer }[]> {
  switch (format) {
    case 'dicos':
      return writeDicos(scan);
    case 'tiff-json':
      return writeTiffSidecar(scan, { sidecar: 'json' });
    case 'tiff-xml':
      return writeTiffSidecar(scan, { sidecar: 'xml' });
    case 'png16':
      return writeImages(scan, { format: 'png16' });
    case 'jpeg':
      return writeImages(scan, { format: 'jpeg' });
    default: {
      const id = format.slice('raw:'.length);
      const profile = loadProfiles([BUILT_IN_PROFILE_DIR]).find((candidate) => candidate.id === id);
      if (!profile) throw new Error(`no raw profile ${id}`);
      return writeRawProfile(profile, scan);
    }
  }
}
