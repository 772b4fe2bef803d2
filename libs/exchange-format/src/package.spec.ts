import { ConversionError } from '../../scanner-adapters/src/adapter.js';
import { manifestSchema } from './manifest.js';
import { buildPackage, PackageIntegrityError, readPackage, sha256Hex, type PackagePart } from './package.js';
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
