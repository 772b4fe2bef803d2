import { openAsBlob } from 'node:fs';
import createClient, { type Client } from 'openapi-fetch';
import type { ScanMetadata } from '../../exchange-format/src/metadata.js';
import { type CallOutcome, DEFAULT_RETRY, type RetryOptions, callApi, delay } from './api-call.js';
import type { paths } from './openapi.generated.js';
import { ScanWaitTimeoutError, StationApiError } from './station-api.error.js';

/** A scan as the API returns it (GET /api/v1/scans/{id}). */
export type Scan = paths['/api/v1/scans/{id}']['get']['responses'][200]['content']['application/json'];
export type ScanStatus = Scan['status'];
export type { ScanMetadata };

/** One file of an upload: a file on disk (streamed, never read whole) or bytes in memory. */
export type UploadFile = { name: string; path: string } | { name: string; data: Uint8Array };

export interface UploadScanRequest {
  /** The vendor file(s) of one scan, as the scanner wrote them (image, sidecar, header, ...). */
  files: UploadFile[];
  /** Declarations, containers, licence plates, risk score, the station's reference, free fields. */
  metadata?: ScanMetadata;
  /** Makes retries safe: the same key with the same files returns the first scan (other files: 409). Generated when not given. */
  idempotencyKey?: string;
}

export interface UploadScanResult {
  id: string;
  status: ScanStatus;
  /** true when niix had this scan already (same Idempotency-Key, or same files from this station): HTTP 200. */
  duplicate: boolean;
  /** For a duplicate: the metadata fields of this upload that differ from the first one and were not applied. */
  notApplied: string[];
  /** The Idempotency-Key the upload was sent with; keep it to repeat the upload safely later. */
  idempotencyKey: string;
}

export interface WaitForScanOptions {
  /** Statuses that end the wait (default queued and failed). */
  until?: ScanStatus[];
  /** Give up with ScanWaitTimeoutError after this long (default 120 s). */
  timeoutMs?: number;
  /** Called whenever the status or the conversion progress changes. */
  onProgress?: (scan: Scan) => void;
  signal?: AbortSignal;
}

export interface StationClientOptions {
  /** Where niix runs, e.g. https://niix.customs.example (no /api suffix). */
  baseUrl: string;
  /** The station's API key (shown once when the station was registered). */
  apiKey: string;
  /** Another fetch (a proxy agent, a test double); default the global fetch. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 2000;

/**
 * The niix station API for a scanner station or its integrator: upload a scan in the vendor's format, follow
 * its conversion, read back its images and bundle. Network errors and 5xx answers are retried with backoff
 * (uploads always carry an Idempotency-Key, so a retry never makes a second scan); 4xx answers are not, and
 * every error answer becomes a StationApiError with the status, code and message of the API.
 */
export class StationClient {
  private readonly api: Client<paths>;
  private readonly retry: Required<RetryOptions>;
  private readonly baseUrl: string;

