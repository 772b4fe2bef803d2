import { strictMock, strictMockOf } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Principal, StationPrincipal, UserPrincipal } from '../auth/roles.js';
import { JobName } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import { ScanRepository, type ScanRow } from './scan.repository.js';
import { ScansService } from './scans.service.js';
import { scanRow as buildScanRow, refusal } from '../../test/builders.js';

const scanRow = (overrides: Partial<ScanRow> = {}): ScanRow =>
  buildScanRow({
    id: SCAN_ID,
    stationId: station.id,
    status: 'queued',
    manifest: { views: [{ id: 'top', planes: [] }] },
    receivedAt: NOW,
    convertingAt: NOW,
    queuedAt: NOW,
    ...overrides,
  });

const NOW = new Date('2025-03-01T10:00:00Z');
const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const OTHER_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a02';
const station: StationPrincipal = { kind: 'station', id: 'st-own', name: 'Lane 3' };
const otherStation: StationPrincipal = { kind: 'station', id: 'st-other', name: 'Lane 9' };
const analyst: UserPrincipal = { kind: 'user', id: 'u-1', username: 'ana', roles: ['analyst'] };
const trainee: UserPrincipal = { kind: 'user', id: 'u-2', username: 'tom', roles: ['trainee', 'trainer'] };


const STORAGE_METHODS = ['putStream', 'put', 'get', 'getStream', 'getRange', 'download', 'stat', 'deletePrefix', 'ping'] as const;
const rendition = (name: string) => `scans/${SCAN_ID}/renditions/top/${name}`;


