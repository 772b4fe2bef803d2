import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeBundle } from '../../../exchange-format/src/bundle.js';
import { buildPackage, type BuiltPackage } from '../../../exchange-format/src/package.js';
import { sampleBuildInput, sampleConversion } from '../../../exchange-format/src/sample-package.testing.js';
import { type ConversionInput, ConversionError, SNIFF_BYTES } from '../adapter.js';
import { NiixBundleAdapter } from './niix-bundle.adapter.js';

const limits = { maxPixelsPerPlane: 10_000, maxPixelsPerScan: 40_000 };

async function inputOf(path: string): Promise<ConversionInput> {
  return { files: [{ name: 'export.niix.tar', path, size: (await stat(path)).size }], limits };
}

describe(NiixBundleAdapter.name, () => {
  const adapter = new NiixBundleAdapter();
  let dir: string;
  let built: BuiltPackage;
  let bundlePath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'niix-bundle-adapter-'));
    built = await buildPackage(sampleBuildInput());
    bundlePath = join(dir, 'export.niix.tar');
    await pipeline(writeBundle(built.manifest, built.parts), createWriteStream(bundlePath));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sniffs a tar whose first entry is manifest.json, and nothing else', async () => {
    const head = (await readFile(bundlePath)).subarray(0, SNIFF_BYTES);
    expect(adapter.sniff(head, 'export.niix.tar')).toBe('primary');
    const other = Buffer.from(head);
    other.write('readme.txt\0\0\0\0', 0, 'latin1');
    expect(adapter.sniff(other, 'x.tar')).toBeNull();
    expect(adapter.sniff(head.subarray(0, 300), 'x.tar')).toBeNull();
    expect(adapter.sniff(new Uint8Array(4096), 'x.tar')).toBeNull();
  });

  it('gives back the same planes and facts, and where the scan came from', async () => {
    const conversion = await adapter.convert(await inputOf(bundlePath));
    const source = sampleConversion();
    const values = (c: typeof source): unknown =>
      c.views.map((v) => ({ ...v, planes: v.planes.map((p) => ({ ...p, data: Array.from(p.data) })) }));
    expect(values(conversion)).toEqual(values(source));
    expect(conversion.scanner).toEqual(source.scanner);
    expect(conversion.acquiredAt).toBe(source.acquiredAt);
    expect(conversion.warnings).toEqual(source.warnings);
    expect(conversion.conveyance).toEqual(built.manifest.conveyance);
    expect(conversion.importedFrom).toEqual({ scanId: 'scn_01HZX3', stationId: 'lv-terehova-1' });

    // Packaging the import again keeps the facts and the first origin.
    const again = await buildPackage(
      sampleBuildInput({ scanId: 'scn_EE77', stationId: 'ee-import', conversion, metadata: {} }),
    );
    expect(again.manifest.conveyance).toEqual(built.manifest.conveyance);
    expect(again.manifest.provenance.importedFrom).toEqual({ scanId: 'scn_01HZX3', stationId: 'lv-terehova-1' });
    expect(again.parts.map((p) => p.data)).toEqual(built.parts.map((p) => p.data));
  });

  it('reports a tampered plane as malformed_input naming the part', async () => {
    const tar = await readFile(bundlePath);
    const lowPng = built.parts[1].data;
    const at = tar.indexOf(lowPng) + lowPng.length - 30;
    tar[at] ^= 0x01;
    const tampered = join(dir, 'tampered.tar');
    await writeFile(tampered, tar);
    const error = await adapter.convert(await inputOf(tampered)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConversionError);
    expect(error).toMatchObject({ code: 'malformed_input' });
    expect((error as Error).message).toContain('views/top/low.png');
  });

  it('maps broken bundles to malformed_input and oversized planes to too_many_pixels', async () => {
    const truncated = join(dir, 'truncated.tar');
    await writeFile(truncated, (await readFile(bundlePath)).subarray(0, 3000));
    await expect(adapter.convert(await inputOf(truncated))).rejects.toMatchObject({ code: 'malformed_input' });
    const input = await inputOf(bundlePath);
    await expect(adapter.convert({ ...input, limits: { maxPixelsPerPlane: 100, maxPixelsPerScan: 40_000 } })).rejects.toMatchObject({
      code: 'too_many_pixels',
    });
    await expect(adapter.convert({ ...input, files: [...input.files, ...input.files] })).rejects.toMatchObject({
      code: 'incomplete_scan',
    });
  });
});
