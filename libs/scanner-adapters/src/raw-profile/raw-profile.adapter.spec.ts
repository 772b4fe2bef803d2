import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversionError } from '../adapter.js';
import { RawProfileAdapter } from './raw-profile.adapter.js';
import { loadProfiles, parseProfile, RawProfileError } from './raw-profile.loader.js';
import { rawProfileSchema, type RawProfile, type RawProfileInput } from './raw-profile.schema.js';
import { writeRawProfile } from './raw-profile.writer.js';
import { syntheticScan, withInputFiles } from './synthetic-scan.testing.js';

const PROFILES_DIR = join(process.cwd(), 'libs/scanner-adapters/profiles');
const profiles = loadProfiles([PROFILES_DIR]);
const profile = (id: string): RawProfile => {
  const found = profiles.find((p) => p.id === id);
  if (!found) throw new Error(`no profile ${id}`);
  return found;
};
const aurora = profile('aurora-ax6');
const borealis = profile('borealis-de');

const dualScan = (views: string[] = ['top']) =>
  syntheticScan({ width: 300, height: 120, views: views.map((id) => ({ id, energies: ['high', 'low'] })) });

async function expectCode(promise: Promise<unknown>, code: ConversionError['code'], message?: RegExp): Promise<ConversionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConversionError);
  const conversionError = error as ConversionError;
  expect(conversionError.code).toBe(code);
  if (message) expect(conversionError.message).toMatch(message);
  return conversionError;
}

