import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { DicosAdapter } from './dicos.adapter.js';
import { writeDicos } from './dicos.writer.js';
import { SAMPLE_DICOS_SCAN } from './sample-scan.testing.js';

// Deterministic UIDs: writeDicos makes them from randomUUID, counted here so that its bytes can be pinned.
let uuids = 0;
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, randomUUID: () => `00000000-0000-4000-8000-${(++uuids).toString(16).padStart(12, '0')}` };
});

const scan = SAMPLE_DICOS_SCAN;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const parse = (data: Buffer) => dicomParser.parseDicom(new Uint8Array(data));
/** TIP Type (4010,1039) as dicom-parser keys it. */
const TIP_TYPE = 'x40101039';

describe('writeDicos', () => {
  beforeEach(() => {
    uuids = 0;
  });

  it('writes, without options, the very bytes it wrote before the TIP and UID options existed', () => {
    const files = writeDicos(scan, { studyUid: '1.2.3' });
    // Recorded from the writer before tipType was added, with the counted UIDs above.
    expect(files.map((file) => [file.name, sha256(file.data)])).toEqual([
      ['top-high.dcm', 'c72bbd429ce961155ca9d8893c14be14c55e8c145e6663f7adea69224d8fa403'],
      ['top-low.dcm', '89c5cfeb7018f4c333405060c08d4ad5237360c43ce6952b8827db90487b79a9'],
      ['side-single.dcm', '897b483ae1ac2eb898aabfbca45c86f2babf164bbf97de0add604304446e300e'],
    ]);
    for (const file of files) expect(parse(file.data).elements[TIP_TYPE]).toBeUndefined();
  });

  it('writes TIP Type (4010,1039) CS into every image with tipType, and nothing else changes', () => {
    const plain = writeDicos(scan, { studyUid: '1.2.3' });
    uuids = 0;
    const tip = writeDicos(scan, { studyUid: '1.2.3', tipType: 'CTI' });
    expect(tip.map((file) => file.name)).toEqual(plain.map((file) => file.name));
    tip.forEach((file, i) => {
      const element = parse(file.data).elements[TIP_TYPE];
      expect(element?.vr).toBe('CS');
      expect(parse(file.data).string(TIP_TYPE)).toBe('CTI');
      // Without its 8-byte element header and value, the file is the one written without the option.
      const start = element.dataOffset - 8;
      expect(Buffer.concat([file.data.subarray(0, start), file.data.subarray(element.dataOffset + element.length)])).toEqual(plain[i].data);
    });
    expect(parse(writeDicos(scan, { tipType: 'FTI' })[0].data).string(TIP_TYPE)).toBe('FTI');
  });

  it('returns the UIDs each image carries, for a report to reference it', () => {
    const files = writeDicos(scan, { studyUid: '1.2.3', tipType: 'CTI' });
    expect(files.map(({ view, energy }) => [view, energy])).toEqual([
      ['top', 'high'],
      ['top', 'low'],
      ['side', 'single'],
    ]);
    for (const file of files) {
      const ds = parse(file.data);
      expect([ds.string('x00080016'), ds.string('x00080018'), ds.string('x0020000e'), ds.string('x0020000d')]).toEqual([
        file.sopClassUid,
        file.sopInstanceUid,
        file.seriesInstanceUid,
        '1.2.3',
      ]);
    }
    expect(new Set(files.map((file) => file.sopInstanceUid)).size).toBe(files.length);
  });

  it('writes TIP images the DicosAdapter reads back to the same planes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'niix-dicos-tip-'));
    try {
      const files = writeDicos(scan, { tipType: 'CTI' }).map((file) => {
        const path = join(dir, file.name);
        writeFileSync(path, file.data);
        return { name: file.name, path, size: file.data.length };
      });
      const result = await new DicosAdapter().convert({ files, limits: { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 } });
      expect(result.warnings).toEqual([]);
      expect(result.views.map((v) => ({ ...v, planes: v.planes.map((p) => ({ energy: p.energy, data: p.data })) }))).toEqual(scan.views);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
