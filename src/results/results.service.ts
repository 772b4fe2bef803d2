import type { ScanPurpose } from '../database/schema.js';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { z } from 'zod';
import { AuditRepository } from '../audit/audit.repository.js';
import type { StationPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { type ResultBody, type ResultKind, type ResultRow, conveyanceOf, presentResult, type resultPage } from './result-body.js';
import { ResultEventsRepository } from './result-events.repository.js';
import { ResultRepository } from './result.repository.js';

/** A live stream sends a comment this often, and reads the database then too (a lost announcement costs at most this). */
export const HEARTBEAT_MS = 15_000;
/** Results read from the database at a time by a stream catching up. */
const STREAM_PAGE = 500;
export const MAX_PAGE = 500;

const cursor = z.string().regex(/^\d{1,15}$/, 'a result id (digits)');
export const resultsQuery = z.object({
  after: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
});

/** Where a live stream writes (the controller turns it into server-sent events). */
export interface ResultSink {
  send(result: ResultBody): Promise<void> | void;
  ping(): void;
  end(): void;
}

/** An open stream, ready to run: start() sends the backlog after the cursor, then each new result. */
export interface ResultStreamHandle {
  start(): void;
  close(): void;
}

/**
 * Results of scans back to the station that scanned them: recorded once per scan (a final verdict or a failure),
 * announced to live streams on every instance, pulled with a cursor, acknowledged, and delivered by webhook
 * (DeliveryService). Result ids commit in increasing order (ResultRepository.insertOnce), so "after id n" is exact.
 */
@Injectable()
export class ResultsService implements OnModuleDestroy {
  private readonly logger = new Logger(ResultsService.name);
  private readonly streams = new Set<ResultStream>();

  constructor(
    private readonly results: ResultRepository,
    private readonly events: ResultEventsRepository,
    private readonly delivery: DeliveryService,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Records the result of a scan unless it has one (then returns that one: safe to call again), announces it to the
   * station's live streams and schedules its webhook. The body is copied into the result with the conveyance of
   * the upload metadata: verdicts `{ decision, regions, note, decidedAt }`, failures `{ failure: { code, message } }`.
   * Throws only when the result could not be stored or its webhook not scheduled; calling again then completes it.
   */
  async record(scan: { id: string; stationId: string; metadata: unknown; purpose: ScanPurpose }, kind: ResultKind, body: Record<string, unknown>): Promise<ResultRow> {
    // A training scan carries the station id of the archived scan it was made from; it must never reach that station.
    if (scan.purpose !== 'live') throw new Error(`scan ${scan.id} is a ${scan.purpose} scan and has no result for a station`);
    const { row, created } = await this.results.insertOnce({
      stationId: scan.stationId,
      scanId: scan.id,
      kind,
      body: { ...conveyanceOf(scan.metadata), ...body },
      createdAt: this.clock.now(),
    });
    if (!created) this.logger.debug(`scan ${scan.id} has its result ${row.id} already`);
    try {
      await this.events.publish(row.stationId, row.id);
    } catch (error) {
      // the result is stored: streams find it at their next heartbeat
      this.logger.warn(`could not announce result ${row.id}: ${(error as Error).message}`);
    }
    await this.delivery.schedule(row);
    return row;
  }

  /** One page of the station's results after the cursor, in id order. */
  async list(station: StationPrincipal, query: unknown): Promise<z.infer<typeof resultPage>> {
    const parsed = resultsQuery.safeParse(query ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw ApiError.badRequest('invalid_query', `${issue.path.join('.') || 'query'}: ${issue.message}`);
    }
    const after = parsed.data.after === undefined ? 0 : Number(parsed.data.after);
    const rows = await this.results.listAfter(station.id, after, parsed.data.limit);
    return { results: rows.map(presentResult), next: String(rows.at(-1)?.id ?? after) };
  }

  /** The station confirms it has the result; 404 for another station's. Repeating it is harmless. */
  async acknowledge(station: StationPrincipal, resultId: string): Promise<void> {
    const id = parseResultId(resultId);
    const acked = id === undefined ? undefined : await this.results.acknowledge(station.id, id, this.clock.now());
    if (!acked) throw ApiError.notFound('result_not_found', `no result ${resultId} for this station`);
    if (acked.first) {
      await this.audit.record({ actorType: 'station', actorId: station.id, action: 'result.acknowledged', scanId: acked.row.scanId, detail: { resultId: String(id) } });
    }
  }

  /** The cursor of a stream: the Last-Event-ID header wins over `?after=` (it is what a reconnecting EventSource sends). */
  streamCursor(lastEventId: string | undefined, after: string | undefined): number | undefined {
    const text = lastEventId?.trim() || after;
    if (text === undefined || text === '') return undefined;
    const parsed = cursor.safeParse(text);
    if (!parsed.success) throw ApiError.badRequest('invalid_cursor', 'Last-Event-ID and after take a result id (digits)');
    return Number(text);
  }

  /**
   * Opens a live stream of the station's results after `after` (without: only results recorded from now on). It
   * listens for announcements before it reads, and every announcement, heartbeat or reconnect makes it read the
   * database after the last id it sent, so it never skips or repeats a result, whatever their timing.
   * Throws (before anything is sent) when live announcements are unavailable.
   */
  async openStream(station: StationPrincipal, after: number | undefined, sink: ResultSink): Promise<ResultStreamHandle> {
    const stream = new ResultStream((from) => this.results.listAfter(station.id, from, STREAM_PAGE), sink, this.logger);
    let unsubscribe: () => void;
    try {
      unsubscribe = await this.events.subscribe(station.id, (resultId) => stream.wake(resultId));
      stream.cursor = after ?? (await this.results.lastId(station.id));
    } catch (error) {
      this.logger.warn(`cannot open a result stream: ${(error as Error).message}`);
      throw new ApiError(503, 'stream_unavailable', 'live results are unavailable right now; pull them with GET /api/v1/station/results');
    }
    this.streams.add(stream);
    stream.onClose = () => {
      unsubscribe();
      this.streams.delete(stream);
    };
    return { start: () => stream.start(), close: () => stream.close() };
  }

  onModuleDestroy(): void {
    for (const stream of [...this.streams]) stream.close();
  }
}

function parseResultId(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** One open stream: sends every result after its cursor, one read at a time, never the same id twice. */
export class ResultStream {
  cursor = 0;
  onClose?: () => void;
  private reading = false;
  private again = false;
  private closed = false;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly read: (after: number) => Promise<ResultRow[]>,
    private readonly sink: ResultSink,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.closed) return;
    this.heartbeat = setInterval(() => {
      this.sink.ping();
      this.wake();
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    this.wake();
  }

  /** Reads after the cursor now, or right after the read in progress (which may have started before this result). */
  wake(resultId?: number): void {
    if (this.closed || (resultId !== undefined && resultId <= this.cursor)) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.drain().finally(() => {
      this.reading = false;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.onClose?.();
    this.sink.end();
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.read(this.cursor);
        for (const row of rows) {
          if (this.closed) return;
          await this.sink.send(presentResult(row));
          this.cursor = row.id;
        }
        if (rows.length < STREAM_PAGE) return;
      }
    } catch (error) {
      // the next announcement or heartbeat reads again from the same cursor
      this.logger.warn(`result stream: ${(error as Error).message}`);
    }
  }
}
