import { join } from 'node:path';
import { RawProfileAdapter } from './raw-profile.adapter.js';
import { checkOutcome, fuzzCheck, headOf } from './head-check.testing.js';
import { loadProfiles } from './raw-profile.loader.js';
import { writeRawProfile } from './raw-profile.writer.js';
import { syntheticScan } from './synthetic-scan.testing.js';

const [aurora, borealis] = loadProfiles([join(process.cwd(), 'libs/scanner-adapters/profiles')]);
const limits = { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 };
const scan = (views: string[]) => syntheticScan({ width: 300, height: 120, views: views.map((id) => ({ id, energies: ['high', 'low'] })) });

describe('RawProfileAdapter.check', () => {
  const adapter = new RawProfileAdapter(aurora);
  const files = writeRawProfile(aurora, scan(['top', 'side']));

  it('passes valid files of both profiles', () => {
    expect(checkOutcome(adapter, files.map((f) => headOf(f)), limits)).toBeUndefined();
    const [side] = writeRawProfile(borealis, scan(['side']));
    expect(checkOutcome(new RawProfileAdapter(borealis), [headOf(side)], limits)).toBeUndefined();
  });

  it('refuses a truncated or overlong file naming expected and actual bytes', () => {
    const short = checkOutcome(adapter, [headOf(files[0], 143064)], limits);
    expect(short?.code).toBe('malformed_input');
    expect(short?.message).toMatch(/should be 144064 bytes .* but is 143064 bytes \(truncated\)/);
    const long = checkOutcome(adapter, [headOf(files[0], 144065)], limits);
    expect(long?.code).toBe('malformed_input');
    expect(long?.message).toMatch(/should be 144064 bytes .* but is 144065 bytes \(too long\)/);
  });

  it('refuses a header declaring 100000 x 100000 with too_many_pixels, whatever the size', () => {
    const header = Buffer.from(files[0].data.subarray(0, 64));
    header.writeUInt32LE(100000, 8);
    header.writeUInt32LE(100000, 12);
    const error = checkOutcome(adapter, [headOf({ name: 'huge.axr', data: header })], limits);
    expect(error?.code).toBe('too_many_pixels');
    expect(error?.message).toMatch(/100000 x 100000/);
  });

  it('refuses a wrong magic, an unknown view code and two files of one view, as convert does', () => {
    const wrong = Buffer.from(files[0].data);
    wrong.write('AXR7', 0, 'latin1');
    expect(checkOutcome(adapter, [headOf({ name: 'x.axr', data: wrong })], limits)?.message).toMatch(/magic 'AXR6'/);
    const badView = Buffer.from(files[0].data);
    badView.writeUInt16LE(7, 6);
    expect(checkOutcome(adapter, [headOf({ name: 'v.axr', data: badView })], limits)?.message).toMatch(/unknown view code 7/);
    const twice = checkOutcome(adapter, [headOf(files[0]), headOf({ name: 'b.axr', data: files[0].data })], limits);
    expect(twice?.code).toBe('incomplete_scan');
    expect(twice?.message).toMatch(/b\.axr is a duplicate/);
  });

  it('never throws anything but ConversionError on damaged heads', () => {
    expect(fuzzCheck(adapter, [files, [files[1]]], limits)).toBeGreaterThan(0);
    const [b] = writeRawProfile(borealis, scan(['top']));
    expect(fuzzCheck(new RawProfileAdapter(borealis), [[b]], limits, 200, 2)).toBeGreaterThan(0);
  });
});
