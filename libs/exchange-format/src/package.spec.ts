import { ConversionError } from '../../scanner-adapters/src/adapter.js';
import { blackPng } from '../../scanner-adapters/src/hostile-files.testing.js';
import { type Manifest, manifestSchema } from './manifest.js';
import { buildPackage, PackageIntegrityError, pngDeclaredSize, readPackage, sha256Hex, type PackagePart } from './package.js';
import { sampleBuildInput, sampleConversion } from './sample-package.testing.js';

function reader(parts: PackagePart[]): (path: string) => Promise<Buffer> {
  const byPath = new Map(parts.map((p) => [p.path, p.data]));
  return async (path) => {
    const data = byPath.get(path);
    if (!data) throw new Error(`no part ${path}`);
    return data;
  };
}

async function conversionErrorOf(promise: Promise<unknown>): Promise<ConversionError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConversionError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('buildPackage / readPackage', () => {
  it('writes one 16-bit PNG per plane with its sha-256 and reads every value back', async () => {
    const input = sampleBuildInput();
    const { manifest, parts } = await buildPackage(input);
    expect(manifestSchema.parse(manifest)).toEqual(manifest);
    expect(parts.map((p) => p.path)).toEqual(['views/top/high.png', 'views/top/low.png', 'views/side/single.png']);
    expect(manifest.views[0].planes[0]).toEqual({
      energy: 'high',
      path: 'views/top/high.png',
      sha256: sha256Hex(parts[0].data),
      nominalEnergy: '6 MV',
    });
    expect(manifest).toMatchObject({
      format: 'niix-exchange',
      version: '1.0',
      acquiredAt: '2026-11-20T08:15:30+02:00',
      conveyance: {
        containers: [
          { number: 'CSQU3054383', checkDigitValid: true },
          { number: 'MSKU9070323', checkDigitValid: true },
        ],
        licencePlates: ['LVAB1234'],
        fields: { riskScore: 72, reference: 'T1-0042' },
      },
      provenance: { adapter: { id: 'raw:acme-ax6' }, convertedAt: '2026-11-20T06:16:02.000Z' },
    });

    const back = await readPackage(JSON.parse(JSON.stringify(manifest)), reader(parts));
    const source = sampleConversion();
    expect(back.views.map((v) => ({ ...v, planes: v.planes.map((p) => ({ ...p, data: Array.from(p.data) })) }))).toEqual(
      source.views.map((v) => ({ ...v, planes: v.planes.map((p) => ({ ...p, data: Array.from(p.data) })) })),
    );
  });

  it('refuses views whose planes differ in size, bad view ids and repeated energies (incomplete_scan)', async () => {
    const unequal = sampleConversion();
    unequal.views[0].planes[1].data = new Uint16Array(10);
    const error = await conversionErrorOf(buildPackage(sampleBuildInput({ conversion: unequal })));
    expect(error.code).toBe('incomplete_scan');
    expect(error.message).toContain('low plane of view "top"');

    const badId = sampleConversion();
    badId.views[1].id = '../side';
    expect((await conversionErrorOf(buildPackage(sampleBuildInput({ conversion: badId })))).code).toBe('incomplete_scan');

    const twice = sampleConversion();
    twice.views[0].planes[1].energy = 'high';
    expect((await conversionErrorOf(buildPackage(sampleBuildInput({ conversion: twice })))).message).toContain('two high planes');
  });

  it('refuses facts that make no valid manifest (malformed_input)', async () => {
    const conversion = sampleConversion();
    conversion.acquiredAt = '20/11/2026';
    const error = await conversionErrorOf(buildPackage(sampleBuildInput({ conversion })));
    expect(error.code).toBe('malformed_input');
    expect(error.message).toContain('acquiredAt');
  });

  it('names the damaged part when a plane does not match its sha-256', async () => {
    const { manifest, parts } = await buildPackage(sampleBuildInput());
    const damaged = parts.map((p) => ({ ...p, data: Buffer.from(p.data) }));
    damaged[1].data[damaged[1].data.length - 20] ^= 0xff;
    await expect(readPackage(manifest, reader(damaged))).rejects.toThrow(
      expect.objectContaining({ name: 'PackageIntegrityError', part: 'views/top/low.png' }),
    );
  });

  it('rejects manifests that are not valid or name paths outside the layout', async () => {
    const { manifest, parts } = await buildPackage(sampleBuildInput());
    await expect(readPackage({ ...manifest, views: [] }, reader(parts))).rejects.toThrow(PackageIntegrityError);
    const moved = structuredClone(manifest);
    moved.views[0].planes[0].path = '../../etc/passwd';
    await expect(readPackage(moved, reader(parts))).rejects.toThrow('must be at views/top/high.png');
    await expect(readPackage({ ...manifest, version: '2.0' }, reader(parts))).rejects.toThrow(/version/);
    expect(manifestSchema.safeParse({ ...manifest, version: '1.7' }).success).toBe(true);
  });
});

