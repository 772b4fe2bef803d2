import sharp from 'sharp';
import { refusal, scanRow as buildScanRow } from '../../test/builders.js';
import { strictMock, strictMockOf } from '../../test/strict-mock.js';
import { type PlanePyramid, buildPlanePyramid } from '../../libs/imaging/src/plane-tiles.js';
import { type GreyPlane, encodePng16 } from '../../libs/imaging/src/raster.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { StationPrincipal, UserPrincipal } from '../auth/roles.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { ObjectNotFoundError, type ObjectStorage } from '../storage/object-storage.js';
import { PLANE_PYRAMID_CACHE_BYTES, PlaneTilesService, PyramidCache } from './plane-tiles.service.js';
import { ScanRepository, type ScanRow } from './scan.repository.js';
import { ScansService } from './scans.service.js';

const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const station: StationPrincipal = { kind: 'station', id: 'st-own', name: 'Lane 3' };
const otherStation: StationPrincipal = { kind: 'station', id: 'st-other', name: 'Lane 9' };
const analyst: UserPrincipal = { kind: 'user', id: 'u-1', username: 'ana', roles: ['analyst'] };
const STORAGE_METHODS = ['putStream', 'put', 'get', 'getStream', 'getRange', 'download', 'stat', 'deletePrefix', 'ping'] as const;

const WIDTH = 300;
const HEIGHT = 40;
const HIGH_KEY = `scans/${SCAN_ID}/package/views/top/high.png`;

const scanRow = (overrides: Partial<ScanRow> = {}): ScanRow =>
  buildScanRow({
    id: SCAN_ID,
    stationId: station.id,
    status: 'queued',
    manifest: {
      views: [
        {
          id: 'top',
          width: WIDTH,
          height: HEIGHT,
          planes: [
            { energy: 'high', path: 'views/top/high.png' },
            { energy: 'low', path: 'views/top/low.png' },
          ],
        },
      ],
    },
    ...overrides,
  });

function testPlane(width: number, height: number, seed: number): GreyPlane {
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761 + seed) % 65536;
  return { width, height, data };
}

async function tileValues(png: Buffer): Promise<{ width: number; height: number; values: number[] }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const values: number[] = [];
  for (let k = 0; k < data.length; k += info.channels) values.push(data[k] * 256 + data[k + 1]);
  return { width: info.width, height: info.height, values };
}

