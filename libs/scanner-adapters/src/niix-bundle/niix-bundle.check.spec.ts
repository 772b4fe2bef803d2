import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeBundle } from '../../../exchange-format/src/bundle.js';
import { buildPackage, serialiseManifest } from '../../../exchange-format/src/package.js';
import { sampleBuildInput } from '../../../exchange-format/src/sample-package.testing.js';
import { checkOutcome, fuzzCheck, headOf, type FileBytes } from '../raw-profile/head-check.testing.js';
import { NiixBundleAdapter } from './niix-bundle.adapter.js';

const adapter = new NiixBundleAdapter();
const limits = { maxPixelsPerPlane: 10_000, maxPixelsPerScan: 40_000 };

/** A tar header's checksum made right again after a field was changed. */
function fixChecksum(tar: Buffer): void {
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i];
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

describe('NiixBundleAdapter.check', () => {
  let bundle: FileBytes & { data: Buffer };
  let manifestLength: number;
  beforeAll(async () => {
    const built = await buildPackage(sampleBuildInput());
    manifestLength = serialiseManifest(built.manifest).length;
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    await pipeline(writeBundle(built.manifest, built.parts), sink);
    bundle = { name: 'export.niix.tar', data: Buffer.concat(chunks) };
  });

  it('passes a valid bundle, its manifest read from the head', () => {
    expect(512 + manifestLength).toBeLessThan(bundle.data.length);
    expect(checkOutcome(adapter, [headOf(bundle)], limits)).toBeUndefined();
  });

  it('refuses a bundle cut inside manifest.json', () => {
    const error = checkOutcome(adapter, [headOf(bundle, 600)], limits);
    expect(error?.code).toBe('malformed_input');
    expect(error?.message).toBe(
      `export.niix.tar: entry manifest.json claims ${manifestLength} bytes but the file ends 88 bytes later: the bundle is truncated or damaged`,
    );
    expect(checkOutcome(adapter, [headOf(bundle, 300)], limits)?.message).toMatch(/300 bytes cannot hold a tar header/);
  });

  it('refuses a first tar header with a bad checksum', () => {
    const damaged = Buffer.from(bundle.data);
    damaged[140] ^= 0x01; // inside the mtime field
    const error = checkOutcome(adapter, [headOf({ name: 'x.tar', data: damaged })], limits);
    expect(error?.code).toBe('malformed_input');
    expect(error?.message).toMatch(/tar header of manifest\.json at byte 0 is damaged \(checksum mismatch\)/);
  });

  it('refuses a manifest that is not valid JSON, or not a valid manifest', () => {
    const broken = Buffer.from(bundle.data);
    broken.write('}', 512, 'latin1');
    expect(checkOutcome(adapter, [headOf({ name: 'x.tar', data: broken })], limits)?.message).toMatch(/manifest\.json is not valid JSON/);
    const invalid = Buffer.from(bundle.data);
    const text = invalid.toString('utf8', 512, 512 + manifestLength);
    const at = text.indexOf('"views"');
    invalid.write('"vievs"', 512 + at, 'utf8');
    expect(checkOutcome(adapter, [headOf({ name: 'x.tar', data: invalid })], limits)?.code).toBe('malformed_input');
  });

  it('refuses views over the limit with too_many_pixels, and more than one file', () => {
    const error = checkOutcome(adapter, [headOf(bundle)], { maxPixelsPerPlane: 100, maxPixelsPerScan: 40_000 });
    expect(error?.code).toBe('too_many_pixels');
    expect(checkOutcome(adapter, [headOf(bundle), headOf(bundle)], limits)?.code).toBe('incomplete_scan');
  });

  it('leaves a manifest longer than the head to convert, but not one longer than the file', () => {
    const long = Buffer.from(bundle.data);
    long.write(`${(70_000).toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
    fixChecksum(long);
    expect(checkOutcome(adapter, [headOf({ name: 'x.tar', data: long }, 200_000)], limits)).toBeUndefined();
    expect(checkOutcome(adapter, [headOf({ name: 'x.tar', data: long }, 60_000)], limits)?.code).toBe('malformed_input');
  });

  it('never throws anything but ConversionError on damaged heads', () => {
    expect(fuzzCheck(adapter, [[bundle]], limits)).toBeGreaterThan(0);
  });
});
