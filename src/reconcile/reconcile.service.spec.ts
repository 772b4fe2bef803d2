import { Logger } from '@nestjs/common';
import { strictMock, strictValue } from '../../test/strict-mock.js';
import { type AppConfig, ConfigError, type ProcessRole } from '../config/config.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { RedisPrefixService } from '../redis/redis-prefix.service.js';
import { VerdictService } from '../review/verdict.service.js';
import { WorklistService } from '../review/worklist.service.js';
import { ProjectionService } from '../training/projection.service.js';
import { ReconcileService } from './reconcile.service.js';

const EVERY_MS = 30_000;

describe(ReconcileService.name, () => {
  let prefix: jest.Mocked<RedisPrefixService>;
  let pipeline: jest.Mocked<PipelineService>;
  let projections: jest.Mocked<ProjectionService>;
  let worklist: jest.Mocked<WorklistService>;
  let verdicts: jest.Mocked<VerdictService>;
  let delivery: jest.Mocked<DeliveryService>;
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;
  let calls: string[];

  function build(roles: ProcessRole[] = ['api', 'convert', 'deliver']): ReconcileService {
    const config = strictValue<AppConfig>('AppConfig', { roles: new Set(roles), reconcileMs: EVERY_MS });
    return new ReconcileService(config, prefix, pipeline, projections, worklist, verdicts, delivery);
  }

  /** Every routine records its name and puts back `n` things. */
  function everyRoutine(n = 0): void {
    const record = (name: string) => () => {
      calls.push(name);
      return Promise.resolve(n);
    };
    pipeline.reconcile.mockImplementation(record('conversions'));
    projections.reconcile.mockImplementation(record('threat projections'));
    worklist.reconcile.mockImplementation(record('work pool'));
    verdicts.reconcileResults.mockImplementation(record('results'));
    delivery.reconcile.mockImplementation(record('deliveries'));
  }

  beforeEach(() => {
    prefix = strictMock(RedisPrefixService);
    pipeline = strictMock(PipelineService);
    projections = strictMock(ProjectionService);
    worklist = strictMock(WorklistService);
    verdicts = strictMock(VerdictService);
    delivery = strictMock(DeliveryService);
    prefix.claim.mockResolvedValue(undefined);
    calls = [];
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('reconciles every kind in pipeline order when the process has every role, after recording the Redis prefix again', async () => {
    everyRoutine(2);
    const report = await build().run();
    expect(prefix.claim).toHaveBeenCalledTimes(1);
    expect(calls).toEqual(['conversions', 'threat projections', 'work pool', 'results', 'deliveries']);
    expect(report).toEqual({ conversions: 2, 'threat projections': 2, 'work pool': 2, results: 2, deliveries: 2 });
  });

  it.each([
    [['api'], ['work pool', 'results']],
    [['convert'], ['conversions', 'threat projections']],
    [['deliver'], ['deliveries']],
    [['api', 'deliver'], ['work pool', 'results', 'deliveries']],
  ] as [ProcessRole[], string[]][])('reconciles only the work of its roles %j', async (roles, kinds) => {
    everyRoutine();
    const service = build(roles);
    expect(service.kinds).toEqual(kinds);
    await service.run();
    expect(calls).toEqual(kinds);
  });

  it('logs a kind that fails and still runs the others', async () => {
    everyRoutine();
    worklist.reconcile.mockRejectedValue(new Error('database went away'));
    const report = await build().run();
    expect(calls).toEqual(['conversions', 'threat projections', 'results', 'deliveries']);
    expect(report['work pool']).toEqual(new Error('database went away'));
    expect(warn).toHaveBeenCalledWith(`reconciliation of work pool failed, next try in ${EVERY_MS / 1000} s: database went away`);
  });

  it('skips the pass with one warning while Redis does not answer', async () => {
    prefix.claim.mockRejectedValue(new Error('Reached the max retries per request limit (which is 3)'));
    const report = await build().run();
    expect(Object.keys(report)).toEqual(['redis prefix']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^reconciliation skipped, Redis does not answer/);
  });

  it('puts nothing in a prefix another installation took (an error)', async () => {
    prefix.claim.mockRejectedValue(new ConfigError('Redis prefix "niix" at redis://r:6379 belongs to another installation'));
    await build().run();
    expect(error).toHaveBeenCalledWith('reconciliation stopped: Redis prefix "niix" at redis://r:6379 belongs to another installation');
    expect(warn).not.toHaveBeenCalled();
  });

  it('does not start a second pass while one runs: the caller gets the running one', async () => {
    everyRoutine();
    let finish!: (n: number) => void;
    pipeline.reconcile.mockImplementation(() => new Promise((resolve) => (finish = resolve)));
    const service = build(['convert']);
    const first = service.run();
    const second = service.run();
    expect(second).toBe(first);
    await Promise.resolve(); // let the pass reach the slow routine
    await Promise.resolve();
    finish(1);
    await first;
    expect(pipeline.reconcile).toHaveBeenCalledTimes(1);
    // the next pass is a new one
    pipeline.reconcile.mockResolvedValue(0);
    await service.run();
    expect(pipeline.reconcile).toHaveBeenCalledTimes(2);
  });

  it('runs once at start, then every NIIX_RECONCILE_SECONDS, skipping a tick while a pass still runs, until destroyed', async () => {
    jest.useFakeTimers();
    everyRoutine();
    const service = build(['deliver']);
    await service.start();
    expect(delivery.reconcile).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(EVERY_MS);
    expect(delivery.reconcile).toHaveBeenCalledTimes(2);

    // a pass that outlasts two periods: the ticks in between start nothing
    let finish!: (n: number) => void;
    delivery.reconcile.mockImplementationOnce(() => new Promise((resolve) => (finish = resolve)));
    await jest.advanceTimersByTimeAsync(EVERY_MS);
    expect(delivery.reconcile).toHaveBeenCalledTimes(3);
    await jest.advanceTimersByTimeAsync(2 * EVERY_MS);
    expect(delivery.reconcile).toHaveBeenCalledTimes(3);

    // shutdown waits for the running pass, and no tick comes after it
    let destroyed = false;
    const destroying = service.onModuleDestroy().then(() => (destroyed = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(destroyed).toBe(false);
    finish(0);
    await destroying;
    await jest.advanceTimersByTimeAsync(5 * EVERY_MS);
    expect(delivery.reconcile).toHaveBeenCalledTimes(3);
    expect(await service.run()).toEqual({});
  });
});