describe(RawProfileAdapter.name, () => {
  it('loads the shipped profiles', () => {
    expect(profiles.map((p) => p.id)).toEqual(['aurora-ax6', 'borealis-de']);
    expect(new RawProfileAdapter(aurora).id).toBe('raw:aurora-ax6');
    expect(new RawProfileAdapter(aurora).version).toBe('1.0.0+profile.1');
  });

  it('sniffs by magic only', () => {
    const adapter = new RawProfileAdapter(aurora);
    const [file] = writeRawProfile(aurora, dualScan());
    expect(adapter.sniff(file.data.subarray(0, 4096), 'anything.bin')).toBe('primary');
    expect(adapter.sniff(Buffer.from('AXR'), 'scan.axr')).toBeNull();
    expect(adapter.sniff(Buffer.from('AXR7....'), 'scan.axr')).toBeNull();
    expect(new RawProfileAdapter(borealis).sniff(file.data.subarray(0, 4096), 'x')).toBeNull();
  });

  it('round-trips aurora-ax6 bit-exactly, with header facts, for two views', async () => {
    const scan = dualScan(['top', 'side']);
    const files = writeRawProfile(aurora, scan);
    expect(files.map((f) => f.name)).toEqual(['aurora-ax6-1-top.axr', 'aurora-ax6-2-side.axr']);
    expect(files[0].data.length).toBe(64 + 300 * 120 * 2 * 2);
    const conversion = await withInputFiles(files, (input) => new RawProfileAdapter(aurora).convert(input));
    expect(conversion.scanner).toEqual({ vendor: 'Aurora Inspection Systems', model: 'AX6', serial: 'SN-0042' });
    expect(conversion.acquiredAt).toBe('2026-03-14T09:26:53.000Z');
    expect(conversion.warnings).toEqual([]);
    expect(conversion.views.map((v) => v.id)).toEqual(['top', 'side']);
    conversion.views.forEach((view, i) => {
      expect(view).toMatchObject({ width: 300, height: 120, airValue: 62000, pixelSpacingMm: { x: 5, y: 4.2 } });
      expect(view.planes.map((p) => [p.energy, p.nominalEnergy])).toEqual([
        ['high', '6MV'],
        ['low', '4MV'],
      ]);
      expect(view.planes[0].data).toEqual(scan.views[i].planes[0].data);
      expect(view.planes[1].data).toEqual(scan.views[i].planes[1].data);
    });
  });

  it('round-trips borealis-de (transposed, flipped, interleaved low/high, 12-bit attenuation) with the stated quantisation', async () => {
    const scan = dualScan();
    const [file] = writeRawProfile(borealis, scan);
    expect(file.data.length).toBe(512 + 300 * 120 * 2 * 2);
    // First stored sample: detector column 0 (x = 0), pixel 0 is the bottom row (flipVertical), low plane first,
    // stored as 12-bit attenuation 4095 - (t >> 4), big-endian.
    const low = scan.views[0].planes[1].data;
    expect(file.data.readUInt16BE(512)).toBe(4095 - (low[119 * 300] >> 4));
    const conversion = await withInputFiles([file], (input) => new RawProfileAdapter(borealis).convert(input));
    const view = conversion.views[0];
    expect(view).toMatchObject({ id: 'top', width: 300, height: 120, airValue: 65535 });
    expect(view.planes.map((p) => p.energy)).toEqual(['high', 'low']);
    // Exact quantisation: t → 12 bits kept (t >> 4) → widened by bit replication ((v << 4) | (v >> 8)).
    const quantise = (t: number): number => ((t >> 4) << 4) | (t >> 12);
    scan.views[0].planes.forEach((plane, i) => {
      const expected = plane.data.map(quantise);
      expect(view.planes[i].data).toEqual(expected);
    });
    // Air (attenuation 0) is full scale; the quantisation error is below 16 steps.
    expect(quantise(65535)).toBe(65535);
    expect(quantise(0)).toBe(0);
    const diff = scan.views[0].planes[0].data.reduce((max, t, i) => Math.max(max, Math.abs(t - view.planes[0].data[i])), 0);
    expect(diff).toBeLessThan(16);
  });

  it('reads a header-length field, float32 samples and a single plane', async () => {
    const custom = rawProfileSchema.parse({
      id: 'test-float',
      vendor: 'Test',
      model: 'F1',
      magic: { offset: 2, hex: 'cafe' },
      endianness: 'big',
      headerLength: { offset: 4, type: 'uint16' },
      width: { offset: 8, type: 'uint16', endianness: 'little' },
      height: 120,
      sample: 'float32',
      floatFullScale: 4,
      planes: ['single'],
      values: 'attenuation',
      air: 0,
    } satisfies RawProfileInput);
    const scan = syntheticScan({ width: 300, height: 120, views: [{ id: 'view-1', energies: ['single'] }] });
    const [file] = writeRawProfile(custom, scan);
    expect(file.data.readUInt16BE(4)).toBe(16);
    const conversion = await withInputFiles([file], (input) => new RawProfileAdapter(custom).convert(input));
    expect(conversion.views[0].planes[0].data).toEqual(scan.views[0].planes[0].data);
    expect(conversion.views[0].airValue).toBe(65535);
    expect(conversion.acquiredAt).toBeNull();
  });

  it('rejects a truncated file naming expected and actual bytes, before reading pixels', async () => {
    const [file] = writeRawProfile(aurora, dualScan());
    const truncated = { name: file.name, data: file.data.subarray(0, file.data.length - 1000) };
    await withInputFiles([truncated], (input) =>
      expectCode(new RawProfileAdapter(aurora).convert(input), 'malformed_input', /should be 144064 bytes .* but is 143064 bytes \(truncated\)/),
    );
  });

  it('rejects a file without the magic', async () => {
    const [file] = writeRawProfile(aurora, dualScan());
    const wrong = Buffer.from(file.data);
    wrong.write('AXR7', 0, 'latin1');
    await withInputFiles([{ name: 'x.axr', data: wrong }], (input) =>
      expectCode(new RawProfileAdapter(aurora).convert(input), 'malformed_input', /magic 'AXR6'/),
    );
  });

  it('rejects a header declaring 100000 x 100000 with too_many_pixels before any size check or allocation', async () => {
    const header = Buffer.alloc(64);
    header.write('AXR6', 0, 'latin1');
    header.writeUInt32LE(100000, 8);
    header.writeUInt32LE(100000, 12);
    const alloc = jest.spyOn(Buffer, 'allocUnsafe');
    try {
      await withInputFiles([{ name: 'huge.axr', data: header }], (input) =>
        expectCode(new RawProfileAdapter(aurora).convert(input), 'too_many_pixels', /100000 x 100000/),
      );
      // No pixel buffer was allocated (Node itself allocates a few small buffers for file I/O).
      const sizes = alloc.mock.calls.map(([size]) => size);
      expect(sizes.every((size) => size < 4096)).toBe(true);
    } finally {
      alloc.mockRestore();
    }
  });

  it('rejects a zero size and an unknown view code as malformed_input', async () => {
    const [file] = writeRawProfile(aurora, dualScan());
    const zero = Buffer.from(file.data);
    zero.writeUInt32LE(0, 8);
    await withInputFiles([{ name: 'z.axr', data: zero }], (input) =>
      expectCode(new RawProfileAdapter(aurora).convert(input), 'malformed_input', /impossible image size 0 x 120/),
    );
    const badView = Buffer.from(file.data);
    badView.writeUInt16LE(7, 6);
    await withInputFiles([{ name: 'v.axr', data: badView }], (input) =>
      expectCode(new RawProfileAdapter(aurora).convert(input), 'malformed_input', /unknown view code 7/),
    );
  });

  it('refuses two files of the same view as incomplete_scan', async () => {
    const [file] = writeRawProfile(aurora, dualScan());
    await withInputFiles(
      [
        { name: 'a.axr', data: file.data },
        { name: 'b.axr', data: file.data },
      ],
      (input) => expectCode(new RawProfileAdapter(aurora).convert(input), 'incomplete_scan', /b\.axr/),
    );
  });

  it('clamps and reports 12-bit samples above 4095', async () => {
    const [file] = writeRawProfile(borealis, dualScan());
    const data = Buffer.from(file.data);
    data.writeUInt16BE(0xf123, 512);
    const conversion = await withInputFiles([{ name: 'b.bde', data }], (input) => new RawProfileAdapter(borealis).convert(input));
    expect(conversion.warnings).toEqual(['b.bde: 1 samples outside the uint12 range were clamped']);
  });
});

