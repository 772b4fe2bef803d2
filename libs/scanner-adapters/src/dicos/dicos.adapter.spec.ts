import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { ConversionError, type InputFile } from '../adapter.js';
import { dicomFile } from '../hostile-files.testing.js';
import { DicosAdapter } from './dicos.adapter.js';
import { TRANSFER_SYNTAX } from './dicom-uids.js';
import { element } from './dicom-writer.js';
import { writeDicos } from './dicos.writer.js';
import { SAMPLE_DICOS_SCAN, ramp } from './sample-scan.testing.js';

const limits = { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 };
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'niix-dicos-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function save(files: { name: string; data: Buffer }[], prefix: string): InputFile[] {
  return files.map((f) => {
    const path = join(dir, `${prefix}-${f.name}`);
    writeFileSync(path, f.data);
    return { name: f.name, path, size: f.data.length };
  });
}

const scan = SAMPLE_DICOS_SCAN;

describe(DicosAdapter.name, () => {
  const adapter = new DicosAdapter();

  it('sniffs Part 10 files and headerless data sets', () => {
    const part10 = new Uint8Array(200);
    part10.set([0x44, 0x49, 0x43, 0x4d], 128);
    expect(adapter.sniff(part10, 'x.bin')).toBe('primary');
    const headerless = readFileSync(join(__dirname, 'fixtures', 'no_meta.dcm')).subarray(0, 4096);
    expect(adapter.sniff(headerless, 'scan.raw')).toBe('primary');
    expect(adapter.sniff(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), 'image.png')).toBeNull();
    expect(adapter.sniff(new Uint8Array(0), 'empty')).toBeNull();
  });

  it('reads back exactly what writeDicos wrote (dual-energy top view, single side view)', async () => {
    const files = save(writeDicos(scan), 'round');
    expect(files.map((f) => f.name)).toEqual(['top-high.dcm', 'top-low.dcm', 'side-single.dcm']);
    const result = await adapter.convert({ files: [...files].reverse(), limits });
    expect(result.scanner).toEqual(scan.scanner);
    expect(Date.parse(result.acquiredAt ?? '')).toBe(Date.parse(scan.acquiredAt ?? ''));
    expect(result.warnings).toEqual([]);
    expect(result.views.map((v) => ({ ...v, planes: v.planes.map((p) => ({ energy: p.energy, data: p.data })) }))).toEqual(scan.views);
  });

  it('writes a valid Part 10 file meta group', () => {
    const [file] = writeDicos({ ...scan, views: [scan.views[1]] }, { studyUid: '1.2.3' });
    const ds = dicomParser.parseDicom(new Uint8Array(file.data));
    expect(ds.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.501.2.2');
    expect(ds.string('x0020000d')).toBe('1.2.3');
    const metaEnd = 132 + 12 + (ds.uint32('x00020000') ?? 0);
    expect(file.data.readUInt16LE(metaEnd)).toBe(0x0008);
  });

  it('rejects two images of one view that do not say their energy', async () => {
    const top = scan.views[0];
    const files = writeDicos({ ...scan, views: [{ ...top, planes: top.planes.map((p) => ({ ...p, energy: 'single' as const })) }] });
    await expect(adapter.convert({ files: save(files, 'noenergy'), limits })).rejects.toMatchObject({ code: 'incomplete_scan' });
  });

  it('rejects high and low planes of different sizes', async () => {
    const files = writeDicos({
      ...scan,
      views: [{ ...scan.views[0], planes: [scan.views[0].planes[0]] }, { ...scan.views[1], id: 'top', planes: [{ energy: 'low', data: ramp(12, 9, 4) }] }],
    });
    // Two views that both claim `top` with one energy each make one view: sizes differ.
    await expect(adapter.convert({ files: save(files, 'sizes'), limits })).rejects.toMatchObject({ code: 'incomplete_scan' });
  });

  it('checks the plane size against the limit before decoding', async () => {
    const files = save(writeDicos({ ...scan, views: [scan.views[1]] }), 'limit');
    const error = await adapter.convert({ files, limits: { maxPixelsPerPlane: 100, maxPixelsPerScan: 4_000_000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect((error as ConversionError).code).toBe('too_many_pixels');
  });

  it('passes over a Pixel Spacing with a single value to Imager Pixel Spacing (found by fuzzing: it threw a TypeError)', async () => {
    const data = dicomFile({
      transferSyntax: TRANSFER_SYNTAX.explicitLittle,
      rows: 2,
      columns: 3,
      pixels: { native: Buffer.alloc(12) },
      elements: [element(0x00280030, 'DS', '0.5'), element(0x00181164, 'DS', '0.25\\0.75')],
    });
    const result = await adapter.convert({ files: save([{ name: 'one-spacing.dcm', data }], 'spacing'), limits });
    expect(result.views[0].pixelSpacingMm).toEqual({ x: 0.75, y: 0.25 });
  });

  it('refuses more frames than a file may hold before placing any of them', async () => {
    const data = dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: 1, columns: 1, frames: 65, pixels: { native: Buffer.alloc(130) } });
    await expect(adapter.convert({ files: save([{ name: 'frames.dcm', data }], 'frames'), limits })).rejects.toMatchObject({
      code: 'unsupported_variant',
      message: 'frames.dcm declares 65 frames; niix reads at most 64 frames per file (each frame becomes a view)',
    });
    expect(() => adapter.check([{ name: 'frames.dcm', size: data.length, head: data }], limits)).toThrow(/65 frames/);
  });

  it('rejects files of different studies', async () => {
    const a = save(writeDicos({ ...scan, views: [scan.views[1]] }), 'study-a');
    const b = save(writeDicos({ ...scan, views: [scan.views[1]] }), 'study-b');
    await expect(adapter.convert({ files: [...a, ...b], limits })).rejects.toMatchObject({ code: 'incomplete_scan' });
  });
});
