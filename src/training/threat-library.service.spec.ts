import { encodeGrey8, encodePng16 } from '../../libs/imaging/src/raster.js';
import { withMemoryWatch } from '../../libs/scanner-adapters/src/fuzz.testing.js';
import { blackPng } from '../../libs/scanner-adapters/src/hostile-files.testing.js';
import { strictMock, strictMockOf, strictValue } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import { type ThreatItemUploadPart, ThreatLibraryService } from './threat-library.service.js';
import { type ThreatItemRow, TrainingRepository } from './training.repository.js';
import { itemPlanes } from '../../test/builders.js';

const NOW = new Date('2026-05-04T08:00:00Z');
const ITEM_ID = '6f708192-0000-4000-8000-0000000000aa';
const trainer: UserPrincipal = { kind: 'user', id: '1a2b3c4d-0000-4000-8000-000000000003', username: 'trudy', roles: ['trainer'] };
const fields = { name: 'Detonator kit', category: 'explosives', pixelSpacingMm: '5', airValue: '60000' };
/** What decoding one 20000 x 20000 plane would take (400 M values of 2 bytes); a refusal must stay far below it. */
const MEMORY_BUDGET = 50 * 1024 * 1024;

async function validPlanes(width = 40, height = 30): Promise<{ high: Buffer; low: Buffer; mask: Buffer }> {
  const { high, low, mask } = itemPlanes(width, height);
  return {
    high: await encodePng16({ width, height, data: high }),
    low: await encodePng16({ width, height, data: low }),
    mask: await encodeGrey8(width, height, mask, 'png'),
  };
}

/** A PNG whose header is valid but whose image data stops after one row: it fails if anything decodes it. */
function headerOnlyPng(width: number, height: number, bitDepth: 8 | 16): Buffer {
  return blackPng(width, height, bitDepth, { idatRows: 1 });
}

async function* uploadParts(files: Record<string, Buffer>, values: Record<string, string> = fields): AsyncIterable<ThreatItemUploadPart> {
  for (const [name, value] of Object.entries(values)) yield { kind: 'field', name, value };
  for (const [name, data] of Object.entries(files)) yield { kind: 'file', name, data: Promise.resolve(data) };
}