describe(ScansService.name, () => {
  let storage: jest.Mocked<ObjectStorage>;
  let scans: jest.Mocked<ScanRepository>;
  let queues: jest.Mocked<QueueRepository>;
  let audit: jest.Mocked<AuditRepository>;
  let service: ScansService;

  beforeEach(() => {
    storage = strictMockOf<ObjectStorage>('ObjectStorage', STORAGE_METHODS, {}, { kind: 'filesystem' });
    scans = strictMock(ScanRepository);
    queues = strictMock(QueueRepository);
    audit = strictMock(AuditRepository);
    service = new ScansService(storage, scans, queues, audit);
  });

  describe('who may read a scan', () => {
    it('answers a station reading another station’s scan exactly as a scan that does not exist', async () => {
      scans.findById.mockResolvedValueOnce(scanRow()).mockResolvedValueOnce(undefined);
      const foreign = await refusal(service.get(otherStation, SCAN_ID));
      const missing = await refusal(service.get(otherStation, SCAN_ID));
      expect(foreign).toEqual({ status: 404, code: 'scan_not_found', message: `no scan ${SCAN_ID} that you may read` });
      expect(missing).toEqual(foreign);
    });

    it('answers an id that is not a scan id with 404 without a lookup', async () => {
      expect(await refusal(service.get(analyst, '../../etc'))).toMatchObject({ status: 404, code: 'scan_not_found' });
    });

    it.each<[string, Principal]>([
      ['its station', station],
      ['an analyst', analyst],
      ['a supervisor', { kind: 'user', id: 'u-3', username: 'sue', roles: ['supervisor'] }],
    ])('lets %s read the scan', async (_who, principal) => {
      scans.findById.mockResolvedValue(scanRow());
      await expect(service.get(principal, SCAN_ID)).resolves.toMatchObject({ id: SCAN_ID, status: 'queued', stationId: station.id, progress: null });
    });

    it('answers a user without review rights (a trainee) with 404', async () => {
      scans.findById.mockResolvedValue(scanRow());
      expect(await refusal(service.get(trainee, SCAN_ID))).toMatchObject({ status: 404, code: 'scan_not_found' });
    });

    it('reports the progress of the job a converting scan is in', async () => {
      scans.findById.mockResolvedValue(scanRow({ status: 'converting', queuedAt: null }));
      queues.progress.mockResolvedValue(40);
      await expect(service.get(station, SCAN_ID)).resolves.toMatchObject({ status: 'converting', progress: 40 });
      expect(queues.progress).toHaveBeenCalledWith(JobName.RenderScan, { scanId: SCAN_ID });
    });
  });

  describe('images', () => {
    it('answers 409 scan_not_ready for a scan not yet queued', async () => {
      scans.findById.mockResolvedValue(scanRow({ status: 'converting' }));
      expect(await refusal(service.image(analyst, SCAN_ID, 'top', 'grey', 'display.jpg'))).toMatchObject({ status: 409, code: 'scan_not_ready' });
      expect(await refusal(service.tile(analyst, SCAN_ID, 'top', 'grey', '0', '0_0.jpeg'))).toMatchObject({ status: 409, code: 'scan_not_ready' });
    });

    it('answers 404 view_not_found for a view the scan does not have', async () => {
      scans.findById.mockResolvedValue(scanRow());
      expect(await refusal(service.image(analyst, SCAN_ID, 'side', 'grey', 'display.jpg'))).toMatchObject({ status: 404, code: 'view_not_found' });
    });

    it('audits a view of an image by a person or a station', async () => {
      scans.findById.mockResolvedValue(scanRow());
      audit.record.mockResolvedValue();
      storage.get.mockResolvedValue(Buffer.from('jpeg'));
      await expect(service.image(analyst, SCAN_ID, 'top', 'material', 'display.jpg')).resolves.toEqual(Buffer.from('jpeg'));
      expect(storage.get).toHaveBeenCalledWith(rendition('material-display.jpg'));
      expect(audit.record).toHaveBeenCalledWith({
        actorType: 'user',
        actorId: analyst.id,
        action: 'scan.viewed',
        scanId: SCAN_ID,
        detail: { what: 'material/display.jpg', view: 'top' },
      });
    });

    it('does not audit thumbnails', async () => {
      scans.findById.mockResolvedValue(scanRow());
      storage.get.mockResolvedValue(Buffer.from('jpeg'));
      await expect(service.image(station, SCAN_ID, 'top', 'grey', 'thumbnail.jpg')).resolves.toEqual(Buffer.from('jpeg'));
      expect(audit.record).not.toHaveBeenCalled();
    });
  });

  describe('tiles', () => {
    const index = { format: 'jpeg', index: { '0/0_0': [0, 10], '12/1_2': [100, 50] } };

    beforeEach(() => {
      scans.findById.mockResolvedValue(scanRow());
    });

    it.each(['../x', '1_2.jpg', '1_2', 'a_b.jpeg', '1_2.jpeg/../../x', '1234567890_1.jpeg'])(
      'refuses the tile name %p with 404 before any lookup',
      async (tile) => {
        expect(await refusal(service.tile(analyst, SCAN_ID, 'top', 'grey', '12', tile))).toMatchObject({ status: 404, code: 'tile_not_found' });
        expect(scans.findById).not.toHaveBeenCalled();
      },
    );

    it.each(['100', '-1', '..', ''])('refuses the level %p with 404 before any lookup', async (level) => {
      expect(await refusal(service.tile(analyst, SCAN_ID, 'top', 'grey', level, '1_2.jpeg'))).toMatchObject({ status: 404, code: 'tile_not_found' });
      expect(scans.findById).not.toHaveBeenCalled();
    });

    it.each([
      ['99', '1_2.jpeg', 'a level the pyramid does not have'],
      ['12', '1_2.png', 'a png tile of a jpeg pyramid'],
      ['12', '7_7.jpeg', 'a tile outside the level'],
    ])('answers %s/%s (%s) with 404 without reading the tile archive', async (level, tile) => {
      storage.get.mockResolvedValue(Buffer.from(JSON.stringify(index)));
      expect(await refusal(service.tile(analyst, SCAN_ID, 'top', 'grey', level, tile))).toMatchObject({ status: 404, code: 'tile_not_found' });
      expect(storage.get).toHaveBeenCalledWith(rendition('grey-tiles.json'));
      expect(storage.getRange).not.toHaveBeenCalled();
    });

    it('reads the tile as a byte range of the archive, with the index read once', async () => {
      storage.get.mockResolvedValue(Buffer.from(JSON.stringify(index)));
      storage.getRange.mockResolvedValue(Buffer.from('tile'));
      await expect(service.tile(analyst, SCAN_ID, 'top', 'grey', '12', '1_2.jpeg')).resolves.toEqual({ data: Buffer.from('tile'), format: 'jpeg' });
      await expect(service.tile(station, SCAN_ID, 'top', 'grey', '12', '01_02.jpeg')).resolves.toEqual({ data: Buffer.from('tile'), format: 'jpeg' });
      expect(storage.getRange.mock.calls).toEqual([
        [rendition('grey-tiles.bin'), 100, 50],
        [rendition('grey-tiles.bin'), 100, 50],
      ]);
      expect(storage.get).toHaveBeenCalledTimes(1);
    });

    it('keeps the indexes of different scans apart', async () => {
      scans.findById.mockImplementation((id) => Promise.resolve(scanRow({ id })));
      storage.get.mockResolvedValue(Buffer.from(JSON.stringify(index)));
      storage.getRange.mockResolvedValue(Buffer.from('tile'));
      await service.tile(analyst, SCAN_ID, 'top', 'grey', '0', '0_0.jpeg');
      await service.tile(analyst, OTHER_ID, 'top', 'grey', '0', '0_0.jpeg');
      expect(storage.get.mock.calls).toEqual([[rendition('grey-tiles.json')], [`scans/${OTHER_ID}/renditions/top/grey-tiles.json`]]);
    });
  });
});
