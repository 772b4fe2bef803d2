import { Logger } from '@nestjs/common';
import { refusal } from '../../test/builders.js';
import { strictMock, strictValue } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import { CAPPED_EXPONENTIAL } from '../queue/backoff.js';
import type { JobContext } from '../queue/job-handler.decorator.js';
import { JobName } from '../queue/jobs.js';
import { QueueRepository } from '../queue/queue.repository.js';
import type { ResultRow } from '../results/result-body.js';
import { ResultRepository } from '../results/result.repository.js';
import { StationRepository, type StationRow } from '../stations/station.repository.js';
import { DeliveryService, WEBHOOK_TIMEOUT_MS, WebhookFailedError } from './delivery.service.js';
import { verifyWebhook } from './webhook-signature.js';
import { WebhookTransport } from './webhook.transport.js';
import { resultRow as buildResultRow } from '../../test/builders.js';
import { MetricsService } from '../metrics/metrics.service.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const T = NOW.getTime() / 1000;
const STATION_ID = '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b';
const SCAN_ID = '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01';
const SECRET = 'niixw_secret';
const admin: UserPrincipal = { kind: 'user', id: 'a0a0a0a0-0000-4000-8000-000000000001', username: 'admin', roles: ['admin'] };
const context: JobContext = { attempt: 3, progress: () => Promise.resolve() };

const resultRow = (overrides: Partial<ResultRow> = {}): ResultRow =>
  buildResultRow({
    id: 42,
    stationId: STATION_ID,
    scanId: SCAN_ID,
    body: { reference: 'lane-2/0042', declarations: [], containers: ['CSQU3054383'], licencePlates: [], decision: 'clear', regions: [], note: null, decidedAt: '2025-03-01T09:59:00.000Z' },
    createdAt: new Date('2025-03-01T09:59:30Z'),
    ...overrides,
  });

function stationRow(overrides: Partial<StationRow> = {}): StationRow {
  return strictValue<StationRow>('StationRow', { id: STATION_ID, name: 'Narva road 2', callbackUrl: 'https://lane2.example/niix', webhookSecret: SECRET, ...overrides });
}