describe(PlaneTilesService.name, () => {
  let storage: jest.Mocked<ObjectStorage>;
  let scans: jest.Mocked<ScanRepository>;
  let audit: jest.Mocked<AuditRepository>;
  let service: PlaneTilesService;
  const plane = testPlane(WIDTH, HEIGHT, 7);
  let png: Buffer;

  beforeAll(async () => {
    png = await encodePng16(plane);
  });

  beforeEach(() => {
    storage = strictMockOf<ObjectStorage>('ObjectStorage', STORAGE_METHODS, {}, { kind: 'filesystem' });
    scans = strictMock(ScanRepository);
    audit = strictMock(AuditRepository);
    const scansService = new ScansService(storage, scans, strictMock(QueueRepository), audit);
    service = new PlaneTilesService(storage, scansService, audit);
  });

  describe('descriptor', () => {
    it('answers the Deep Zoom descriptor from the manifest, audited, without reading the plane', async () => {
      scans.findById.mockResolvedValue(scanRow());
      audit.record.mockResolvedValue();
      const dzi = await service.dzi(analyst, SCAN_ID, 'top', 'low');
      expect(dzi).toContain('Format="png" Overlap="1" TileSize="254"');
      expect(dzi).toContain(`<Size Width="${WIDTH}" Height="${HEIGHT}"/>`);
      expect(audit.record).toHaveBeenCalledWith({
        actorType: 'user',
        actorId: analyst.id,
        action: 'scan.viewed',
        scanId: SCAN_ID,
        detail: { what: 'plane/low/tiles.dzi', view: 'top' },
      });
      expect(storage.get).not.toHaveBeenCalled();
    });

    it('answers another station exactly as ScansService does: 404 scan_not_found', async () => {
      scans.findById.mockResolvedValue(scanRow());
      expect(await refusal(service.dzi(otherStation, SCAN_ID, 'top', 'high'))).toEqual({
        status: 404,
        code: 'scan_not_found',
        message: `no scan ${SCAN_ID} that you may read`,
      });
    });

    it.each([
      ['a view the scan does not have', 'side', 'high'],
      ['an energy the view does not have', 'top', 'single'],
      ['a name that is no energy', 'top', 'high.png'],
    ])('answers %s with 404 plane_not_found', async (_what, view, energy) => {
      scans.findById.mockResolvedValue(scanRow());
      expect(await refusal(service.dzi(station, SCAN_ID, view, energy))).toMatchObject({ status: 404, code: 'plane_not_found' });
    });

    it('answers a scan without an exchange package yet with 409 scan_not_ready', async () => {
      scans.findById.mockResolvedValue(scanRow({ status: 'received', manifest: null }));
      expect(await refusal(service.dzi(station, SCAN_ID, 'top', 'high'))).toMatchObject({ status: 409, code: 'scan_not_ready' });
    });
  });

  describe('tiles', () => {
    it('serves a tile whose values are exactly the plane’s', async () => {
      scans.findById.mockResolvedValue(scanRow());
      storage.get.mockResolvedValue(png);
      // level 9 is the full 300 x 40 plane; tile 1_0 covers columns 253..299.
      const tile = await tileValues(await service.tile(station, SCAN_ID, 'top', 'high', '9', '1_0.png'));
      expect([tile.width, tile.height]).toEqual([47, 40]);
      const expected: number[] = [];
      for (let y = 0; y < HEIGHT; y++) for (let x = 253; x < WIDTH; x++) expected.push(plane.data[y * WIDTH + x]);
      expect(tile.values).toEqual(expected);
      expect(storage.get).toHaveBeenCalledWith(HIGH_KEY);
    });

    it.each([
      ['a level that is no number', 'x', '0_0.png'],
      ['a tile of another format', '9', '0_0.jpeg'],
      ['a malformed tile name', '9', '0-0.png'],
    ])('answers %s with 404 tile_not_found before any lookup', async (_what, level, name) => {
      expect(await refusal(service.tile(analyst, SCAN_ID, 'top', 'high', level, name))).toMatchObject({ status: 404, code: 'tile_not_found' });
      expect(scans.findById).not.toHaveBeenCalled();
    });

    it.each([
      ['a level above the full size', '10', '0_0.png'],
      ['a column past the edge', '9', '2_0.png'],
      ['a row past the edge', '9', '0_1.png'],
      ['a column past the edge of a lower level', '8', '1_0.png'],
    ])('answers %s with 404 tile_not_found without reading or decoding the plane', async (_what, level, name) => {
      scans.findById.mockResolvedValue(scanRow());
      expect(await refusal(service.tile(analyst, SCAN_ID, 'top', 'high', level, name))).toMatchObject({ status: 404, code: 'tile_not_found' });
      expect(storage.get).not.toHaveBeenCalled();
    });

    it('checks who may read before anything else about the tile', async () => {
      scans.findById.mockResolvedValue(scanRow());
      expect(await refusal(service.tile(otherStation, SCAN_ID, 'top', 'high', '9', '0_0.png'))).toMatchObject({ status: 404, code: 'scan_not_found' });
      expect(storage.get).not.toHaveBeenCalled();
    });

    it('decodes a plane once for concurrent requests and keeps the pyramid for the next ones', async () => {
      scans.findById.mockResolvedValue(scanRow());
      storage.get.mockResolvedValue(png);
      const names = ['0_0.png', '1_0.png', '0_0.png', '1_0.png'];
      const first = await Promise.all(names.map((name) => service.tile(analyst, SCAN_ID, 'top', 'high', '9', name)));
      expect(first).toHaveLength(4);
      expect(first[0].equals(first[2])).toBe(true);
      await service.tile(analyst, SCAN_ID, 'top', 'high', '0', '0_0.png');
      expect(storage.get).toHaveBeenCalledTimes(1);
      // the low plane is another pyramid
      await service.tile(analyst, SCAN_ID, 'top', 'low', '9', '0_0.png');
      expect(storage.get).toHaveBeenCalledTimes(2);
      expect(storage.get).toHaveBeenLastCalledWith(`scans/${SCAN_ID}/package/views/top/low.png`);
    });

    it('answers a missing plane object with 404 image_not_found to every waiting request, and tries again later', async () => {
      scans.findById.mockResolvedValue(scanRow());
      storage.get.mockRejectedValueOnce(new ObjectNotFoundError(HIGH_KEY));
      const refusals = await Promise.all([1, 2].map(() => refusal(service.tile(analyst, SCAN_ID, 'top', 'high', '9', '0_0.png'))));
      expect(refusals).toEqual([1, 2].map(() => ({ status: 404, code: 'image_not_found', message: 'the high plane of view top does not exist' })));
      expect(storage.get).toHaveBeenCalledTimes(1);
      storage.get.mockResolvedValueOnce(png);
      await expect(service.tile(analyst, SCAN_ID, 'top', 'high', '9', '0_0.png')).resolves.toBeInstanceOf(Buffer);
      expect(storage.get).toHaveBeenCalledTimes(2);
    });

    it('refuses a plane whose size differs from its manifest', async () => {
      scans.findById.mockResolvedValue(scanRow());
      storage.get.mockResolvedValue(await encodePng16(testPlane(WIDTH, HEIGHT + 1, 1)));
      await expect(service.tile(analyst, SCAN_ID, 'top', 'high', '9', '0_0.png')).rejects.toThrow('is 300 x 41, its manifest says 300 x 40');
    });
  });
});

