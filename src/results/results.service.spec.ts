import { Logger } from '@nestjs/common';
import { refusal } from '../../test/builders.js';
import { strictMock } from '../../test/strict-mock.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { StationPrincipal } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import type { ResultBody, ResultRow } from './result-body.js';
import { type ResultListener, ResultEventsRepository } from './result-events.repository.js';
import { ResultRepository } from './result.repository.js';
import { HEARTBEAT_MS, type ResultSink, ResultsService } from './results.service.js';
import { resultRow as buildResultRow } from '../../test/builders.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const STATION_ID = '5d1e8c2a-7b6f-4e0d-8a9b-1c2d3e4f5a6b';
const station: StationPrincipal = { kind: 'station', id: STATION_ID, name: 'Lane 2' };
const scan = {
  id: '0b7f5f0e-4c3a-4a53-9f51-3c3f2d9c1a01',
  purpose: 'live' as const,
  stationId: STATION_ID,
  metadata: { reference: 'lane-2/0042', containers: ['CSQU3054383'], declarations: ['25EE0001234'], licencePlates: ['ABC123'], riskScore: 40 },
};
const verdict = { decision: 'inspect', regions: [], note: 'check the rear', decidedAt: '2025-03-01T09:59:00.000Z' };

const resultRow = (id: number, overrides: Partial<ResultRow> = {}): ResultRow =>
  buildResultRow({
    id,
    stationId: STATION_ID,
    scanId: `scan-${id}`,
    body: { reference: null, declarations: [], containers: [], licencePlates: [], ...verdict },
    createdAt: NOW,
    ...overrides,
  });

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(ResultsService.name, () => {
  let results: jest.Mocked<ResultRepository>;
  let events: jest.Mocked<ResultEventsRepository>;
  let delivery: jest.Mocked<DeliveryService>;
  let audit: jest.Mocked<AuditRepository>;
  let service: ResultsService;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    results = strictMock(ResultRepository);
    events = strictMock(ResultEventsRepository);
    delivery = strictMock(DeliveryService);
    audit = strictMock(AuditRepository);
    service = new ResultsService(results, events, delivery, audit, strictMock(Clock, { now: () => NOW }));
  });
  afterEach(() => jest.restoreAllMocks());

  describe('record', () => {
    it('refuses a training scan: it carries the station id of its archived scan but must never reach that station', async () => {
      await expect(service.record({ ...scan, purpose: 'training' }, 'verdict', verdict)).rejects.toThrow(/training scan/);
      expect(results.insertOnce).not.toHaveBeenCalled();
    });

    it('stores the conveyance with the body, announces the result and schedules its webhook', async () => {
      const row = resultRow(7);
      results.insertOnce.mockResolvedValue({ row, created: true });
      events.publish.mockResolvedValue();
      delivery.schedule.mockResolvedValue(true);
      expect(await service.record(scan, 'verdict', verdict)).toBe(row);
      expect(results.insertOnce).toHaveBeenCalledWith({
        stationId: STATION_ID,
        scanId: scan.id,
        kind: 'verdict',
        body: { reference: 'lane-2/0042', declarations: ['25EE0001234'], containers: ['CSQU3054383'], licencePlates: ['ABC123'], ...verdict },
        createdAt: NOW,
      });
      expect(events.publish).toHaveBeenCalledWith(STATION_ID, 7);
      expect(delivery.schedule).toHaveBeenCalledWith(row);
    });

    it('returns the existing result for a scan that has one (idempotent), completing its side effects', async () => {
      const existing = resultRow(3, { kind: 'failure' });
      results.insertOnce.mockResolvedValue({ row: existing, created: false });
      events.publish.mockResolvedValue();
      delivery.schedule.mockResolvedValue(false);
      expect(await service.record(scan, 'verdict', verdict)).toBe(existing);
    });

    it('keeps the result when the announcement fails (streams catch up at their heartbeat)', async () => {
      results.insertOnce.mockResolvedValue({ row: resultRow(7), created: true });
      events.publish.mockRejectedValue(new Error('redis down'));
      delivery.schedule.mockResolvedValue(true);
      await expect(service.record({ ...scan, metadata: null }, 'failure', { failure: { code: 'malformed_input', message: 'bad' } })).resolves.toMatchObject({ id: 7 });
      expect(results.insertOnce).toHaveBeenCalledWith(
        expect.objectContaining({ body: { reference: null, declarations: [], containers: [], licencePlates: [], failure: { code: 'malformed_input', message: 'bad' } } }),
      );
    });
  });

  describe('list', () => {
    it('pages after the cursor in id order; next is the last id, or the cursor when empty', async () => {
      results.listAfter.mockResolvedValueOnce([resultRow(4), resultRow(9)]);
      const page = await service.list(station, { after: '3', limit: '2' });
      expect(results.listAfter).toHaveBeenCalledWith(STATION_ID, 3, 2);
      expect(page.results.map((result) => result.resultId)).toEqual(['4', '9']);
      expect(page.next).toBe('9');
      expect(page.results[0]).toEqual({ resultId: '4', scanId: 'scan-4', kind: 'verdict', reference: null, declarations: [], containers: [], licencePlates: [], ...verdict, createdAt: NOW.toISOString() });
      results.listAfter.mockResolvedValueOnce([]);
      expect(await service.list(station, { after: '9' })).toEqual({ results: [], next: '9' });
      expect(results.listAfter).toHaveBeenLastCalledWith(STATION_ID, 9, 100);
    });

    it('starts at the first result without a cursor', async () => {
      results.listAfter.mockResolvedValue([]);
      expect(await service.list(station, {})).toEqual({ results: [], next: '0' });
      expect(results.listAfter).toHaveBeenCalledWith(STATION_ID, 0, 100);
    });

    it.each([{ after: 'abc' }, { after: '-1' }, { limit: '0' }, { limit: '501' }, { limit: 'many' }])('refuses %j with 400 invalid_query', async (query) => {
      expect(await refusal(service.list(station, query))).toMatchObject({ status: 400, code: 'invalid_query' });
    });
  });

  describe('acknowledge', () => {
    it('records the first acknowledgement in the audit trail, later ones quietly', async () => {
      results.acknowledge.mockResolvedValueOnce({ row: resultRow(5), first: true }).mockResolvedValueOnce({ row: resultRow(5), first: false });
      audit.record.mockResolvedValue();
      await service.acknowledge(station, '5');
      await service.acknowledge(station, '5');
      expect(results.acknowledge).toHaveBeenCalledWith(STATION_ID, 5, NOW);
      expect(audit.record).toHaveBeenCalledTimes(1);
      expect(audit.record).toHaveBeenCalledWith({ actorType: 'station', actorId: STATION_ID, action: 'result.acknowledged', scanId: 'scan-5', detail: { resultId: '5' } });
    });

    it("answers 404 for another station's or an unknown result", async () => {
      results.acknowledge.mockResolvedValue(undefined);
      expect(await refusal(service.acknowledge(station, '5'))).toMatchObject({ status: 404, code: 'result_not_found' });
      expect(await refusal(service.acknowledge(station, 'five'))).toMatchObject({ status: 404, code: 'result_not_found' });
    });
  });

  describe('streams', () => {
    let listener: ResultListener;
    let unsubscribe: jest.Mock;
    let sent: string[];
    let sink: jest.Mocked<ResultSink>;

    beforeEach(() => {
      unsubscribe = jest.fn();
      events.subscribe.mockImplementation((_station, given) => {
        listener = given;
        return Promise.resolve(unsubscribe);
      });
      sent = [];
      sink = { send: jest.fn((result: ResultBody) => void sent.push(result.resultId)), ping: jest.fn(), end: jest.fn() };
    });

    it('takes Last-Event-ID before after, and refuses a cursor that is not an id', () => {
      expect(service.streamCursor('12', '3')).toBe(12);
      expect(service.streamCursor(undefined, '3')).toBe(3);
      expect(service.streamCursor(undefined, undefined)).toBeUndefined();
      expect(() => service.streamCursor('abc', undefined)).toThrow(expect.objectContaining({ code: 'invalid_cursor', status: 400 }));
    });

    it('sends the backlog after the cursor, then a result recorded during the backlog read, once, in order', async () => {
      let release!: () => void;
      results.listAfter.mockImplementation(async (_id, after) => {
        if (after === 2) {
          // a result is announced while the backlog is being read
          listener(6);
          await new Promise<void>((resolve) => (release = resolve));
          return [resultRow(3), resultRow(5)];
        }
        if (after === 5) return [resultRow(6)];
        return [];
      });
      const stream = await service.openStream(station, 2, sink);
      stream.start();
      await flush();
      release();
      await flush();
      await flush();
      listener(6); // the same announcement again (another instance, a retry): nothing is sent twice
      listener(4); // an id below the cursor: no read at all
      await flush();
      expect(sent).toEqual(['3', '5', '6']);
      expect(results.listAfter.mock.calls.map(([, after]) => after)).toEqual([2, 5]);
      stream.close();
      expect(unsubscribe).toHaveBeenCalled();
      expect(sink.end).toHaveBeenCalled();
    });

    it('without a cursor starts at the newest result, listening before it looks', async () => {
      results.lastId.mockImplementation(() => {
        expect(events.subscribe).toHaveBeenCalled();
        return Promise.resolve(41);
      });
      results.listAfter.mockResolvedValueOnce([]).mockResolvedValueOnce([resultRow(42)]);
      const stream = await service.openStream(station, undefined, sink);
      stream.start();
      await flush();
      listener(42);
      await flush();
      expect(sent).toEqual(['42']);
      expect(results.listAfter.mock.calls.map(([, after]) => after)).toEqual([41, 41]);
      stream.close();
    });

    it('pings every 15 s and reads again then (an announcement may be lost); stops when closed', async () => {
      jest.useFakeTimers();
      try {
        results.listAfter.mockResolvedValueOnce([]).mockResolvedValueOnce([resultRow(8)]);
        const stream = await service.openStream(station, 7, sink);
        stream.start();
        await Promise.resolve();
        jest.advanceTimersByTime(HEARTBEAT_MS);
        expect(sink.ping).toHaveBeenCalledTimes(1);
        await jest.advanceTimersByTimeAsync(0);
        expect(sent).toEqual(['8']);
        stream.close();
        jest.advanceTimersByTime(HEARTBEAT_MS * 3);
        expect(sink.ping).toHaveBeenCalledTimes(1);
      } finally {
        jest.useRealTimers();
      }
    });

    it('answers 503 stream_unavailable when announcements cannot be received', async () => {
      events.subscribe.mockRejectedValue(new Error('redis down'));
      expect(await refusal(service.openStream(station, 1, sink))).toMatchObject({ status: 503, code: 'stream_unavailable' });
    });

    it('closes every open stream on shutdown', async () => {
      results.listAfter.mockResolvedValue([]);
      const stream = await service.openStream(station, 1, sink);
      stream.start();
      service.onModuleDestroy();
      expect(sink.end).toHaveBeenCalledTimes(1);
      expect(unsubscribe).toHaveBeenCalledTimes(1);
    });
  });
});