  constructor(options: StationClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.api = createClient<paths>({
      baseUrl: this.baseUrl,
      headers: { Authorization: `Bearer ${options.apiKey}` },
      fetch: (request) => fetchImpl(request),
    });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Uploads one scan: 202 (duplicate false) for a new scan, 200 (duplicate true) when niix has it already. */
  async uploadScan(request: UploadScanRequest): Promise<UploadScanResult> {
    const idempotencyKey = request.idempotencyKey ?? crypto.randomUUID();
    const blobs = await Promise.all(
      request.files.map(async (file) => ({ name: file.name, blob: 'path' in file ? await openAsBlob(file.path) : blobOf(file.data) })),
    );
    const metadata = request.metadata === undefined ? undefined : JSON.stringify(request.metadata);
    const { data, response } = await this.call(() =>
      this.api.POST('/api/v1/scans', {
        params: { header: { 'Idempotency-Key': idempotencyKey } },
        // The generated type names the multipart fields; the serializer sends the real file parts, streamed.
        body: { file: blobs.map((file) => file.name).join(', '), ...(metadata === undefined ? {} : { metadata }) },
        bodySerializer: (body) => {
          const form = new FormData();
          if (body.metadata !== undefined) form.append('metadata', body.metadata);
          for (const file of blobs) form.append('file', file.blob, file.name);
          return form;
        },
      }),
    );
    const answer = required(data, response);
    return { id: answer.id, status: answer.status, duplicate: answer.duplicate, notApplied: answer.notApplied, idempotencyKey };
  }

  /** The scan: status, progress while converting, manifest once converted, failure { code, message } if failed. */
  async getScan(id: string): Promise<Scan> {
    const { data, response } = await this.call(() => this.api.GET('/api/v1/scans/{id}', { params: { path: { id } } }));
    return required(data, response);
  }

  /**
   * Polls the scan, with a short backoff, until its status is one of `until` (queued or failed by default) and
   * resolves with it; a failed scan resolves too (read `failure`).
   */
  async waitForScan(id: string, options: WaitForScanOptions = {}): Promise<Scan> {
    const until = options.until ?? ['queued', 'failed'];
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let pause = POLL_FIRST_MS;
    let seen = '';
    for (;;) {
      options.signal?.throwIfAborted();
      const scan = await this.getScan(id);
      const state = `${scan.status}:${scan.progress ?? ''}`;
      if (state !== seen) {
        seen = state;
        options.onProgress?.(scan);
      }
      if (until.includes(scan.status)) return scan;
      if (Date.now() + pause > deadline) throw new ScanWaitTimeoutError(scan, timeoutMs);
      await delay(pause);
      pause = Math.min(Math.round(pause * 1.5), POLL_MAX_MS);
    }
  }

  /** The thumbnail (JPEG) of a view, e.g. `top` or `side`; 409 scan_not_ready until the scan is queued. */
  async thumbnail(id: string, view: string): Promise<Uint8Array> {
    const { data, response } = await this.call(() =>
      this.api.GET('/api/v1/scans/{id}/views/{view}/thumbnail', { params: { path: { id, view } }, parseAs: 'arrayBuffer' }),
    );
    return new Uint8Array(required(data, response));
  }

  /** The display image (JPEG, long side at most 4096 px) of a view. */
  async display(id: string, view: string): Promise<Uint8Array> {
    const { data, response } = await this.call(() =>
      this.api.GET('/api/v1/scans/{id}/views/{view}/display', { params: { path: { id, view } }, parseAs: 'arrayBuffer' }),
    );
    return new Uint8Array(required(data, response));
  }

  /** A lossless 16-bit plane (PNG) of the exchange package: `high`, `low` or `single`. */
  async plane(id: string, view: string, energy: 'high' | 'low' | 'single'): Promise<Uint8Array> {
    const { data, response } = await this.call(() =>
      this.api.GET('/api/v1/scans/{id}/views/{view}/planes/{plane}', { params: { path: { id, view, plane: `${energy}.png` } }, parseAs: 'arrayBuffer' }),
    );
    return new Uint8Array(required(data, response));
  }

  /** The scan as one niix bundle (tar: manifest, planes, originals): a stream by default, or all bytes. */
  bundle(id: string): Promise<ReadableStream<Uint8Array>>;
  bundle(id: string, options: { as: 'bytes' }): Promise<Uint8Array>;
  bundle(id: string, options: { as: 'stream' }): Promise<ReadableStream<Uint8Array>>;
  async bundle(id: string, options: { as: 'stream' | 'bytes' } = { as: 'stream' }): Promise<ReadableStream<Uint8Array> | Uint8Array> {
    if (options.as === 'bytes') {
      const { data, response } = await this.call(() => this.api.GET('/api/v1/scans/{id}/bundle', { params: { path: { id } }, parseAs: 'arrayBuffer' }));
      return new Uint8Array(required(data, response));
    }
    const { data, response } = await this.call(() => this.api.GET('/api/v1/scans/{id}/bundle', { params: { path: { id } }, parseAs: 'stream' }));
    return required(data ?? undefined, response);
  }

  private call<Data>(send: () => Promise<CallOutcome<Data>>) {
    return callApi(this.baseUrl, send, this.retry);
  }
}

/** A 2xx answer without the body the API promises is a fault of the server (or of a proxy on the way). */
export function required<Data>(data: Data | undefined, response: Response): Data {
  if (data === undefined) throw new StationApiError(response.status, 'empty_response', `${response.url} answered ${response.status} without a body`);
  return data;
}

function blobOf(data: Uint8Array): Blob {
  const bytes = data.buffer instanceof ArrayBuffer ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  return new Blob([bytes]);
}