describe(PyramidCache.name, () => {
  const pyramid = (bytes: number): PlanePyramid => buildPlanePyramid({ width: bytes / 2, height: 1, data: new Uint16Array(bytes / 2) });
  const sizeOf = (bytes: number) => pyramid(bytes).byteLength;

  it('is bounded by 512 MB by default', () => {
    expect(PLANE_PYRAMID_CACHE_BYTES).toBe(512 * 1024 * 1024);
  });

  it('drops the least recently used pyramids once the total passes the bound', async () => {
    const size = sizeOf(1024);
    const cache = new PyramidCache(size * 2);
    const build = jest.fn((bytes: number) => Promise.resolve(pyramid(bytes)));
    await cache.get('a', () => build(1024));
    await cache.get('b', () => build(1024));
    await cache.get('a', () => build(1024)); // a is now the most recent
    expect(build).toHaveBeenCalledTimes(2);
    await cache.get('c', () => build(1024)); // evicts b
    expect(cache.stats).toEqual({ entries: 2, bytes: size * 2, building: 0 });
    await cache.get('a', () => build(1024));
    expect(build).toHaveBeenCalledTimes(3);
    await cache.get('b', () => build(1024));
    expect(build).toHaveBeenCalledTimes(4);
  });

  it('serves but does not keep a pyramid larger than the bound', async () => {
    const cache = new PyramidCache(100);
    const big = pyramid(1024);
    await expect(cache.get('big', () => Promise.resolve(big))).resolves.toBe(big);
    expect(cache.stats).toEqual({ entries: 0, bytes: 0, building: 0 });
  });

  it('shares one build between concurrent requests and forgets a failed one', async () => {
    const cache = new PyramidCache(1024 * 1024);
    let finish!: (value: PlanePyramid) => void;
    const build = jest.fn(() => new Promise<PlanePyramid>((resolve) => (finish = resolve)));
    const waiting = [cache.get('k', build), cache.get('k', build), cache.get('k', build)];
    expect(cache.stats.building).toBe(1);
    const built = pyramid(64);
    finish(built);
    expect(await Promise.all(waiting)).toEqual([built, built, built]);
    expect(build).toHaveBeenCalledTimes(1);
    expect(cache.stats).toMatchObject({ entries: 1, building: 0 });

    const failing = jest.fn(() => Promise.reject(new Error('decode failed')));
    await expect(cache.get('bad', failing)).rejects.toThrow('decode failed');
    await expect(cache.get('bad', failing)).rejects.toThrow('decode failed');
    expect(failing).toHaveBeenCalledTimes(2);
    expect(cache.stats).toMatchObject({ entries: 1, building: 0 });
  });
});
