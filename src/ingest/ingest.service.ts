import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { MetadataError, parseScanMetadata, type ScanMetadata } from '../../libs/exchange-format/src/metadata.js';
import { unstorableCharacter, unstorableTextReason } from '../../libs/exchange-format/src/text.js';
import { CHECK_BYTES, ConversionError, SNIFF_BYTES, type ScannerAdapter } from '../../libs/scanner-adapters/src/adapter.js';
import type { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import type { StationPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { isRedisUnavailable } from '../redis/redis-fault.js';
import { APP_CONFIG, type AppConfig, conversionLimits } from '../config/config.js';
import { isDatabaseFault } from '../database/database-fault.js';
import { annotateLogContext } from '../logging/log-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { ADAPTER_REGISTRY } from '../pipeline/adapters.provider.js';
import { scanRisk } from '../review/review-priority.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { StationRepository } from '../stations/station.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { UploadInspector } from './upload-inspector.js';

/** One part of a multipart upload, as the controller hands it over. */
export type UploadPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; fileName: string; stream: Readable };

export const MAX_FILES_PER_SCAN = 32;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;
/** After an insert whose outcome is unknown (the database went away under it), how often and how long to ask again. */
export const UNKNOWN_INSERT_RETRY_MS = 1000;
export const UNKNOWN_INSERT_GIVE_UP_MS = 10 * 60_000;

export const uploadResponse = z
  .object({
    id: z.string(),
    status: z.enum(['received', 'converting', 'queued', 'failed']),
    duplicate: z.boolean().describe('true when niix had this scan already (200): nothing new was stored'),
    notApplied: z
      .array(z.string())
      .describe('metadata fields of this upload that differ from the first upload of the same files and were not applied'),
  });

interface StoredFile {
  position: number;
  name: string;
  size: number;
  sha256: string;
  objectKey: string;
  head: Buffer;
}

/**
 * Takes a station's upload: streams every file to object storage while hashing it, refuses unknown formats
 * from the first bytes, records the scan and its originals in one transaction, and starts the pipeline.
 * Nothing is half-written: a refused or failed upload leaves no objects and no row. Once the scan is recorded its
 * originals stay, whatever fails after (an answer lost, the queue down): the station's retry finds the scan and
 * starts its conversion when it has not started. When the database goes away under the insert, whether it was
 * recorded is asked again once the database answers, and the originals of a scan that was not are deleted then.
 */
@Injectable()
export class IngestService implements OnModuleDestroy {
  private readonly logger = new Logger(IngestService.name);
  /** Pending questions after inserts of unknown outcome (settleUnknownInsert), with the prefix each is about. */
  private readonly settling = new Map<NodeJS.Timeout, string>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(ADAPTER_REGISTRY) private readonly adapters: AdapterRegistry,
    private readonly scans: ScanRepository,
    private readonly stations: StationRepository,
    private readonly pipeline: PipelineService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /** Checks the Idempotency-Key before the body is read. */
  checkIdempotencyKey(key: string | undefined): void {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw ApiError.badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1 to 200 letters, digits or . _ : -');
    }
  }

  /**
   * Stores a new scan, or answers with the earlier scan of this station that has the same files (the files
   * identify a scan: the first upload's metadata stands, and the fields of the repeat that differ are named). An
   * Idempotency-Key used before with other files is refused (409) naming the first scan: nothing is dropped
   * without a word.
   */
  async receive(
    station: StationPrincipal,
    idempotencyKey: string | undefined,
    parts: AsyncIterable<UploadPart>,
  ): Promise<{ scan: ScanRow; created: boolean; notApplied: string[] }> {
    this.checkIdempotencyKey(idempotencyKey);
    const sameKey = idempotencyKey === undefined ? undefined : await this.scans.findByIdempotencyKey(station.id, idempotencyKey);
    const scanId = this.clock.newId();
    annotateLogContext({ scanId });
    const prefix = `scans/${scanId}/`;
    const files: StoredFile[] = [];
    let metadata: ScanMetadata = {};
    let total = 0;
    /** Whether the scan row is committed: `unknown` when the database failed under the insert. */
    let recorded = 'no' as 'no' | 'unknown' | 'yes';
    try {
      for await (const part of parts) {
        if (part.kind === 'field') {
          if (part.name !== 'metadata') {
            throw ApiError.badRequest('unknown_field', `the upload has a field "${part.name}"; only "metadata" and files are accepted`);
          }
          metadata = this.parseMetadata(part.value);
          continue;
        }
        if (files.length >= MAX_FILES_PER_SCAN) {
          throw new ApiError(413, 'too_many_files', `a scan has at most ${MAX_FILES_PER_SCAN} files`);
        }
        const unstorable = unstorableCharacter(part.fileName);
        if (unstorable) {
          throw new ApiError(422, 'invalid_text', `the file name of file ${files.length + 1} ${unstorableTextReason(unstorable)}`);
        }
        const stored = await this.storeFile(prefix, files.length, part.fileName || `file-${files.length}`, part.stream, () => this.config.limits.maxUploadBytes - total);
        total += stored.size;
        files.push(stored);
      }
      if (files.length === 0) throw ApiError.badRequest('no_files', 'the upload has no file part: send the scan files as multipart file parts');
      const identified = this.adapters.identify(files.map((file) => ({ name: file.name, head: file.head.subarray(0, SNIFF_BYTES) })));
      if ('unrecognised' in identified) {
        throw new ApiError(
          415,
          'unsupported_format',
          `no scanner adapter takes these files together: ${identified.unrecognised.join(', ')}`,
        );
      }
      this.checkHeaders(identified.adapter, files);
      const contentSha256 = createHash('sha256')
        .update(files.map((file) => file.sha256).join('\n'))
        .digest('hex');
      const earlier = sameKey ?? (await this.scans.findByContent(station.id, contentSha256));
      if (earlier) {
        await this.storage.deletePrefix(prefix);
        return await this.repeatOf(earlier, idempotencyKey, contentSha256, metadata);
      }
      const now = this.clock.now();
      const settings = await this.stations.findById(station.id);
      if (!settings) throw ApiError.unauthorized('the station no longer exists');
      const row = {
        id: scanId,
        stationId: station.id,
        status: 'received' as const,
        riskScore: scanRisk(settings.riskLevel, metadata.riskScore),
        pool: settings.pool,
        slaDeadline: new Date(now.getTime() + settings.slaSeconds * 1000),
        idempotencyKey: idempotencyKey ?? null,
        contentSha256,
        metadata,
        adapterId: identified.adapter.id,
        receivedAt: now,
      };
      let inserted: boolean;
      try {
        inserted = await this.scans.insertWithFiles(
          row,
          files.map((file) => ({ scanId, position: file.position, name: file.name, size: file.size, sha256: file.sha256, objectKey: file.objectKey })),
          {
            actorType: 'station',
            actorId: station.id,
            action: 'scan.received',
            detail: { files: files.map(({ name, size, sha256 }) => ({ name, size, sha256 })), adapter: identified.adapter.id },
          },
        );
      } catch (error) {
        // A connection lost at the commit leaves it unknown whether the row was committed.
        if (isDatabaseFault(error)) recorded = 'unknown';
        throw error;
      }
      if (!inserted) {
        // The same key or content arrived concurrently and won the race: that scan is the answer.
        await this.storage.deletePrefix(prefix);
        const winner =
          (idempotencyKey && (await this.scans.findByIdempotencyKey(station.id, idempotencyKey))) ||
          (await this.scans.findByContent(station.id, contentSha256));
        if (!winner) throw new Error('scan insert conflicted but no earlier scan was found');
        return await this.repeatOf(winner, idempotencyKey, contentSha256, metadata);
      }
      recorded = 'yes';
      this.metrics.scanReceived(station.id, identified.adapter.id);
      try {
        await this.pipeline.start(scanId);
      } catch (error) {
        // The scan is recorded: the next reconciliation (NIIX_RECONCILE_SECONDS) gives it its job once Redis answers.
        if (!isRedisUnavailable(error, { fromRedisCall: true })) throw error;
        this.logger.warn(`scan ${scanId} recorded; its conversion waits for Redis: ${(error as Error).message}`);
      }
      const scan = await this.scans.findById(scanId);
      return { scan: scan!, created: true, notApplied: [] };
    } catch (error) {
      if (recorded === 'no') {
        await this.storage.deletePrefix(prefix).catch((cause: Error) => this.logger.error(`cleanup of ${prefix} failed: ${cause.message}`));
      } else if (recorded === 'unknown') {
        this.settleUnknownInsert(scanId, prefix);
      }
      throw error;
    }
  }

  /**
   * The insert of scan `scanId` failed on the database, maybe after it committed. Asks again (in the background,
   * every UNKNOWN_INSERT_RETRY_MS) until the database answers: when the scan was not recorded, its objects are
   * deleted (the station, answered 503, sends the upload again); when it was, they are its originals and stay.
   */
  private settleUnknownInsert(scanId: string, prefix: string): void {
    const started = Date.now();
    const later = () => {
      const timer = setTimeout(() => {
        this.settling.delete(timer);
        void ask();
      }, UNKNOWN_INSERT_RETRY_MS);
      timer.unref();
      this.settling.set(timer, prefix);
    };
    const ask = async () => {
      try {
        if (!(await this.scans.findById(scanId))) await this.storage.deletePrefix(prefix);
      } catch (error) {
        if (Date.now() - started > UNKNOWN_INSERT_GIVE_UP_MS) {
          this.logger.error(`could not learn whether scan ${scanId} was recorded (${(error as Error).message}); its objects under ${prefix} are kept`);
          return;
        }
        later();
      }
    };
    later();
  }

  onModuleDestroy(): void {
    for (const timer of this.settling.keys()) clearTimeout(timer);
    if (this.settling.size) {
      this.logger.warn(`stopping before the database told whether these uploads were recorded; their objects are kept: ${[...this.settling.values()].join(', ')}`);
    }
    this.settling.clear();
  }

  /**
   * The answer to an upload niix had already: the same files, or the same Idempotency-Key with the same files. A scan
   * still `received` may be one whose upload was answered 5xx after it was recorded, before its conversion was
   * queued: the repeat queues it (the job id makes this harmless when the job exists or has run).
   */
  private async repeatOf(earlier: ScanRow, idempotencyKey: string | undefined, contentSha256: string, metadata: ScanMetadata) {
    if (idempotencyKey !== undefined && earlier.idempotencyKey === idempotencyKey && earlier.contentSha256 !== contentSha256) {
      throw ApiError.conflict(
        'idempotency_key_reused',
        `the Idempotency-Key ${idempotencyKey} was used for scan ${earlier.id} with other files: send a new scan with a new key`,
      );
    }
    if (earlier.status === 'received') await this.pipeline.start(earlier.id);
    return { scan: earlier, created: false, notApplied: metadataDifferences(earlier.metadata, metadata) };
  }

  /** The adapter's cheap header check: a file it can already tell is broken is refused now, not later. */
  private checkHeaders(adapter: ScannerAdapter, files: StoredFile[]): void {
    try {
      adapter.check?.(
        files.map((file) => ({ name: file.name, size: file.size, head: file.head })),
        conversionLimits(this.config),
      );
    } catch (error) {
      if (!(error instanceof ConversionError)) throw error;
      const status = error.code === 'too_many_pixels' ? 413 : 422;
      throw new ApiError(status, error.code, error.message);
    }
  }

  private parseMetadata(text: string): ScanMetadata {
    try {
      return parseScanMetadata(text);
    } catch (error) {
      if (error instanceof MetadataError) throw new ApiError(422, error.code, error.message);
      throw error;
    }
  }

  private async storeFile(prefix: string, position: number, name: string, stream: Readable, budget: () => number): Promise<StoredFile> {
    const objectKey = `${prefix}original/${position}`;
    const inspector = new UploadInspector({
      judgeBytes: SNIFF_BYTES,
      keepBytes: CHECK_BYTES,
      budget,
      judgeHead: (head) =>
        this.adapters.identifyOne(head, name).length === 0
          ? new ApiError(415, 'unsupported_format', `no scanner adapter recognises the file ${name}`)
          : null,
      overBudget: () => new ApiError(413, 'upload_too_large', `the upload is larger than the limit of ${this.config.limits.maxUploadBytes} bytes`),
    });
    stream.on('error', (error) => inspector.destroy(error));
    inspector.on('error', () => undefined); // it can fail before storage attaches; storage sees the error state

    try {
      await this.storage.putStream(objectKey, stream.pipe(inspector));
    } catch (error) {
      stream.resume(); // let the rest of the request body drain
      const truncated = (stream as Readable & { truncated?: boolean }).truncated;
      if (truncated) throw new ApiError(413, 'upload_too_large', `the upload is larger than the limit of ${this.config.limits.maxUploadBytes} bytes`);
      throw error;
    }
    return { position, name, size: inspector.bytes, sha256: inspector.sha256(), objectKey, head: inspector.head() };
  }
}

/** Names of the metadata fields (`fields.<name>` for a station's free fields) whose values differ between two uploads. */
export function metadataDifferences(first: ScanMetadata, repeat: ScanMetadata): string[] {
  const differs = (a: unknown, b: unknown) => canonicalJson(a) !== canonicalJson(b);
  const names = new Set([...Object.keys(first), ...Object.keys(repeat)].filter((name) => name !== 'fields'));
  const fieldNames = new Set([...Object.keys(first.fields ?? {}), ...Object.keys(repeat.fields ?? {})]);
  return [
    ...[...names].filter((name) => differs(first[name as keyof ScanMetadata], repeat[name as keyof ScanMetadata])),
    ...[...fieldNames].filter((name) => differs(first.fields?.[name], repeat.fields?.[name])).map((name) => `fields.${name}`),
  ].sort();
}

/** JSON with object keys in order, so that values read back from jsonb compare equal to what was sent. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))) : item,
  ) ?? 'undefined';
}
