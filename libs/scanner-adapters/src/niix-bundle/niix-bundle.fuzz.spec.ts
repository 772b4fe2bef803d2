import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { writeBundle, writeTar } from '../../../exchange-format/src/bundle.js';
import { buildPackage, serialiseManifest, sha256Hex } from '../../../exchange-format/src/package.js';
import { SAMPLE_ORIGINAL_BYTES, sampleBuildInput } from '../../../exchange-format/src/sample-package.testing.js';
import {
  applyMutations,
  describeMutated,
  FuzzRunner,
  fuzzTimeout,
  mutatedCaseArbitrary,
  mutationArbitrary,
  type FuzzBase,
  type FuzzFile,
  type MutatedCase,
  type Mutation,
} from '../fuzz.testing.js';
import { jsonStringFields, pngFields, resealTarChecksums, tarFields, textNumberFields } from '../hostile-files.testing.js';
import { NiixBundleAdapter } from './niix-bundle.adapter.js';

/**
 * Fuzzing of the niix bundle adapter (see fuzz.testing.ts; NIIX_FUZZ_RUNS sets the size). A bundle checks itself (tar
 * header checksums, sha-256 of every part in the manifest), so plain byte edits mostly stop at the first check. Cases
 * therefore edit the package's parts (manifest.json, plane PNGs, original), reseal the part checksums in the manifest
 * when asked, write the tar, then edit the tar's headers and reseal their checksums when asked: so the edits reach the
 * manifest validation and the PNG decoder too.
 */

const MTIME = new Date('2026-11-20T06:16:02.000Z');
const BUNDLE_NAME = 'export.niix.tar';

interface BundleCase {
  parts: MutatedCase | null;
  resealParts: boolean;
  tar: Mutation[];
  resealTar: boolean;
}

/** The manifest's checksums (and original sizes) made to match the parts again; left alone if it is not JSON. */
function resealManifest(parts: FuzzFile[]): FuzzFile[] {
  const [manifestPart, ...others] = parts;
  let manifest: {
    views?: { planes?: { path?: string; sha256?: string }[] }[];
    provenance?: { originals?: { name?: string; size?: number; sha256?: string }[] };
  };
  try {
    manifest = JSON.parse(manifestPart.data.toString('utf8'));
  } catch {
    return parts;
  }
  const byPath = new Map(others.map((p) => [p.name, p.data]));
  for (const view of Array.isArray(manifest?.views) ? manifest.views : []) {
    for (const plane of Array.isArray(view?.planes) ? view.planes : []) {
      const data = typeof plane?.path === 'string' ? byPath.get(plane.path) : undefined;
      if (data) plane.sha256 = sha256Hex(data);
    }
  }
  for (const original of Array.isArray(manifest?.provenance?.originals) ? manifest.provenance.originals : []) {
    const data = byPath.get(`originals/${original?.name}`);
    if (data && original) {
      original.sha256 = sha256Hex(data);
      original.size = data.length;
    }
  }
  return [{ name: manifestPart.name, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) }, ...others];
}

describe(`${NiixBundleAdapter.name} fuzzing`, () => {
  const adapter = new NiixBundleAdapter();
  const runner = new FuzzRunner(adapter);
  let partsBase: FuzzBase;
  let bundleBase: FuzzBase;

  beforeAll(async () => {
    const built = await buildPackage(sampleBuildInput());
    const files: FuzzFile[] = [
      { name: 'manifest.json', data: serialiseManifest(built.manifest) },
      ...built.parts.map((p) => ({ name: p.path, data: p.data })),
      { name: 'originals/scan-0042.ax6', data: SAMPLE_ORIGINAL_BYTES },
    ];
    partsBase = {
      label: 'sample package parts',
      files,
      numeric: files.flatMap((f, i) => (f.name.endsWith('.png') ? pngFields(f.data, i) : [])),
      text: [...textNumberFields(files[0].data, 0), ...jsonStringFields(files[0].data, 0)],
    };
    const tar = await buffer(writeBundle(built.manifest, [...built.parts, { path: 'originals/scan-0042.ax6', data: SAMPLE_ORIGINAL_BYTES }]));
    bundleBase = { label: 'sample bundle', files: [{ name: BUNDLE_NAME, data: tar }], numeric: [], text: tarFields(tar) };
    await runner.start();
  });

  afterAll(async () => {
    await runner.stop();
    console.log(runner.summary());
  });

  async function bundleOf(c: BundleCase): Promise<FuzzFile[]> {
    let parts = c.parts ? applyMutations(partsBase, c.parts.mutations) : partsBase.files;
    if (c.resealParts) parts = resealManifest(parts);
    const tar = await buffer(writeTar(parts.map((p) => ({ path: p.name, data: p.data })), { mtime: MTIME }));
    const tarBase: FuzzBase = { label: 'bundle', files: [{ name: BUNDLE_NAME, data: tar }], numeric: [], text: tarFields(tar) };
    const [file] = applyMutations(tarBase, c.tar);
    return [{ name: BUNDLE_NAME, data: c.resealTar ? resealTarChecksums(file.data) : file.data }];
  }

  it(
    'converts or refuses with a ConversionError every bundle with edited parts or tar headers, in bounded time and memory',
    async () => {
      const arbitrary: fc.Arbitrary<BundleCase> = fc.record({
        parts: fc.option(mutatedCaseArbitrary([partsBase]), { freq: 4 }),
        resealParts: fc.boolean(),
        tar: fc.array(mutationArbitrary, { maxLength: 2 }),
        resealTar: fc.boolean(),
      });
      await runner.property(arbitrary, async (c) => ({
        files: await bundleOf(c),
        label: `${c.parts ? describeMutated(partsBase, c.parts) : 'parts unchanged'}; resealed ${c.resealParts}; tar ${JSON.stringify(c.tar, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : v))}; tar checksums resealed ${c.resealTar}`,
      }));
    },
    fuzzTimeout(),
  );

  it(
    'converts or refuses with a ConversionError random bytes after the first bytes of a bundle',
    async () => {
      await runner.randomProperty([bundleBase]);
    },
    fuzzTimeout(),
  );
});