describe('loadProfiles', () => {
  const base = JSON.parse(JSON.stringify(aurora)) as Record<string, unknown>;

  function withProfileDir(files: Record<string, string>, fn: (dir: string) => void): void {
    const dir = mkdtempSync(join(tmpdir(), 'niix-profiles-'));
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('names the file and the field of an invalid profile', () => {
    withProfileDir({ 'bad.json': JSON.stringify({ ...base, sample: 'uint10' }), 'notes.txt': 'ignored' }, (dir) => {
      expect(() => loadProfiles([dir])).toThrow(RawProfileError);
      expect(() => loadProfiles([dir])).toThrow(/bad\.json is invalid: field "sample"/);
    });
    withProfileDir({ 'w.json': JSON.stringify({ ...base, width: { offset: 62, type: 'uint32' } }) }, (dir) => {
      expect(() => loadProfiles([dir])).toThrow(/w\.json is invalid: field "width": bytes 62\.\.65 lie outside the header \(64 bytes\)/);
    });
  });

  it('reports bad JSON and duplicate ids', () => {
    withProfileDir({ 'a.json': '{ "id": ' }, (dir) => {
      expect(() => loadProfiles([dir])).toThrow(/a\.json is not valid JSON/);
    });
    withProfileDir({ 'a.json': JSON.stringify(base), 'b.json': JSON.stringify(base) }, (dir) => {
      expect(() => loadProfiles([dir])).toThrow(/b\.json: id "aurora-ax6" is already used by .*a\.json/);
    });
  });

  it('checks the plane list', () => {
    expect(() => parseProfile(JSON.stringify({ ...base, planes: ['high', 'high'] }), 'x')).toThrow(/field "planes"/);
    expect(() => parseProfile(JSON.stringify({ ...base, magic: { ascii: 'A', hex: '41' } }), 'x')).toThrow(/field "magic"/);
  });
});
