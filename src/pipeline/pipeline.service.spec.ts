import { writeFile } from 'node:fs/promises';
import { Logger } from '@nestjs/common';
import { buildPackage } from '../../libs/exchange-format/src/package.js';
import { strictMock, strictMockOf, strictValue } from '../../test/strict-mock.js';
import { type Conversion, ConversionError, type ScannerAdapter } from '../../libs/scanner-adapters/src/adapter.js';
import { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import type { JobContext } from '../queue/job-handler.decorator.js';
import { JobName } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { ScanObjectsWriter } from '../scans/scan-objects.writer.js';
import { ScanRepository, type ScanFileRow, type ScanRow } from '../scans/scan.repository.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import { PipelineService } from './pipeline.service.js';
import { runConversion, runRendering } from './conversion.js';
import { ConversionMemoryError, ConversionProcessDiedError, ConversionProcesses } from './conversion.process.js';
import { scanRow as buildScanRow } from '../../test/builders.js';
import { ResultsService } from '../results/results.service.js';
import { WorklistService } from '../review/worklist.service.js';
import { MetricsService } from '../metrics/metrics.service.js';

const scanRow = (overrides: Partial<ScanRow> = {}): ScanRow => buildScanRow({ id: SCAN_ID, stationId: STATION_ID, ...overrides });

const NOW = new Date('2025-03-01T10:00:00Z');
const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const STATION_ID = '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b';
const WIDTH = 40;
const HEIGHT = 20;


const file: ScanFileRow = {
  scanId: SCAN_ID,
  position: 0,
  name: 'lane 3/scan.stub',
  size: 12,
  sha256: 'a'.repeat(64),
  objectKey: `scans/${SCAN_ID}/original/0`,
};

/** A dual-energy view whose planes are a gradient (air on the right); `lowLength` breaks the low plane. */
function conversion(lowLength = WIDTH * HEIGHT): Conversion {
  const plane = (length: number, scale: number) => Uint16Array.from({ length }, (_, i) => Math.round(((i % WIDTH) / WIDTH) * scale));
  return {
    scanner: { vendor: 'Stub' },
    acquiredAt: null,
    warnings: [],
    views: [
      {
        id: 'top',
        width: WIDTH,
        height: HEIGHT,
        pixelSpacingMm: null,
        airValue: 60000,
        planes: [
          { energy: 'high', data: plane(WIDTH * HEIGHT, 60000) },
          { energy: 'low', data: plane(lowLength, 50000) },
        ],
      },
    ],
  };
}

/** A real adapter object; only `convert` is used by the pipeline, its answer set per test. */
function stubAdapter(convert: ScannerAdapter['convert']): ScannerAdapter {
  return { id: 'stub', version: '1.0.0', description: 'stub', sniff: () => 'primary', convert };
}

const STORAGE_METHODS = ['putStream', 'put', 'get', 'getStream', 'getRange', 'download', 'stat', 'deletePrefix', 'ping'] as const;

describe(PipelineService.name, () => {
  let storage: jest.Mocked<ObjectStorage>;
  let scans: jest.Mocked<ScanRepository>;
  let queues: jest.Mocked<QueueRepository>;
  let worklist: jest.Mocked<WorklistService>;
  let results: jest.Mocked<ResultsService>;
  let context: jest.Mocked<JobContext>;
  let convert: jest.Mock<ReturnType<ScannerAdapter['convert']>, Parameters<ScannerAdapter['convert']>>;
  let metrics: MetricsService;
  let processes: jest.Mocked<ConversionProcesses>;
  let service: PipelineService;

  /** The samples of a metric: labels and value. */
  async function samples(name: string): Promise<{ labels: object; value: number }[]> {
    return ((await metrics.registry.getSingleMetric(name)?.get())?.values ?? []).map(({ labels, value }) => ({ labels, value }));
  }

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    storage = strictMockOf<ObjectStorage>('ObjectStorage', STORAGE_METHODS, {}, { kind: 'filesystem' });
    scans = strictMock(ScanRepository);
    queues = strictMock(QueueRepository);
    context = strictMockOf<JobContext>('JobContext', ['progress'], { progress: () => Promise.resolve() }, { attempt: 1 });
    convert = jest.fn<ReturnType<ScannerAdapter['convert']>, Parameters<ScannerAdapter['convert']>>(() => {
      throw new Error('unexpected call stub.convert');
    });
    const config = strictValue<AppConfig>('AppConfig', { limits: { maxUploadBytes: 1e9, maxPixelsPerPlane: 1e6, maxPixelsPerScan: 2e6 } });
    const clock = strictMock(Clock, { now: () => NOW });
    worklist = strictMock(WorklistService);
    // a failed scan's result goes to its station; tests assert the call (expectFailed) or its absence
    results = strictMock(ResultsService, { record: async () => ({}) as Awaited<ReturnType<ResultsService['record']>> });
    metrics = new MetricsService();
    const adapters = new AdapterRegistry([stubAdapter(convert)]);
    // the conversion process's work, run here: the stub adapter cannot cross into a real conversion process
    processes = strictMock(ConversionProcesses, {
      convert: async (task) => ({ outcome: await runConversion(adapters, task), peakBytes: 0 }),
      render: async (task) => ({ rendered: await runRendering(task), peakBytes: 0 }),
    });
    service = new PipelineService(config, storage, adapters, scans, new ScanObjectsWriter(storage), queues, worklist, results, clock, metrics, processes);
  });

  afterEach(() => jest.restoreAllMocks());

  /** Sets up the calls every conversion makes before the adapter runs. */
  function readyToConvert(scan = scanRow()): void {
    scans.findById.mockResolvedValue(scan);
    scans.transition.mockResolvedValue(true);
    scans.files.mockResolvedValue([file]);
    storage.download.mockResolvedValue();
  }

  function expectFailed(code: string, message: unknown): void {
    expect(results.record).toHaveBeenCalledTimes(1);
    expect(results.record).toHaveBeenCalledWith(expect.objectContaining({ id: SCAN_ID }), 'failure', { failure: { code, message } });
    expect(scans.transition).toHaveBeenLastCalledWith(
      SCAN_ID,
      ['received', 'converting'],
      { status: 'failed', failureCode: code, failureMessage: message, failedAt: NOW },
      { actorType: 'system', actorId: 'pipeline', action: 'scan.failed', detail: { code, message } },
    );
  }

  describe('convert', () => {
    it.each(['queued', 'failed'] as const)('skips a scan already %s', async (status) => {
      scans.findById.mockResolvedValue(scanRow({ status }));
      await service.convert({ scanId: SCAN_ID }, context);
      expect(scans.findById).toHaveBeenCalledWith(SCAN_ID);
    });

    it('skips a scan that does not exist', async () => {
      scans.findById.mockResolvedValue(undefined);
      await service.convert({ scanId: SCAN_ID }, context);
    });

    it('sends a scan whose package is recorded to RenderScan instead of converting again', async () => {
      scans.findById.mockResolvedValue(scanRow({ status: 'converting', manifest: { views: [] } }));
      queues.add.mockResolvedValue();
      await service.convert({ scanId: SCAN_ID }, context);
      expect(queues.add).toHaveBeenCalledWith(JobName.RenderScan, { scanId: SCAN_ID });
      expect(convert).not.toHaveBeenCalled();
    });

    it('fails with adapter_unavailable when the adapter is not installed', async () => {
      scans.findById.mockResolvedValue(scanRow({ adapterId: 'gone' }));
      scans.transition.mockResolvedValue(true);
      await service.convert({ scanId: SCAN_ID }, context);
      expectFailed('adapter_unavailable', 'the scanner adapter gone is not installed on this service');
    });

    it('fails the scan without retry and stores nothing on a ConversionError from the adapter', async () => {
      readyToConvert();
      convert.mockRejectedValue(new ConversionError('malformed_input', 'the file ends after 12 bytes'));
      await expect(service.convert({ scanId: SCAN_ID }, context)).resolves.toBeUndefined();
      expectFailed('malformed_input', 'the file ends after 12 bytes');
      expect(storage.put).not.toHaveBeenCalled();
      expect(await samples('niix_scans_failed_total')).toEqual([{ labels: { station: STATION_ID, adapter: 'stub', code: 'malformed_input' }, value: 1 }]);
      expect(await samples('niix_scans_converted_total')).toEqual([]);
    });

    it('fails the scan and stores nothing on a ConversionError from packaging (planes of different sizes)', async () => {
      readyToConvert();
      convert.mockResolvedValue(conversion(WIDTH * HEIGHT - 1));
      await expect(service.convert({ scanId: SCAN_ID }, context)).resolves.toBeUndefined();
      expectFailed('incomplete_scan', expect.stringContaining('the planes of one view must have the same size'));
      expect(storage.put).not.toHaveBeenCalled();
    });

    it('rethrows any other error so that the queue retries, leaving the scan converting', async () => {
      readyToConvert();
      const fault = new Error('EIO: read error');
      convert.mockRejectedValue(fault);
      await expect(service.convert({ scanId: SCAN_ID }, context)).rejects.toBe(fault);
      expect(scans.transition).toHaveBeenCalledTimes(1);
      expect(scans.transition).toHaveBeenCalledWith(SCAN_ID, ['received', 'converting'], { status: 'converting', convertingAt: NOW });
    });

    it('fails the scan as resource_limit, without retry, when its conversion process passed the memory limit', async () => {
      readyToConvert();
      processes.convert.mockRejectedValue(new ConversionMemoryError(1536 * 1024 ** 2));
      await expect(service.convert({ scanId: SCAN_ID }, context)).resolves.toBeUndefined();
      expectFailed('resource_limit', expect.stringContaining('more than the 1536 MB one conversion may use (NIIX_CONVERT_MEMORY)'));
      expect(storage.put).not.toHaveBeenCalled();
    });

    it('fails the scan as conversion_crashed, without retry, when its conversion process died', async () => {
      readyToConvert();
      processes.convert.mockRejectedValue(new ConversionProcessDiedError('by SIGSEGV'));
      await expect(service.convert({ scanId: SCAN_ID }, context)).resolves.toBeUndefined();
      expectFailed('conversion_crashed', expect.stringContaining('stopped the conversion process'));
    });

    it('downloads the originals, stores package and renditions, ends queued with one audit event and enters the work pool', async () => {
      readyToConvert();
      worklist.enqueue.mockResolvedValue();
      storage.put.mockResolvedValue();
      convert.mockResolvedValue(conversion());

      await service.convert({ scanId: SCAN_ID }, context);

      expect(storage.download).toHaveBeenCalledWith(file.objectKey, expect.stringMatching(/0-lane_3_scan\.stub$/));
      expect(convert).toHaveBeenCalledWith({
        files: [{ name: file.name, path: expect.stringMatching(/0-lane_3_scan\.stub$/), size: file.size }],
        limits: { maxPixelsPerPlane: 1e6, maxPixelsPerScan: 2e6 },
      });
      const keys = storage.put.mock.calls.map(([key]) => key.replace(`scans/${SCAN_ID}/`, ''));
      const renditions = ['display.jpg', 'thumbnail.jpg', 'tiles.dzi', 'tiles.bin', 'tiles.json'];
      expect(keys.sort()).toEqual(
        [
          'package/views/top/high.png',
          'package/views/top/low.png',
          'package/manifest.json',
          ...renditions.map((name) => `renditions/top/grey-${name}`),
          ...renditions.map((name) => `renditions/top/material-${name}`),
        ].sort(),
      );
      const transitions = scans.transition.mock.calls.map(([, from, to]) => [from, to.status]);
      expect(transitions).toEqual([
        [['received', 'converting'], 'converting'],
        [['converting'], 'converting'],
        [['converting'], 'queued'],
      ]);
      const manifest = scans.transition.mock.calls[1][2].manifest as { scanId: string; views: { id: string; width: number }[] };
      expect(manifest.scanId).toBe(SCAN_ID);
      expect(manifest.views.map((view) => [view.id, view.width])).toEqual([['top', WIDTH]]);
      expect(scans.transition).toHaveBeenLastCalledWith(SCAN_ID, ['converting'], { status: 'queued', queuedAt: NOW }, { actorType: 'system', actorId: 'pipeline', action: 'scan.queued' });
      expect(worklist.enqueue).toHaveBeenCalledTimes(1);
      expect(worklist.enqueue).toHaveBeenCalledWith(expect.objectContaining({ id: SCAN_ID }));
      expect(results.record).not.toHaveBeenCalled();
      expect(context.progress).toHaveBeenLastCalledWith(100);
      expect(await samples('niix_scans_converted_total')).toEqual([{ labels: { station: STATION_ID, adapter: 'stub' }, value: 1 }]);
      expect(await metrics.registry.getSingleMetricAsString('niix_conversion_duration_seconds')).toContain('niix_conversion_duration_seconds_count{adapter="stub"} 1');
    });
  });

  describe('render', () => {
    /** A scan whose package was stored and recorded before its conversion was interrupted; downloads give its parts. */
    async function interruptedAfterPackage(): Promise<void> {
      const built = await buildPackage({
        scanId: SCAN_ID,
        stationId: STATION_ID,
        conversion: conversion(),
        adapter: { id: 'stub', version: '1.0.0' },
        originals: [],
        metadata: {},
        convertedAt: NOW,
      });
      scans.findById.mockResolvedValue(scanRow({ status: 'converting', manifest: built.manifest }));
      storage.download.mockImplementation(async (key, local) => {
        const part = built.parts.find((candidate) => key === `scans/${SCAN_ID}/package/${candidate.path}`);
        if (!part) throw new Error(`unexpected download ${key}`);
        await writeFile(local, part.data);
      });
    }

    it('renders the stored package in a conversion process and ends queued', async () => {
      await interruptedAfterPackage();
      scans.transition.mockResolvedValue(true);
      storage.put.mockResolvedValue();
      worklist.enqueue.mockResolvedValue();
      await service.render({ scanId: SCAN_ID }, context);
      expect(processes.render).toHaveBeenCalledTimes(1);
      const keys = storage.put.mock.calls.map(([key]) => key.replace(`scans/${SCAN_ID}/`, ''));
      expect(keys).toContain('renditions/top/grey-display.jpg');
      expect(keys).toContain('renditions/top/material-tiles.bin');
      expect(scans.transition).toHaveBeenLastCalledWith(SCAN_ID, ['converting'], { status: 'queued', queuedAt: NOW }, { actorType: 'system', actorId: 'pipeline', action: 'scan.queued' });
    });

    it('fails the scan as resource_limit when rendering passes the memory limit', async () => {
      await interruptedAfterPackage();
      scans.transition.mockResolvedValue(true);
      processes.render.mockRejectedValue(new ConversionMemoryError(1024 ** 3));
      await service.render({ scanId: SCAN_ID }, context);
      expectFailed('resource_limit', expect.stringContaining('1024 MB'));
      expect(storage.put).not.toHaveBeenCalled();
    });
  });

  describe('reconcile', () => {
    it('adds ConvertScan for received scans without a package and RenderScan for converting scans with one', async () => {
      scans.idsWithStatus.mockResolvedValue([
        { id: 'a', status: 'received', manifest: null },
        { id: 'b', status: 'converting', manifest: { views: [] } },
        { id: 'c', status: 'converting', manifest: null },
      ]);
      scans.finishedWithoutResult.mockResolvedValue([]);
      queues.add.mockResolvedValue();
      queues.failedReason.mockResolvedValue(null);
      await expect(service.reconcile()).resolves.toBe(3);
      expect(scans.idsWithStatus).toHaveBeenCalledWith(['received', 'converting']);
      expect(queues.add.mock.calls).toEqual([
        [JobName.ConvertScan, { scanId: 'a' }],
        [JobName.RenderScan, { scanId: 'b' }],
        [JobName.ConvertScan, { scanId: 'c' }],
      ]);
    });

    it('fails, instead of trying again, a scan whose job failed for good before its handler ran (two crashes)', async () => {
      scans.idsWithStatus.mockResolvedValue([{ id: SCAN_ID, status: 'converting', manifest: null }]);
      scans.finishedWithoutResult.mockResolvedValue([]);
      queues.failedReason.mockResolvedValue('job stalled more than allowable limit');
      scans.findById.mockResolvedValue(scanRow({ status: 'converting' }));
      scans.transition.mockResolvedValue(true);
      await service.reconcile();
      expect(queues.add).not.toHaveBeenCalled();
      expectFailed('conversion_crashed', expect.stringContaining('stopped the converter every time'));
    });

    it('records the failure result of a failed scan that has none (a crash between the two)', async () => {
      scans.idsWithStatus.mockResolvedValue([]);
      const failed = scanRow({ status: 'failed', failureCode: 'malformed_input', failureMessage: 'the file is truncated' });
      scans.finishedWithoutResult.mockResolvedValue([failed]);
      await service.reconcile();
      expect(scans.finishedWithoutResult).toHaveBeenCalledWith('failed');
      expect(results.record).toHaveBeenCalledWith(failed, 'failure', { failure: { code: 'malformed_input', message: 'the file is truncated' } });
    });
  });

  describe('exhausted', () => {
    it('fails the scan as internal_error with a sentence that reveals no internals', async () => {
      scans.findById.mockResolvedValue(scanRow({ status: 'converting' }));
      scans.transition.mockResolvedValue(true);
      await service.exhausted({ scanId: SCAN_ID }, new Error('connect ECONNREFUSED 10.0.0.7:9000'));
      const message = scans.transition.mock.calls[0][2].failureMessage!;
      expectFailed('internal_error', message);
      expect(message).toMatch(/^the scan could not be processed/);
      expect(message).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|Error|at /);
    });

    it('does nothing for a scan that no longer exists', async () => {
      scans.findById.mockResolvedValue(undefined);
      await service.exhausted({ scanId: SCAN_ID }, new Error('gone'));
    });
  });
});
