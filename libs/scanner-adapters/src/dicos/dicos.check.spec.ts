import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { checkOutcome, fuzzCheck, headOf, type FileBytes } from '../raw-profile/head-check.testing.js';
import { DicosAdapter } from './dicos.adapter.js';
import { DICOS_SOP_CLASS } from './dicom-uids.js';
import { writeDicos, type DicosScan } from './dicos.writer.js';

const adapter = new DicosAdapter();
const limits = { maxPixelsPerPlane: 50_000_000, maxPixelsPerScan: 200_000_000 };
const dir = join(__dirname, 'fixtures');
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Record<string, { error?: string }>;
const fixtures: FileBytes[] = readdirSync(dir)
  .filter((name) => name.endsWith('.dcm'))
  .sort()
  .map((name) => ({ name, data: readFileSync(join(dir, name)) }));

/** Broken fixtures whose fault shows in the head; the others are left to convert. */
const CAUGHT_BY_CHECK: Record<string, string> = { 'MR_truncated.dcm': 'malformed_input', 'no_meta.dcm': 'malformed_input' };

const plane = (width: number, height: number): Uint16Array => Uint16Array.from({ length: width * height }, (_, i) => (i * 7919) % 65536);
const scan: DicosScan = {
  scanner: { vendor: 'Acme Security' },
  acquiredAt: '2026-03-01T10:20:30+02:00',
  views: [{ id: 'top', width: 300, height: 200, pixelSpacingMm: null, airValue: 60000, planes: [{ energy: 'single', data: plane(300, 200) }] }],
};

describe('DicosAdapter.check', () => {
  it('has a golden outcome for every fixture', () => {
    for (const { name } of fixtures) expect({ name, known: golden[name] !== undefined }).toEqual({ name, known: true });
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s: passes when it converts, and otherwise as expected', (name, file) => {
    const error = checkOutcome(adapter, [headOf(file)], limits);
    if (golden[name].error === undefined) expect(error).toBeUndefined();
    else expect(error?.code).toBe(CAUGHT_BY_CHECK[name]);
    // What check refuses, convert refuses with the same code.
    if (error) expect(golden[name].error).toBe(error.code);
  });

  it('names expected and present bytes for a truncated file', () => {
    const file = fixtures.find((f) => f.name === 'MR_truncated.dcm') as FileBytes;
    expect(checkOutcome(adapter, [headOf(file)], limits)?.message).toBe(
      'MR_truncated.dcm is truncated: its pixel data needs 8192 bytes, only 8130 present',
    );
    const noMeta = fixtures.find((f) => f.name === 'no_meta.dcm') as FileBytes;
    expect(checkOutcome(adapter, [headOf(noMeta)], limits)?.message).toMatch(/no DICOM Part 10 header/);
  });

  it('passes a written file, and refuses it cut short or declaring a huge plane', () => {
    const [file] = writeDicos(scan);
    expect(checkOutcome(adapter, [headOf(file)], limits)).toBeUndefined();
    // The head is the first 64 KB of a 120 KB file: the size alone shows the cut.
    const cut = checkOutcome(adapter, [headOf(file, file.data.length - 1000)], limits);
    expect(cut?.code).toBe('malformed_input');
    expect(cut?.message).toMatch(/top-single\.dcm is truncated: its pixel data needs 120000 bytes, only 119000 present/);

    const huge = Buffer.from(file.data);
    const ds = dicomParser.parseDicom(new Uint8Array(huge), { untilTag: 'x7fe00010' });
    huge.writeUInt16LE(65535, ds.elements.x00280010.dataOffset);
    huge.writeUInt16LE(65535, ds.elements.x00280011.dataOffset);
    const error = checkOutcome(adapter, [headOf({ name: 'huge.dcm', data: huge })], limits);
    expect(error?.code).toBe('too_many_pixels');
    expect(error?.message).toMatch(/65535 x 65535/);
  });

  it('refuses a DICOS object that is not a DX image, as convert does', () => {
    const [file] = writeDicos(scan);
    const ct = Buffer.from(file.data);
    const sop = dicomParser.parseDicom(new Uint8Array(ct), { untilTag: 'x7fe00010' }).elements.x00080016;
    ct.write(DICOS_SOP_CLASS.ct.padEnd(sop.length, '\0'), sop.dataOffset, sop.length, 'latin1');
    expect(checkOutcome(adapter, [headOf({ name: 'ct.dcm', data: ct })], limits)?.code).toBe('unsupported_variant');
  });

  it('leaves a head that ends inside the header to convert', () => {
    const [file] = writeDicos(scan);
    expect(checkOutcome(adapter, [{ name: 'x.dcm', size: file.data.length, head: file.data.subarray(0, 400) }], limits)).toBeUndefined();
  });

  it('never throws anything but ConversionError on damaged heads', () => {
    const uploads = [...fixtures.map((f) => [f]), writeDicos(scan)];
    const refused = fuzzCheck(adapter, uploads, limits, 400);
    expect(refused).toBeGreaterThan(0);
  });
});
