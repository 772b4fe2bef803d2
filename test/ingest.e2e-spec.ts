import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { decodePng16 } from '../libs/imaging/src/raster.js';
import { type ScannerInputFormat, writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { type ScanBody, type TestService, scanForm, startTestService } from './service.harness.js';

const DICOM_FIXTURES = path.resolve('libs/scanner-adapters/src/dicos/fixtures');
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

interface CreatedStation {
  id: string;
  apiKey: string;
  webhookSecret: string;
}

/**
 * The whole service over HTTP (PGlite, real Redis, local object storage): stations upload each vendor format
 * and read back the converted scan and its images; every error status of the station API.
 */
describe('ingest end to end', () => {
  let service: TestService;
  let station: CreatedStation;
  let otherStation: CreatedStation;
  let analystToken: string;

  const scan = generateScan({ seed: 7, kind: 'container', width: 640, height: 200, views: ['top', 'side'] });
  const metadata = { containers: [scan.metadata.containers[0]], declarations: scan.metadata.declarations, licencePlates: scan.metadata.licencePlates, riskScore: 40, reference: 'lane-2/0042' };

  async function upload(files: { name: string; data: Buffer }[], options: { apiKey?: string; metadata?: unknown; idempotencyKey?: string } = {}) {
    return service.request<{ id: string; status: string; duplicate?: boolean; notApplied?: string[]; error?: { code: string; message: string } }>('POST', '/api/v1/scans', {
      token: options.apiKey ?? station.apiKey,
      body: scanForm(files, options.metadata),
      headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined,
    });
  }

  beforeAll(async () => {
    service = await startTestService({ env: { NIIX_MAX_UPLOAD: '8mb', NIIX_MAX_PIXELS_PER_PLANE: '4000000' } });
    const created = await service.request<CreatedStation>('POST', '/api/v1/stations', {
      token: service.adminToken,
      json: { name: 'Narva road 2', country: 'EE', vendor: 'Aurora' },
    });
    expect(created.status).toBe(201);
    station = created.body;
    otherStation = (await service.request<CreatedStation>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Terehova 1', country: 'LV' } })).body;
    const analyst = await service.request('POST', '/api/v1/users', {
      token: service.adminToken,
      json: { username: 'ieva', password: 'analyst-password-1', roles: ['analyst'] },
    });
    expect(analyst.status).toBe(201);
    analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'ieva', password: 'analyst-password-1' } })).body.token;
  });

  afterAll(async () => {
    await service?.close();
  });

  const formats: ScannerInputFormat[] = ['raw:aurora-ax6', 'raw:borealis-de', 'tiff-json', 'tiff-xml', 'dicos', 'png16'];

  it.each(formats)('converts a %s upload into a queued scan with viewer images', async (format) => {
    const single = format === 'png16';
    const input = single
      ? { ...scan, views: scan.views.map((view) => ({ ...view, planes: [{ energy: 'single' as const, data: view.planes[0].data }] })) }
      : scan;
    const files = await writeScannerInput(format, input);
    const accepted = await upload(files, { metadata });
    expect(accepted.status).toBe(202);
    expect(accepted.body.status).toBe('received');
    const done = await service.waitForScan(accepted.body.id, station.apiKey);
    expect(done.failure).toBeUndefined();
    expect(done.status).toBe('queued');
    const views = done.manifest!.views;
    expect(views.map((view) => [view.width, view.height])).toContainEqual([640, 200]);
    const view = views[0].id;
    const base = `/api/v1/scans/${done.id}/views/${view}`;

    const thumbnail = await service.bytes(`${base}/thumbnail`, station.apiKey);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.type).toBe('image/jpeg');
    expect(thumbnail.data.subarray(0, 3).equals(JPEG_MAGIC)).toBe(true);

    const dzi = await service.bytes(`${base}/tiles.dzi`, analystToken);
    expect(dzi.data.toString()).toContain('<Size Width="640" Height="200"');
    const tile = await service.bytes(`${base}/tiles_files/0/0_0.jpeg`, analystToken);
    expect(tile.status).toBe(200);
    expect(tile.data.subarray(0, 3).equals(JPEG_MAGIC)).toBe(true);
    const top = await service.bytes(`${base}/tiles_files/10/1_0.jpeg`, analystToken);
    expect(top.status).toBe(200);

    const material = await service.bytes(`${base}/material/tiles_files/9/0_0.jpeg`, analystToken);
    expect(material.status).toBe(single ? 404 : 200);

    const energy = single ? 'single' : 'high';
    const plane = await service.bytes(`${base}/planes/${energy}.png`, station.apiKey);
    expect(plane.status).toBe(200);
    const decoded = await decodePng16(plane.data);
    expect([decoded.width, decoded.height]).toEqual([views[0].width, views[0].height]);
  });

  it('records the conveyance from the metadata with ISO 6346 check digits', async () => {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 8, kind: 'truck', width: 320, height: 100 }));
    const accepted = await upload(files, { metadata: { containers: ['CSQU3054383', 'CSQU3054384'], declarations: ['25EE0001234'] } });
    const done = await service.waitForScan(accepted.body.id, station.apiKey);
    expect(done.manifest!.conveyance).toMatchObject({
      containers: [
        { number: 'CSQU3054383', checkDigitValid: true },
        { number: 'CSQU3054384', checkDigitValid: false },
      ],
      declarations: ['25EE0001234'],
    });
  });

  it('returns the first scan for the same content or the same Idempotency-Key', async () => {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 9, kind: 'truck', width: 320, height: 100 }));
    const first = await upload(files, { idempotencyKey: 'lane-2-0099' });
    expect(first.status).toBe(202);
    const again = await upload(files);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body).toMatchObject({ duplicate: true, notApplied: [] });
    const retried = await upload(files, { idempotencyKey: 'lane-2-0099' });
    expect(retried.status).toBe(200);
    expect(retried.body.id).toBe(first.body.id);
    // the same key with other files: refused, naming the first scan, and nothing of it is kept
    const otherContent = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 10, kind: 'truck', width: 320, height: 100 }));
    const folders = await service.storedScanFolders();
    const sameKey = await upload(otherContent, { idempotencyKey: 'lane-2-0099' });
    expect(sameKey.status).toBe(409);
    expect(sameKey.body.error?.code).toBe('idempotency_key_reused');
    expect(sameKey.body.error?.message).toContain(first.body.id);
    // the same files with a new declaration: the first upload stands, and the answer says what was not applied
    const redeclared = await upload(files, { metadata: { declarations: ['26LV000000009999A1'] } });
    expect(redeclared.status).toBe(200);
    expect(redeclared.body).toMatchObject({ id: first.body.id, duplicate: true, notApplied: ['declarations'] });
    expect(await service.storedScanFolders()).toEqual(folders);
    // another station sending the same bytes gets its own scan
    const elsewhere = await upload(files, { apiKey: otherStation.apiKey });
    expect(elsewhere.status).toBe(202);
    expect(elsewhere.body.id).not.toBe(first.body.id);
  });

  it('lets a station read only its own scans', async () => {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 11, kind: 'truck', width: 320, height: 100 }));
    const mine = await upload(files);
    const done = await service.waitForScan(mine.body.id, station.apiKey);
    const asOther = await service.request<{ error: { code: string } }>('GET', `/api/v1/scans/${done.id}`, { token: otherStation.apiKey });
    expect(asOther.status).toBe(404);
    expect(asOther.body.error.code).toBe('scan_not_found');
    const thumbnail = await service.bytes(`/api/v1/scans/${done.id}/views/${done.manifest!.views[0].id}/thumbnail`, otherStation.apiKey);
    expect(thumbnail.status).toBe(404);
    const bundle = await service.bytes(`/api/v1/scans/${done.id}/bundle`, otherStation.apiKey);
    expect(bundle.status).toBe(404);
    const asAnalyst = await service.request<ScanBody>('GET', `/api/v1/scans/${done.id}`, { token: analystToken });
    expect(asAnalyst.status).toBe(200);
  });

  it('exports a bundle that another centre imports as the same planes', async () => {
    const files = await writeScannerInput('tiff-json', generateScan({ seed: 12, kind: 'container', width: 320, height: 100 }));
    const original = await service.waitForScan((await upload(files)).body.id, station.apiKey);
    const bundle = await service.bytes(`/api/v1/scans/${original.id}/bundle`, station.apiKey);
    expect(bundle.status).toBe(200);
    expect(bundle.type).toBe('application/x-tar');
    const imported = await upload([{ name: 'exchange.tar', data: bundle.data }], { apiKey: otherStation.apiKey });
    expect(imported.status).toBe(202);
    const copy = await service.waitForScan(imported.body.id, otherStation.apiKey);
    expect(copy.status).toBe('queued');
    const sha = (body: ScanBody) => (body.manifest!.views as unknown as { planes: { sha256: string }[] }[]).flatMap((view) => view.planes.map((plane) => plane.sha256));
    expect(sha(copy)).toEqual(sha(original));
    expect((copy.manifest!.provenance as { importedFrom: unknown }).importedFrom).toEqual({ scanId: original.id, stationId: station.id });
  });

  describe('errors', () => {
    it('401 without or with a wrong key', async () => {
      const none = await service.request<{ error: { code: string } }>('POST', '/api/v1/scans', { body: scanForm([{ name: 'a', data: Buffer.from('x') }]) });
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('unauthenticated');
      const wrong = await upload([{ name: 'a', data: Buffer.from('x') }], { apiKey: 'niixs_not-a-real-key' });
      expect(wrong.status).toBe(401);
    });

    it('403 when a person calls a station route or a station an admin route', async () => {
      const person = await service.request<{ error: { code: string } }>('POST', '/api/v1/scans', { token: analystToken, body: scanForm([{ name: 'a', data: Buffer.from('x') }]) });
      expect(person.status).toBe(403);
      expect(person.body.error.code).toBe('forbidden');
      const stationAsAdmin = await service.request('POST', '/api/v1/stations', { token: station.apiKey, json: { name: 'x', country: 'EE' } });
      expect(stationAsAdmin.status).toBe(403);
      const analystAsAdmin = await service.request('POST', '/api/v1/users', { token: analystToken, json: { username: 'mallory', password: 'long-enough-pass', roles: ['admin'] } });
      expect(analystAsAdmin.status).toBe(403);
    });

    it('404 for an unknown scan id', async () => {
      const response = await service.request<{ error: { code: string } }>('GET', '/api/v1/scans/00000000-0000-0000-0000-000000000000', { token: station.apiKey });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('scan_not_found');
    });

    it('413 for an upload over the configured size, and nothing is kept', async () => {
      const before = await service.storedScanFolders();
      const big = Buffer.alloc(9 * 1024 * 1024, 7);
      Buffer.from('AXR6').copy(big);
      const response = await upload([{ name: 'big.axr', data: big }]);
      expect(response.status).toBe(413);
      expect(response.body.error?.code).toBe('upload_too_large');
      expect(await service.storedScanFolders()).toEqual(before);
    });

    it('413 for declared dimensions over the pixel limit, before decoding', async () => {
      const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 13, kind: 'truck', width: 320, height: 100 }));
      const header = files[0].data;
      header.writeUInt32LE(100_000, 8);
      header.writeUInt32LE(100_000, 12);
      const response = await upload([{ name: files[0].name, data: header }]);
      expect(response.status).toBe(413);
      expect(response.body.error?.code).toBe('too_many_pixels');
    });

    it('415 for a format no adapter recognises, decided from the first bytes', async () => {
      const before = await service.storedScanFolders();
      const response = await upload([{ name: 'notes.txt', data: Buffer.from('this is not a scan\n'.repeat(500)) }]);
      expect(await service.storedScanFolders()).toEqual(before);
      expect(response.status).toBe(415);
      expect(response.body.error).toEqual({ code: 'unsupported_format', message: expect.stringContaining('notes.txt') });
    });

    it('422 for a recognised file that is malformed', async () => {
      const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 14, kind: 'truck', width: 320, height: 100 }));
      const truncated = files[0].data.subarray(0, files[0].data.length - 1000);
      const response = await upload([{ name: files[0].name, data: truncated }]);
      expect(response.status).toBe(422);
      expect(response.body.error?.code).toBe('malformed_input');
    });

    it('422 for metadata that breaks the rules', async () => {
      const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 15, kind: 'truck', width: 320, height: 100 }));
      const response = await upload(files, { metadata: { riskScore: 500 } });
      expect(response.status).toBe(422);
      expect(response.body.error?.code).toBe('invalid_metadata');
    });

    it('ends a scan the adapter cannot convert as failed with a reason the station can read', async () => {
      // a valid DICOM header whose JPEG 2000 codestream is corrupt: only decoding can tell
      const data = readFileSync(path.join(DICOM_FIXTURES, 'JPEG2000-embedded-sequence-delimiter.dcm'));
      const accepted = await upload([{ name: 'corrupt.dcm', data }]);
      expect(accepted.status).toBe(202);
      const done = await service.waitForScan(accepted.body.id, station.apiKey);
      expect(done.status).toBe('failed');
      expect(done.failure).toEqual({ code: 'malformed_input', message: expect.stringMatching(/\w+ \w+/) });
      expect(done.manifest).toBeUndefined();
    });

    it('400 for a JSON body that breaks the schema', async () => {
      const response = await service.request<{ error: { code: string; message: string } }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Bad', country: 'Estonia' } });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_body');
      expect(response.body.error.message).toMatch(/^country: /);
    });
  });
});
