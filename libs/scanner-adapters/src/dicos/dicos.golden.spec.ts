import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConversionError, type Conversion } from '../adapter.js';
import { DicosAdapter } from './dicos.adapter.js';

/**
 * Golden test: every fixture converts to exactly the recorded views and plane checksums, or fails with the
 * recorded error code. Regenerate with `UPDATE_GOLDEN=1 npx jest libs/scanner-adapters/src/dicos/dicos.golden`
 * and check the diff by eye.
 */
const dir = join(__dirname, 'fixtures');
const goldenPath = join(dir, 'golden.json');
const limits = { maxPixelsPerPlane: 50_000_000, maxPixelsPerScan: 200_000_000 };

interface GoldenOutcome {
  error?: string;
  scanner?: Conversion['scanner'];
  acquiredAt?: string | null;
  views?: {
    id: string;
    width: number;
    height: number;
    pixelSpacingMm: { x: number; y: number } | null;
    airValue: number;
    planes: { energy: string; sha256: string }[];
  }[];
  warnings?: string[];
}

const sha256 = (data: Uint16Array): string =>
  createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

async function outcome(file: string): Promise<GoldenOutcome> {
  const path = join(dir, file);
  try {
    const result = await new DicosAdapter().convert({ files: [{ name: file, path, size: statSync(path).size }], limits });
    return {
      scanner: result.scanner,
      acquiredAt: result.acquiredAt,
      views: result.views.map((v) => ({
        id: v.id,
        width: v.width,
        height: v.height,
        pixelSpacingMm: v.pixelSpacingMm,
        airValue: v.airValue,
        planes: v.planes.map((p) => ({ energy: p.energy, sha256: sha256(p.data) })),
      })),
      warnings: result.warnings,
    };
  } catch (error) {
    if (error instanceof ConversionError) return { error: error.code };
    throw error;
  }
}

const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort();
const outcomes = new Map<string, GoldenOutcome>();

beforeAll(async () => {
  for (const file of files) outcomes.set(file, await outcome(file));
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(goldenPath, `${JSON.stringify(Object.fromEntries(outcomes), null, 2)}\n`);
  }
});

describe('DicosAdapter golden fixtures', () => {
  const golden: Record<string, GoldenOutcome> = existsSync(goldenPath) ? JSON.parse(readFileSync(goldenPath, 'utf8')) : {};

  it.each(files)('%s matches golden.json', (file) => {
    expect(golden[file]).toBeDefined();
    expect(outcomes.get(file)).toEqual(golden[file]);
  });

  const planeHashes = (file: string): string[] => (outcomes.get(file)?.views ?? []).flatMap((v) => v.planes.map((p) => p.sha256));

  it('gives the same CT1 pixels from implicit, explicit, big-endian and JPEG-LS lossless files', () => {
    const reference = planeHashes('CT1_UNC.explicit_little_endian.dcm');
    expect(reference).toHaveLength(1);
    for (const f of ['CT1_UNC.implicit_little_endian.dcm', 'CT1_UNC.explicit_big_endian.dcm', 'CT1_UNC.fragmented_bot_jpeg_ls.80.dcm']) {
      expect(planeHashes(f)).toEqual(reference);
    }
  });

  it('gives the same CT0012 frames from RLE and lossless JPEG (fragmented, no offset table)', () => {
    const rle = planeHashes('CT0012.not_fragmented_bot_rle.dcm');
    expect(rle).toHaveLength(2);
    expect(rle[0]).not.toEqual(rle[1]);
    expect(planeHashes('CT0012.fragmented_no_bot_jpeg_lossless.70.dcm')).toEqual(rle);
  });

  it('decodes the emri multi-frame as ten views', () => {
    expect(outcomes.get('emri_small.dcm')?.views?.map((v) => v.id)).toEqual(Array.from({ length: 10 }, (_, i) => `view-${i + 1}`));
  });

  it('rejects broken files as malformed input', () => {
    for (const f of ['MR_truncated.dcm', 'emri_small_jpeg_2k_lossless_too_short.dcm', 'JPEG2000-embedded-sequence-delimiter.dcm', 'no_meta.dcm']) {
      expect({ f, error: outcomes.get(f)?.error }).toEqual({ f, error: 'malformed_input' });
    }
  });
});