describe(ThreatLibraryService.name, () => {
  let storage: jest.Mocked<ObjectStorage>;
  let training: jest.Mocked<TrainingRepository>;
  let audit: jest.Mocked<AuditRepository>;
  let service: ThreatLibraryService;

  function build(maxPixelsPerScan = 100_000_000): ThreatLibraryService {
    const config = strictValue<AppConfig>('AppConfig', {
      limits: { maxUploadBytes: 1e9, maxPixelsPerPlane: 100_000_000, maxPixelsPerScan },
    });
    return new ThreatLibraryService(config, storage, training, audit, strictMock(Clock, { now: () => NOW, newId: () => ITEM_ID }));
  }

  beforeEach(() => {
    storage = strictMockOf<ObjectStorage>('ObjectStorage', ['putStream', 'put', 'get', 'getStream', 'getRange', 'download', 'stat', 'deletePrefix', 'ping']);
    training = strictMock(TrainingRepository);
    audit = strictMock(AuditRepository);
    service = build();
  });

  /** The ApiError the upload is refused with, and the resident memory it added at its peak. */
  async function refusal(files: Record<string, Buffer>, on = service): Promise<{ status: number; code: string; message: string; growth: number }> {
    const { error, growth } = await withMemoryWatch(() => on.upload(trainer, uploadParts(files)));
    if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
    const body = error.getResponse() as { error: { code: string; message: string } };
    return { status: error.getStatus(), code: body.error.code, message: body.error.message, growth };
  }

  it('stores a valid upload: planes decoded one after the other, the item recorded', async () => {
    storage.put.mockResolvedValue(undefined);
    training.insertThreatItem.mockResolvedValue(true);
    audit.record.mockResolvedValue(undefined);
    const row: ThreatItemRow = {
      id: ITEM_ID,
      name: fields.name,
      category: fields.category,
      description: '',
      width: 40,
      height: 30,
      airValue: 60_000,
      pixelSpacingMm: 5,
      source: 'upload',
      starterKey: null,
      retiredAt: null,
      createdBy: trainer.id,
      createdAt: NOW,
    };
    training.threatItem.mockResolvedValue(row);
    const created = await service.upload(trainer, uploadParts(await validPlanes()));
    expect(created).toMatchObject({ id: ITEM_ID, width: 40, height: 30, source: 'upload' });
    expect(training.insertThreatItem).toHaveBeenCalledWith(expect.objectContaining({ width: 40, height: 30, airValue: 60_000 }));
    expect(storage.put).toHaveBeenCalledTimes(4);
  });

  it('refuses a 20000 x 20000 PNG bomb (a few hundred KB of zlib zeros) with 413 before decoding it: memory stays flat', async () => {
    const bomb = blackPng(20_000, 20_000, 16);
    expect(bomb.length).toBeLessThan(1_000_000);
    const { mask } = await validPlanes();
    const asHigh = await refusal({ high: bomb, low: bomb, mask });
    expect(asHigh).toMatchObject({ status: 413, code: 'too_many_pixels' });
    expect(asHigh.message).toMatch(/high is 20000 x 20000 pixels; a threat item is at most 2048 x 2048 pixels a plane/);
    expect(asHigh.growth).toBeLessThan(MEMORY_BUDGET);

    const { high, low } = await validPlanes();
    const asMask = await refusal({ high, low, mask: blackPng(20_000, 20_000, 8) });
    expect(asMask).toMatchObject({ status: 413, code: 'too_many_pixels' });
    expect(asMask.message).toMatch(/^mask is 20000 x 20000 pixels/);
    expect(asMask.growth).toBeLessThan(MEMORY_BUDGET);
  });

  it('refuses a plane of 2049 pixels a side from its header alone (413)', async () => {
    const wide = headerOnlyPng(2049, 10, 16);
    const refused = await refusal({ high: wide, low: wide });
    expect(refused).toMatchObject({ status: 413, code: 'too_many_pixels' });
    expect(refused.message).toMatch(/2049 x 10/);
  });

  it('counts the planes together against NIIX_MAX_PIXELS_PER_SCAN', async () => {
    // 40 x 30 x 3 planes = 3600 pixels, over a limit of 3000; each plane alone is well within it.
    const refused = await refusal(await validPlanes(), build(3000));
    expect(refused).toMatchObject({ status: 413, code: 'too_many_pixels' });
    expect(refused.message).toMatch(/hold 3600 pixels in all; this service accepts at most 3000/);
  });

  it('refuses planes of different sizes, a mask of another size and 8-bit planes from their headers (422), before decoding', async () => {
    // Every file here fails to decode (its image data stops after one row): the reasons below come from the headers.
    const cases: [string, Record<string, Buffer>, RegExp][] = [
      ['high and low differ', { high: headerOnlyPng(40, 30, 16), low: headerOnlyPng(30, 30, 16) }, /differ in size \(40 x 30 and 30 x 30\)/],
      ['the mask differs', { high: headerOnlyPng(40, 30, 16), low: headerOnlyPng(40, 30, 16), mask: headerOnlyPng(41, 30, 8) }, /mask of the threat item is 41 x 30 pixels; its planes are 40 x 30/],
      ['8-bit planes', { high: headerOnlyPng(40, 30, 8), low: headerOnlyPng(40, 30, 8) }, /high must be a 16-bit greyscale PNG; it has 8 bits/],
      ['not an image', { high: Buffer.from('certainly not an image'), low: headerOnlyPng(40, 30, 16) }, /^high: not a readable image/],
    ];
    for (const [what, files, message] of cases) {
      const refused = await refusal(files);
      expect({ what, status: refused.status, code: refused.code }).toEqual({ what, status: 422, code: 'invalid_threat_item' });
      expect(refused.message).toMatch(message);
    }
  });

  it('decodes only planes whose headers passed: a cut-short plane of the right size is refused when decoded (422)', async () => {
    const refused = await refusal({ high: headerOnlyPng(40, 30, 16), low: headerOnlyPng(40, 30, 16) });
    expect(refused).toMatchObject({ status: 422, code: 'invalid_threat_item' });
    expect(refused.message).toMatch(/cannot be decoded/);
  });
});