describe('readPackage checks sizes before decoding', () => {
  /** A PNG whose image data stops after one row: decoding it fails, so a refusal naming its size came from IHDR. */
  const headerOnly = (width: number, height: number): Buffer => blackPng(width, height, 16, { idatRows: 1 });

  /** The sample package with `part` replaced (its sha-256 in the manifest updated) and the top view resized. */
  async function withPart(data: Buffer, top?: { width: number; height: number }): Promise<{ manifest: Manifest; parts: PackagePart[] }> {
    const { manifest, parts } = await buildPackage(sampleBuildInput());
    const changed = structuredClone(manifest);
    if (top) Object.assign(changed.views[0], top);
    changed.views[0].planes[0].sha256 = sha256Hex(data);
    return { manifest: changed, parts: parts.map((p) => (p.path === 'views/top/high.png' ? { path: p.path, data } : p)) };
  }

  it('reads the size in IHDR from the first 24 bytes', () => {
    expect(pngDeclaredSize(headerOnly(900, 1000))).toEqual({ width: 900, height: 1000 });
    expect(pngDeclaredSize(Buffer.from('not a png, not at all'))).toBeUndefined();
  });

  it('with limits, refuses a manifest over the per-scan or the per-plane limit before reading any part', async () => {
    const { manifest, parts } = await buildPackage(sampleBuildInput());
    const readPart = jest.fn(reader(parts));
    // top: 2 planes of 40 x 24, side: 1 of 32 x 16 = 2432 pixels.
    const overScan = await conversionErrorOf(readPackage(manifest, readPart, { limits: { maxPixelsPerPlane: 1000, maxPixelsPerScan: 2431 } }));
    expect(overScan.code).toBe('too_many_pixels');
    expect(overScan.message).toBe(
      'the scan has 3 planes (2 of 40 x 24, 1 of 32 x 16) = 2,432 pixels in all; this service accepts at most 2,431 per scan (NIIX_MAX_PIXELS_PER_SCAN)',
    );
    const overPlane = await conversionErrorOf(readPackage(manifest, readPart, { limits: { maxPixelsPerPlane: 959, maxPixelsPerScan: 10_000 } }));
    expect(overPlane.code).toBe('too_many_pixels');
    expect(readPart).not.toHaveBeenCalled();
    await expect(readPackage(manifest, readPart, { limits: { maxPixelsPerPlane: 960, maxPixelsPerScan: 2432 } })).resolves.toBeDefined();
  });

  it('refuses a plane PNG whose IHDR is not its view\'s size, or over the plane limit, without decoding it', async () => {
    const { manifest, parts } = await withPart(headerOnly(900, 1000));
    await expect(readPackage(manifest, reader(parts))).rejects.toThrow(
      expect.objectContaining({ name: 'PackageIntegrityError', part: 'views/top/high.png', message: 'part views/top/high.png is 900 x 1000 pixels, the manifest says 40 x 24' }),
    );
    const limited = await conversionErrorOf(readPackage(manifest, reader(parts), { limits: { maxPixelsPerPlane: 10_000, maxPixelsPerScan: 100_000 } }));
    expect(limited.code).toBe('too_many_pixels');
    expect(limited.message).toMatch(/views\/top\/high\.png declares a plane of 900 x 1000 pixels, more than the limit of 10000/);
  });

  it('refuses a part that does not start with a PNG header as not a plane PNG', async () => {
    const { manifest, parts } = await withPart(Buffer.from('GIF89a and then some bytes'));
    await expect(readPackage(manifest, reader(parts))).rejects.toThrow(/views\/top\/high\.png is not a 16-bit greyscale PNG: it does not start with the PNG signature/);
  });

  it('turns the image library refusing a plane for its size into too_many_pixels, not an integrity error', async () => {
    // 50000 x 50000 = 2.5 billion pixels, more than the image library decodes: it refuses from the header.
    const { manifest, parts } = await withPart(headerOnly(50_000, 50_000), { width: 50_000, height: 50_000 });
    const error = await conversionErrorOf(readPackage(manifest, reader(parts)));
    expect(error.code).toBe('too_many_pixels');
    expect(error.message).toMatch(/50000 x 50000.*exceeds pixel limit/);
  });
});