describe(DeliveryService.name, () => {
  let results: jest.Mocked<ResultRepository>;
  let stations: jest.Mocked<StationRepository>;
  let queues: jest.Mocked<QueueRepository>;
  let transport: jest.Mocked<WebhookTransport>;
  let audit: jest.Mocked<AuditRepository>;
  let metrics: MetricsService;
  let service: DeliveryService;

  /** The value of a counter of this station. */
  async function counted(name: string): Promise<number | undefined> {
    const metric = await metrics.registry.getSingleMetric(name)?.get();
    return metric?.values.find((value) => value.labels.station === STATION_ID)?.value;
  }

  function build(delivery: AppConfig['delivery'] = { backoffMs: 1000 }) {
    const config = strictValue<AppConfig>('AppConfig', { delivery });
    service = new DeliveryService(config, results, stations, queues, transport, audit, strictMock(Clock, { now: () => NOW }), metrics);
  }

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    results = strictMock(ResultRepository);
    stations = strictMock(StationRepository);
    queues = strictMock(QueueRepository);
    transport = strictMock(WebhookTransport);
    audit = strictMock(AuditRepository);
    metrics = new MetricsService();
    build();
  });
  afterEach(() => jest.restoreAllMocks());

  describe('schedule', () => {
    it('enqueues deliver-result with enough capped-exponential attempts for 24 hours', async () => {
      stations.findById.mockResolvedValue(stationRow());
      queues.add.mockResolvedValue();
      expect(await service.schedule(resultRow())).toBe(true);
      expect(queues.add).toHaveBeenCalledWith(JobName.DeliverResult, { resultId: '42' }, { attempts: 36, backoff: { type: CAPPED_EXPONENTIAL, delay: 1000 }, resetAttempts: undefined });
    });

    it('takes NIIX_DELIVERY_ATTEMPTS when set', async () => {
      build({ backoffMs: 50, attempts: 3 });
      stations.findById.mockResolvedValue(stationRow());
      queues.add.mockResolvedValue();
      await service.schedule(resultRow());
      expect(queues.add).toHaveBeenCalledWith(JobName.DeliverResult, { resultId: '42' }, expect.objectContaining({ attempts: 3, backoff: { type: CAPPED_EXPONENTIAL, delay: 50 } }));
    });

    it('does nothing for a station without callback URL, or a result it has', async () => {
      stations.findById.mockResolvedValue(stationRow({ callbackUrl: null }));
      expect(await service.schedule(resultRow())).toBe(false);
      expect(await service.schedule(resultRow({ ackedAt: NOW }))).toBe(false);
      expect(await service.schedule(resultRow({ deliveredAt: NOW }))).toBe(false);
      expect(queues.add).not.toHaveBeenCalled();
    });
  });

  describe('deliver', () => {
    beforeEach(() => {
      results.findById.mockResolvedValue(resultRow());
      stations.findById.mockResolvedValue(stationRow());
      results.recordAttempt.mockResolvedValue();
    });

    it('POSTs the result JSON signed with the station secret, and marks it delivered on 2xx', async () => {
      transport.post.mockResolvedValue({ status: 204 });
      audit.record.mockResolvedValue();
      await service.deliver({ resultId: '42' }, context);
      const [url, body, headers, timeout] = transport.post.mock.calls[0];
      expect(url).toBe('https://lane2.example/niix');
      expect(timeout).toBe(WEBHOOK_TIMEOUT_MS);
      expect(JSON.parse(body)).toEqual({
        resultId: '42',
        scanId: SCAN_ID,
        kind: 'verdict',
        reference: 'lane-2/0042',
        declarations: [],
        containers: ['CSQU3054383'],
        licencePlates: [],
        decision: 'clear',
        regions: [],
        note: null,
        decidedAt: '2025-03-01T09:59:00.000Z',
        createdAt: '2025-03-01T09:59:30.000Z',
      });
      expect(headers).toMatchObject({ 'Content-Type': 'application/json', 'X-Niix-Delivery': '42' });
      expect(headers['X-Niix-Signature']).toMatch(new RegExp(`^t=${T},v1=[0-9a-f]{64}$`));
      expect(verifyWebhook(SECRET, body, headers['X-Niix-Signature'], T)).toBe(true);
      expect(results.recordAttempt).toHaveBeenCalledWith(42, { deliveredAt: NOW });
      expect([await counted('niix_deliveries_attempted_total'), await counted('niix_deliveries_failed_total')]).toEqual([1, undefined]);
    });

    it.each([
      [{ status: 500 }, 'the callback URL answered HTTP 500'],
      [{ status: 302 }, 'the callback URL answered HTTP 302'],
    ])('counts a non-2xx answer %j as a failed attempt and throws to retry', async (answer, error) => {
      transport.post.mockResolvedValue(answer);
      await expect(service.deliver({ resultId: '42' }, context)).rejects.toThrow(WebhookFailedError);
      expect(results.recordAttempt).toHaveBeenCalledWith(42, { error });
      expect([await counted('niix_deliveries_attempted_total'), await counted('niix_deliveries_failed_total')]).toEqual([1, 1]);
    });

    it('counts a timeout and a network fault as failed attempts', async () => {
      transport.post.mockRejectedValueOnce(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      await expect(service.deliver({ resultId: '42' }, context)).rejects.toThrow('attempt 3 of 36');
      expect(results.recordAttempt).toHaveBeenLastCalledWith(42, { error: 'no answer within 10 s' });
      transport.post.mockRejectedValueOnce(new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }));
      await expect(service.deliver({ resultId: '42' }, context)).rejects.toThrow('fetch failed: ECONNREFUSED');
    });

    it.each([{ deliveredAt: NOW }, { ackedAt: NOW }])('sends nothing for a result with %j', async (state) => {
      results.findById.mockResolvedValue(resultRow(state));
      await service.deliver({ resultId: '42' }, context);
      expect(transport.post).not.toHaveBeenCalled();
    });

    it('sends an undelivered result taken for a retry and, when it gets through, the other undelivered results of its station', async () => {
      results.findById.mockResolvedValue(resultRow({ undeliveredAt: NOW, deliveryAttempts: 36 }));
      transport.post.mockResolvedValue({ status: 200 });
      audit.record.mockResolvedValue();
      results.takeUndeliveredOf.mockResolvedValue([resultRow({ id: 43, deliveryAttempts: 36 }), resultRow({ id: 44, deliveryAttempts: 36 })]);
      queues.add.mockResolvedValue();
      await service.deliver({ resultId: '42' }, { ...context, attempt: 37 });
      expect(results.recordAttempt).toHaveBeenCalledWith(42, { deliveredAt: NOW });
      expect(results.takeUndeliveredOf).toHaveBeenCalledWith(STATION_ID);
      expect(queues.add.mock.calls).toEqual([
        [JobName.DeliverResult, { resultId: '43' }, { attempts: 36, backoff: { type: CAPPED_EXPONENTIAL, delay: 1000 }, resetAttempts: true }],
        [JobName.DeliverResult, { resultId: '44' }, { attempts: 36, backoff: { type: CAPPED_EXPONENTIAL, delay: 1000 }, resetAttempts: true }],
      ]);
    });

    it('names a failed retry of an undelivered result as such', async () => {
      results.findById.mockResolvedValue(resultRow({ undeliveredAt: NOW, deliveryAttempts: 36 }));
      transport.post.mockResolvedValue({ status: 503 });
      await expect(service.deliver({ resultId: '42' }, { ...context, attempt: 37 })).rejects.toThrow('(a retry of an undelivered result): the callback URL answered HTTP 503');
      expect(results.recordAttempt).toHaveBeenCalledWith(42, { error: 'the callback URL answered HTTP 503' });
    });
  });

  describe('retryUndelivered', () => {
    it('takes the due undelivered results (given up an hour ago or earlier) and gives each one more attempt', async () => {
      results.takeUndeliveredRetries.mockResolvedValue([resultRow({ undeliveredAt: NOW }), resultRow({ id: 50, undeliveredAt: NOW })]);
      queues.add.mockResolvedValue();
      expect(await service.retryUndelivered()).toBe(2);
      expect(results.takeUndeliveredRetries).toHaveBeenCalledWith(new Date(NOW.getTime() - 3_600_000), NOW);
      expect(queues.add.mock.calls).toEqual([
        [JobName.DeliverResult, { resultId: '42' }, { attempts: 1, backoff: { type: CAPPED_EXPONENTIAL, delay: 1000 } }],
        [JobName.DeliverResult, { resultId: '50' }, { attempts: 1, backoff: { type: CAPPED_EXPONENTIAL, delay: 1000 } }],
      ]);
    });

    it.each([
      [1000, 3_600_000],
      [60_000, 3_600_000],
      [50, 180_000],
      [1, 3600],
    ])('with a first wait of %i ms, retries hourly, scaled below 1 s (%i ms)', (backoffMs, retryMs) => {
      build({ backoffMs });
      expect(service.retryUndeliveredMs).toBe(retryMs);
    });

    it('is part of the reconciliation', async () => {
      results.pendingDeliveries.mockResolvedValue([7]);
      queues.state.mockResolvedValue('delayed');
      results.takeUndeliveredRetries.mockResolvedValue([resultRow({ undeliveredAt: NOW })]);
      queues.add.mockResolvedValue();
      expect(await service.reconcile()).toBe(2);
    });
  });

  describe('reconcile', () => {
    beforeEach(() => results.takeUndeliveredRetries.mockResolvedValue([]));

    it('schedules again the webhooks still to deliver whose job was lost', async () => {
      results.pendingDeliveries.mockResolvedValue([7, 8]);
      queues.state.mockResolvedValueOnce(null).mockResolvedValueOnce('delayed');
      queues.add.mockResolvedValue();
      expect(await service.reconcile()).toBe(2);
      expect(queues.add.mock.calls.map((call) => call[1])).toEqual([{ resultId: '7' }, { resultId: '8' }]);
    });

    it('marks undelivered a result whose job failed for good (its exhausted handler did not run), instead of one more attempt', async () => {
      results.pendingDeliveries.mockResolvedValue([42]);
      queues.state.mockResolvedValue('failed');
      results.findById.mockResolvedValue(resultRow({ deliveryAttempts: 36 }));
      results.markUndelivered.mockResolvedValue(true);
      audit.record.mockResolvedValue();
      await service.reconcile();
      expect(results.markUndelivered).toHaveBeenCalledWith(42, NOW);
      expect(queues.add).not.toHaveBeenCalled();
    });
  });

  describe('exhausted', () => {
    it('marks the result undelivered after the last attempt', async () => {
      results.findById.mockResolvedValue(resultRow({ deliveryAttempts: 36, lastDeliveryError: 'the callback URL answered HTTP 503' }));
      results.markUndelivered.mockResolvedValue(true);
      audit.record.mockResolvedValue();
      await service.exhausted({ resultId: '42' }, new Error('HTTP 503'));
      expect(results.markUndelivered).toHaveBeenCalledWith(42, NOW);
      expect(audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'result.undelivered', scanId: SCAN_ID }));
      expect(await counted('niix_deliveries_undelivered_total')).toBe(1);
    });

    it('leaves a result delivered meanwhile, or one whose retry failed (undelivered already), alone', async () => {
      results.findById.mockResolvedValue(resultRow());
      results.markUndelivered.mockResolvedValue(false);
      await service.exhausted({ resultId: '42' }, new Error('HTTP 503'));
      expect(await counted('niix_deliveries_undelivered_total')).toBeUndefined();
    });
  });

  describe('redeliver', () => {
    it('clears undelivered and starts a fresh schedule', async () => {
      results.findById.mockResolvedValue(resultRow({ undeliveredAt: NOW, deliveryAttempts: 36 }));
      stations.findById.mockResolvedValue(stationRow());
      results.clearUndelivered.mockResolvedValue();
      queues.add.mockResolvedValue();
      audit.record.mockResolvedValue();
      expect(await service.redeliver(admin, '42')).toEqual({ resultId: '42', status: 'scheduled' });
      expect(results.clearUndelivered).toHaveBeenCalledWith(42);
      expect(queues.add).toHaveBeenCalledWith(JobName.DeliverResult, { resultId: '42' }, expect.objectContaining({ resetAttempts: true }));
    });

    it('refuses unknown, received and callback-less results', async () => {
      results.findById.mockResolvedValueOnce(undefined);
      expect(await refusal(service.redeliver(admin, '42'))).toMatchObject({ status: 404, code: 'result_not_found' });
      expect(await refusal(service.redeliver(admin, 'x1'))).toMatchObject({ status: 404, code: 'result_not_found' });
      results.findById.mockResolvedValueOnce(resultRow({ ackedAt: NOW }));
      expect(await refusal(service.redeliver(admin, '42'))).toMatchObject({ status: 409, code: 'result_already_received' });
      results.findById.mockResolvedValueOnce(resultRow({ undeliveredAt: NOW }));
      stations.findById.mockResolvedValue(stationRow({ callbackUrl: null }));
      expect(await refusal(service.redeliver(admin, '42'))).toMatchObject({ status: 409, code: 'no_callback_url' });
    });
  });
});
