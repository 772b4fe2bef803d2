import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { AdminClient, type Scan, StationApiError, StationClient } from '../libs/station-client/src/index.js';
import { ADMIN_PASSWORD, type TestService, startTestService } from './service.harness.js';

const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const DICOM_FIXTURES = path.resolve('libs/scanner-adapters/src/dicos/fixtures');
const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50 };

/** The station client library against the whole service: uploads, duplicates, waiting, images, errors, retries. */
describe('StationClient end to end', () => {
  let service: TestService;
  let client: StationClient;
  let apiKey: string;
  let dir: string;

  const files = (seed: number, format: 'raw:aurora-ax6' | 'tiff-json' = 'raw:aurora-ax6') =>
    writeScannerInput(format, generateScan({ seed, kind: 'truck', width: 320, height: 100, views: ['top'] }));

  beforeAll(async () => {
    service = await startTestService();
    dir = mkdtempSync(path.join(os.tmpdir(), 'niix-station-client-'));
    const admin = new AdminClient({ baseUrl: service.url });
    await admin.login('admin', ADMIN_PASSWORD);
    const station = await admin.createStation({ name: 'Medininkai 3', country: 'LT', vendor: 'Aurora' });
    apiKey = station.apiKey;
    client = new StationClient({ baseUrl: service.url, apiKey, retry: FAST_RETRY });
  });

  afterAll(async () => {
    await service?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('uploads files from disk, waits until queued and reads the thumbnail and the bundle', async () => {
    const written = await files(21, 'tiff-json');
    const onDisk = written.map((file) => {
      const filePath = path.join(dir, file.name);
      writeFileSync(filePath, file.data);
      return { name: file.name, path: filePath };
    });
    const uploaded = await client.uploadScan({ files: onDisk, metadata: { containers: ['CSQU3054383'], riskScore: 70, reference: 'lane-3/0001' } });
    expect(uploaded).toMatchObject({ status: 'received', duplicate: false, idempotencyKey: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    const seen: Scan['status'][] = [];
    const scan = await client.waitForScan(uploaded.id, { onProgress: (update) => seen.push(update.status), timeoutMs: 60_000 });
    expect(scan.status).toBe('queued');
    expect(seen.at(-1)).toBe('queued');
    expect(scan.manifest).toMatchObject({ conveyance: { containers: [{ number: 'CSQU3054383', checkDigitValid: true }] } });

    const thumbnail = await client.thumbnail(scan.id, 'top');
    expect(thumbnail).toBeInstanceOf(Uint8Array);
    expect([...thumbnail.subarray(0, 3)]).toEqual(JPEG_MAGIC);

    const bytes = await client.bundle(scan.id, { as: 'bytes' });
    const reader = (await client.bundle(scan.id)).getReader();
    let streamed = 0;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) streamed += chunk.value.length;
    expect(streamed).toBe(bytes.length);
    expect(bytes.length).toBeGreaterThan(320 * 100 * 2);
  });

  it('uploads bytes and tells a duplicate (same files, or the same Idempotency-Key) from a new scan', async () => {
    const data = await files(22);
    const first = await client.uploadScan({ files: data, idempotencyKey: 'lane-3-0002', metadata: { reference: 'lane-3/0002' } });
    expect(first).toMatchObject({ duplicate: false, notApplied: [] });

    const sameFiles = await client.uploadScan({ files: data, metadata: { reference: 'lane-3/0002b' } });
    expect(sameFiles).toMatchObject({ id: first.id, duplicate: true, notApplied: ['reference'] });

    const retry = await client.uploadScan({ files: data, idempotencyKey: 'lane-3-0002', metadata: { reference: 'lane-3/0002' } });
    expect(retry).toMatchObject({ id: first.id, duplicate: true, notApplied: [] });

    const reused = await client.uploadScan({ files: await files(23), idempotencyKey: 'lane-3-0002' }).catch((error: unknown) => error);
    expect(reused).toBeInstanceOf(StationApiError);
    expect(reused).toMatchObject({ status: 409, code: 'idempotency_key_reused' });

    expect((await client.getScan(first.id)).id).toBe(first.id);
  });

  it('maps error answers to StationApiError: 415 unsupported_format, 404 scan_not_found, 409 scan_not_ready, 401', async () => {
    const text = await client.uploadScan({ files: [{ name: 'notes.txt', data: new TextEncoder().encode('not a scan\n'.repeat(500)) }] }).catch((error: unknown) => error);
    expect(text).toBeInstanceOf(StationApiError);
    expect(text).toMatchObject({ status: 415, code: 'unsupported_format', message: expect.stringContaining('notes.txt') });

    await expect(client.getScan('00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ status: 404, code: 'scan_not_found' });

    // a valid DICOM header whose JPEG 2000 codestream is corrupt: accepted, then failed by the conversion
    const corrupt = readFileSync(path.join(DICOM_FIXTURES, 'JPEG2000-embedded-sequence-delimiter.dcm'));
    const { id } = await client.uploadScan({ files: [{ name: 'corrupt.dcm', data: corrupt }] });
    const failed = await client.waitForScan(id);
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'malformed_input' } });
    await expect(client.thumbnail(id, 'top')).rejects.toMatchObject({ status: 409, code: 'scan_not_ready' });

    const stranger = new StationClient({ baseUrl: service.url, apiKey: 'niixs_not-a-real-key' });
    await expect(stranger.getScan(id)).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    await expect(new AdminClient({ baseUrl: service.url }).login('admin', 'wrong-password')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('retries an upload whose first request failed with a network error', async () => {
    let calls = 0;
    const flaky = new StationClient({
      baseUrl: service.url,
      apiKey,
      retry: FAST_RETRY,
      fetch: async (input, init) => {
        calls += 1;
        if (calls === 1) throw new TypeError('fetch failed', { cause: new Error('read ECONNRESET') });
        return fetch(input, init);
      },
    });
    const data = await files(25);
    const uploaded = await flaky.uploadScan({ files: data });
    expect(calls).toBe(2);
    expect(uploaded.duplicate).toBe(false);
    expect(await client.uploadScan({ files: data })).toMatchObject({ id: uploaded.id, duplicate: true });
  });

  it('makes no second scan when the answer to the first request was lost on the way back', async () => {
    let calls = 0;
    let firstAnswer: { id: string } | undefined;
    const lossy = new StationClient({
      baseUrl: service.url,
      apiKey,
      retry: FAST_RETRY,
      fetch: async (input, init) => {
        calls += 1;
        const response = await fetch(input, init);
        if (calls > 1) return response;
        firstAnswer = (await response.json()) as { id: string };
        throw new TypeError('fetch failed', { cause: new Error('read ECONNRESET') });
      },
    });
    const data = await files(26);
    const uploaded = await lossy.uploadScan({ files: data });
    expect(calls).toBe(2);
    expect(uploaded).toMatchObject({ id: firstAnswer!.id, duplicate: true });
    // the key was reused: the scan exists once
    expect(await client.uploadScan({ files: data })).toMatchObject({ id: firstAnswer!.id, duplicate: true });
  });
});
