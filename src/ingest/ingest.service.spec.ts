import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { strictMock, strictValue } from '../../test/strict-mock.js';
import { ConversionError, type ScannerAdapter } from '../../libs/scanner-adapters/src/adapter.js';
import { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import type { StationPrincipal } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { FilesystemStorage } from '../storage/filesystem.storage.js';
import { DatabaseUnavailableError } from '../database/database-fault.js';
import { IngestService, UNKNOWN_INSERT_RETRY_MS, type UploadPart } from './ingest.service.js';
import { scanRow as buildScanRow, refusal } from '../../test/builders.js';
import { StationRepository, type StationRow } from '../stations/station.repository.js';
import { MetricsService } from '../metrics/metrics.service.js';

const scanRow = (overrides: Partial<ScanRow> = {}): ScanRow => buildScanRow({ id: SCAN_ID, stationId: station.id, ...overrides });

const NOW = new Date('2025-03-01T10:00:00Z');
const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const station: StationPrincipal = { kind: 'station', id: '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b', name: 'Lane 3' };
const MAX_UPLOAD = 10_000;
const stationSettings: StationRow = {
  id: station.id,
  name: station.name,
  country: 'EE',
  vendor: null,
  callbackUrl: null,
  apiKeyHash: 'h',
  webhookSecret: 'w',
  pool: 'central',
  slaSeconds: 120,
  riskLevel: 30,
  createdAt: NOW,
};


/** Files starting with IMG are this adapter's images, with SIDE its sidecars; anything else is nobody's. */
const adapter: ScannerAdapter & { check: jest.Mock<void, Parameters<NonNullable<ScannerAdapter['check']>>> } = {
  id: 'stub',
  version: '1.0.0',
  description: 'stub',
  sniff: (head) => {
    const magic = Buffer.from(head.subarray(0, 4)).toString('latin1');
    return magic === 'IMG:' ? 'primary' : magic === 'SIDE' ? 'companion' : null;
  },
  check: jest.fn(),
  convert: () => Promise.reject(new Error('not used at upload')),
};

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const fileData = (magic: string, length: number) => Buffer.concat([Buffer.from(magic, 'latin1'), Buffer.alloc(length - magic.length, 7)]);

function filePart(fileName: string, data: Buffer): UploadPart {
  // Several chunks, as a multipart body arrives.
  const chunks = [data.subarray(0, 3), data.subarray(3, 1000), data.subarray(1000)].filter((chunk) => chunk.length > 0);
  return { kind: 'file', name: 'file', fileName, stream: Readable.from(chunks) };
}

async function* upload(...parts: UploadPart[]): AsyncGenerator<UploadPart> {
  for (const part of parts) yield part;
}


describe(IngestService.name, () => {
  let root: string;
  let storage: FilesystemStorage;
  let scans: jest.Mocked<ScanRepository>;
  let pipeline: jest.Mocked<PipelineService>;
  let stations: jest.Mocked<StationRepository>;
  let service: IngestService;

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    root = await mkdtemp(path.join(os.tmpdir(), 'niix-ingest-spec-'));
    storage = new FilesystemStorage(root);
    jest.spyOn(storage, 'deletePrefix');
    scans = strictMock(ScanRepository);
    pipeline = strictMock(PipelineService);
    adapter.check.mockReset();
    const config = strictValue<AppConfig>('AppConfig', { limits: { maxUploadBytes: MAX_UPLOAD, maxPixelsPerPlane: 1e6, maxPixelsPerScan: 2e6 } });
    const clock = strictMock(Clock, { now: () => NOW, newId: () => SCAN_ID });
    stations = strictMock(StationRepository, {
      findById: async () => ({ ...stationSettings }),
    });
    service = new IngestService(config, storage, new AdapterRegistry([adapter]), scans, stations, pipeline, clock, new MetricsService());
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(root, { recursive: true, force: true });
  });

  /** Every object of the refused or answered upload is gone. */
  async function expectNothingStored(): Promise<void> {
    expect(storage.deletePrefix).toHaveBeenCalledWith(`scans/${SCAN_ID}/`);
    expect(existsSync(path.join(root, 'scans', SCAN_ID))).toBe(false);
  }

  it('refuses a field other than metadata with 400 unknown_field', async () => {
    const parts = upload({ kind: 'field', name: 'colour', value: 'red' });
    expect(await refusal(service.receive(station, undefined, parts))).toMatchObject({ status: 400, code: 'unknown_field' });
    expect(storage.deletePrefix).toHaveBeenCalledWith(`scans/${SCAN_ID}/`);
  });

  it('refuses an upload without files with 400 no_files', async () => {
    const parts = upload({ kind: 'field', name: 'metadata', value: '{}' });
    expect(await refusal(service.receive(station, undefined, parts))).toMatchObject({ status: 400, code: 'no_files' });
  });

  it('refuses invalid metadata with 422 invalid_metadata', async () => {
    const parts = upload({ kind: 'field', name: 'metadata', value: '{"riskScore": 400}' });
    expect(await refusal(service.receive(station, undefined, parts))).toMatchObject({ status: 422, code: 'invalid_metadata' });
  });

  it('refuses a file no adapter recognises with 415 while it streams, and keeps nothing', async () => {
    // The second file never ends: only a refusal from its first bytes can answer.
    async function* endless(): AsyncGenerator<Buffer> {
      yield fileData('text', 5000);
      await new Promise(() => undefined);
    }
    const notes: UploadPart = { kind: 'file', name: 'file', fileName: 'notes.txt', stream: Readable.from(endless()) };
    const parts = upload(filePart('a.img', fileData('IMG:', 5000)), notes);
    expect(await refusal(service.receive(station, undefined, parts))).toEqual({
      status: 415,
      code: 'unsupported_format',
      message: 'no scanner adapter recognises the file notes.txt',
    });
    await expectNothingStored();
  });

  it('refuses files that are each known but do not make one scan with 415', async () => {
    const parts = upload(filePart('a.json', fileData('SIDE', 100)));
    expect(await refusal(service.receive(station, undefined, parts))).toMatchObject({ status: 415, code: 'unsupported_format' });
    await expectNothingStored();
  });

  it('refuses an upload over the size limit with 413, and keeps nothing', async () => {
    const parts = upload(filePart('a.img', fileData('IMG:', 6000)), filePart('b.img', fileData('IMG:', 6000)));
    expect(await refusal(service.receive(station, undefined, parts))).toMatchObject({ status: 413, code: 'upload_too_large' });
    await expectNothingStored();
  });

  it.each([
    ['too_many_pixels', 413],
    ['malformed_input', 422],
  ] as const)('turns a header check failing with %s into %i, and keeps nothing', async (code, status) => {
    adapter.check.mockImplementation(() => {
      throw new ConversionError(code, 'the header says otherwise');
    });
    const data = fileData('IMG:', 5000);
    expect(await refusal(service.receive(station, undefined, upload(filePart('a.img', data))))).toMatchObject({ status, code });
    expect(adapter.check).toHaveBeenCalledWith([{ name: 'a.img', size: 5000, head: data }], { maxPixelsPerPlane: 1e6, maxPixelsPerScan: 2e6 });
    await expectNothingStored();
  });

  it('answers content sent before with the earlier scan, created false, and deletes the new objects', async () => {
    const earlier = scanRow({ id: 'e0000000-0000-4000-8000-000000000000', status: 'queued' });
    scans.findByContent.mockResolvedValue(earlier);
    const result = await service.receive(station, undefined, upload(filePart('a.img', fileData('IMG:', 5000))));
    expect(result).toEqual({ scan: earlier, created: false, notApplied: [] });
    await expectNothingStored();
  });

  it('names the metadata fields of a repeat that were not applied (the first upload of the same files stands)', async () => {
    const earlier = scanRow({ id: 'e0000000-0000-4000-8000-000000000000', status: 'queued', metadata: { declarations: ['26LV1'], riskScore: 10, fields: { lane: '2', shift: 'a' } } });
    scans.findByContent.mockResolvedValue(earlier);
    const metadata = { riskScore: 10, declarations: ['26LV2'], reference: 'new', fields: { shift: 'a', lane: '3' } };
    const result = await service.receive(station, undefined, upload({ kind: 'field', name: 'metadata', value: JSON.stringify(metadata) }, filePart('a.img', fileData('IMG:', 5000))));
    expect(result).toEqual({ scan: earlier, created: false, notApplied: ['declarations', 'fields.lane', 'reference'] });
    await expectNothingStored();
  });

  it('refuses an Idempotency-Key used before with other files (409, naming the first scan) and stores nothing', async () => {
    const first = scanRow({ id: 'e0000000-0000-4000-8000-000000000000', idempotencyKey: 'lane-2-0042', contentSha256: 'a'.repeat(64) });
    scans.findByIdempotencyKey.mockResolvedValue(first);
    const answer = await refusal(service.receive(station, 'lane-2-0042', upload(filePart('a.img', fileData('IMG:', 5000)))));
    expect(answer).toMatchObject({ status: 409, code: 'idempotency_key_reused' });
    expect(answer.message).toContain(first.id);
    await expectNothingStored();
  });

  it('answers with the winner when a concurrent upload of the same key won the insert', async () => {
    const winner = scanRow({ id: 'f0000000-0000-4000-8000-000000000000', status: 'converting' });
    scans.findByContent.mockResolvedValue(undefined);
    scans.insertWithFiles.mockResolvedValue(false);
    scans.findByIdempotencyKey.mockResolvedValueOnce(undefined).mockResolvedValueOnce(winner);
    const result = await service.receive(station, 'key-1', upload(filePart('a.img', fileData('IMG:', 5000))));
    expect(result).toEqual({ scan: winner, created: false, notApplied: [] });
    expect(scans.findByIdempotencyKey).toHaveBeenCalledWith(station.id, 'key-1');
    await expectNothingStored();
  });

  it('queues the conversion of a repeated scan still received (its first upload failed after the scan was recorded)', async () => {
    const earlier = scanRow({ id: 'e0000000-0000-4000-8000-000000000000', status: 'received' });
    scans.findByContent.mockResolvedValue(earlier);
    pipeline.start.mockResolvedValue();
    expect(await service.receive(station, undefined, upload(filePart('a.img', fileData('IMG:', 5000))))).toEqual({ scan: earlier, created: false, notApplied: [] });
    expect(pipeline.start).toHaveBeenCalledWith(earlier.id);
    await expectNothingStored();
  });

  describe('when the database fails', () => {
    const lost = () => new DatabaseUnavailableError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    const originals = () => existsSync(path.join(root, 'scans', SCAN_ID, 'original', '0'));

    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
      scans.findByIdempotencyKey.mockResolvedValue(undefined);
    });
    afterEach(() => jest.useRealTimers());

    it('before the insert: deletes what it stored and passes the fault on', async () => {
      scans.findByContent.mockRejectedValue(lost());
      await expect(service.receive(station, 'key-1', upload(filePart('a.img', fileData('IMG:', 5000))))).rejects.toThrow(DatabaseUnavailableError);
      await expectNothingStored();
    });

    it('under the insert: keeps the originals until the database tells whether the scan was recorded, then deletes them when not', async () => {
      scans.findByContent.mockResolvedValue(undefined);
      scans.insertWithFiles.mockRejectedValue(lost());
      await expect(service.receive(station, 'key-1', upload(filePart('a.img', fileData('IMG:', 5000))))).rejects.toThrow(DatabaseUnavailableError);
      expect(originals()).toBe(true);
      // the database is still away at the first question, back at the second
      scans.findById.mockRejectedValueOnce(lost()).mockResolvedValueOnce(undefined);
      await jest.advanceTimersByTimeAsync(UNKNOWN_INSERT_RETRY_MS);
      expect(originals()).toBe(true);
      await jest.advanceTimersByTimeAsync(UNKNOWN_INSERT_RETRY_MS);
      await (storage.deletePrefix as jest.MockedFunction<typeof storage.deletePrefix>).mock.results[0]?.value;
      await expectNothingStored();
      expect(scans.findById).toHaveBeenCalledTimes(2);
    });

    it('under the insert of a scan that was committed after all: keeps its originals', async () => {
      scans.findByContent.mockResolvedValue(undefined);
      scans.insertWithFiles.mockRejectedValue(lost());
      await expect(service.receive(station, undefined, upload(filePart('a.img', fileData('IMG:', 5000))))).rejects.toThrow(DatabaseUnavailableError);
      scans.findById.mockResolvedValue(scanRow());
      await jest.advanceTimersByTimeAsync(UNKNOWN_INSERT_RETRY_MS);
      expect(scans.findById).toHaveBeenCalledWith(SCAN_ID);
      expect(originals()).toBe(true);
      expect(storage.deletePrefix).not.toHaveBeenCalled();
    });

    it('after the scan is recorded: keeps its originals (a repeat of the upload finds the scan)', async () => {
      scans.findByContent.mockResolvedValue(undefined);
      scans.insertWithFiles.mockResolvedValue(true);
      pipeline.start.mockRejectedValue(lost());
      await expect(service.receive(station, 'key-1', upload(filePart('a.img', fileData('IMG:', 5000))))).rejects.toThrow(DatabaseUnavailableError);
      expect(originals()).toBe(true);
      expect(storage.deletePrefix).not.toHaveBeenCalled();
    });
  });

  it('stores the files, records the scan with their sha-256 and sizes, and starts the pipeline once', async () => {
    const image = fileData('IMG:', 5000);
    const sidecar = fileData('SIDE', 20);
    const row = scanRow();
    scans.findByIdempotencyKey.mockResolvedValue(undefined);
    scans.findByContent.mockResolvedValue(undefined);
    scans.insertWithFiles.mockResolvedValue(true);
    scans.findById.mockResolvedValue(row);
    pipeline.start.mockResolvedValue();

    const result = await service.receive(
      station,
      'key-1',
      upload({ kind: 'field', name: 'metadata', value: '{"reference":"R-1"}' }, filePart('a.img', image), filePart('a.json', sidecar)),
    );

    expect(result).toEqual({ scan: row, created: true, notApplied: [] });
    const contentSha256 = createHash('sha256').update(`${sha256(image)}\n${sha256(sidecar)}`).digest('hex');
    expect(scans.findByContent).toHaveBeenCalledWith(station.id, contentSha256);
    expect(scans.insertWithFiles).toHaveBeenCalledWith(
      {
        id: SCAN_ID,
        stationId: station.id,
        status: 'received',
        idempotencyKey: 'key-1',
        contentSha256,
        metadata: { reference: 'R-1' },
        adapterId: 'stub',
        receivedAt: NOW,
        // the station's pool, its risk level (no declaration score sent) and its 120 s SLA from receipt
        pool: 'central',
        riskScore: 30,
        slaDeadline: new Date(NOW.getTime() + 120_000),
      },
      [
        { scanId: SCAN_ID, position: 0, name: 'a.img', size: 5000, sha256: sha256(image), objectKey: `scans/${SCAN_ID}/original/0` },
        { scanId: SCAN_ID, position: 1, name: 'a.json', size: 20, sha256: sha256(sidecar), objectKey: `scans/${SCAN_ID}/original/1` },
      ],
      {
        actorType: 'station',
        actorId: station.id,
        action: 'scan.received',
        detail: { files: [{ name: 'a.img', size: 5000, sha256: sha256(image) }, { name: 'a.json', size: 20, sha256: sha256(sidecar) }], adapter: 'stub' },
      },
    );
    expect(await readFile(path.join(root, 'scans', SCAN_ID, 'original', '0'))).toEqual(image);
    expect(await readFile(path.join(root, 'scans', SCAN_ID, 'original', '1'))).toEqual(sidecar);
    expect(pipeline.start).toHaveBeenCalledTimes(1);
    expect(pipeline.start).toHaveBeenCalledWith(SCAN_ID);
    expect(storage.deletePrefix).not.toHaveBeenCalled();
  });
});
