import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dicomParser, { type DataSet } from 'dicom-parser';
import { type PackageView, readPackage } from '../libs/exchange-format/src/package.js';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { DicosAdapter } from '../libs/scanner-adapters/src/dicos/dicos.adapter.js';
import { readThreatDetectionReport } from '../libs/scanner-adapters/src/dicos/tdr.writer.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { AuditRepository } from '../src/audit/audit.repository.js';
import { scanObjects } from '../src/scans/scan-objects.js';
import { ScanRepository } from '../src/scans/scan.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../src/storage/object-storage.js';
import { TrainingRepository } from '../src/training/training.repository.js';
import { type TestService, scanForm, startTestService } from './service.harness.js';
import type { Manifest } from '../libs/exchange-format/src/manifest.js';
import { until } from './until.js';
import type { SetDetail } from '../src/training/training.contract.js';

/*
 * A training case exported as DICOS (GET /api/v1/training/cases/{id}/dicos.tar) against the whole service: an archive
 * is made through the API (small generated scans uploaded, decided by an analyst, outcomes reported by the station), a
 * trainer builds a set with one projected threat, and the tar of each case is untarred and read with dicom-parser and
 * the DicosAdapter.
 */

const PASSWORD = 'training-export-password';
const READY_MS = 120_000;
/** TIP Type (4010,1039) CS, as dicom-parser keys it. */
const TIP_TYPE = 'x40101039';

type TrainerCase = SetDetail['caseList'][number];
interface TarFile {
  name: string;
  data: Buffer;
}

/** The files of a ustar archive (regular files only; enough for what niix writes). */
function untar(tar: Buffer): TarFile[] {
  const files: TarFile[] = [];
  const text = (from: number, length: number) => tar.toString('latin1', from, from + length).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length; ) {
    if (tar.subarray(at, at + 512).every((byte) => byte === 0)) return files;
    const prefix = text(at + 345, 155);
    const name = text(at, 100);
    const size = parseInt(text(at + 124, 12).trim(), 8);
    if (String.fromCharCode(tar[at + 156]) === '0') files.push({ name: prefix ? `${prefix}/${name}` : name, data: tar.subarray(at + 512, at + 512 + size) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error('the tar has no end-of-archive marker');
}

const parse = (data: Buffer): DataSet => dicomParser.parseDicom(new Uint8Array(data));
const items = (ds: DataSet | undefined, tag: string): DataSet[] => (ds?.elements[tag]?.items ?? []).flatMap((item) => (item.dataSet ? [item.dataSet] : []));
/** Referenced SOP Instance UIDs of a Referenced Instance Sequence (0008,114A). */
const referencedInstances = (ds: DataSet | undefined): string[] => items(ds, 'x0008114a').map((item) => item.string('x00081155') ?? '');
/** Planes of views, comparable across the package and the adapter's conversion. */
const planesOf = (views: Pick<PackageView, 'id' | 'width' | 'height' | 'planes'>[]) =>
  views.map((view) => ({ id: view.id, width: view.width, height: view.height, planes: view.planes.map((plane) => ({ energy: plane.energy, data: plane.data })) }));


describe('training case export as DICOS (PGlite)', () => {
  let service: TestService;
  let dir: string;
  let trainerToken: string;
  let traineeToken: string;
  let analystToken: string;
  let set: SetDetail;
  let projectedCase: TrainerCase;
  /** An archived clean case and an archived threat case of the set. */
  let cleanCase: TrainerCase;
  let foundCase: TrainerCase;

  async function login(username: string): Promise<string> {
    const signedIn = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: PASSWORD } });
    expect(signedIn.status).toBe(200);
    return signedIn.body.token;
  }

  async function exported(caseId: string): Promise<{ files: TarFile[]; images: TarFile[]; truth: Buffer }> {
    const response = await service.bytes(`/api/v1/training/cases/${caseId}/dicos.tar`, trainerToken);
    expect([response.status, response.type]).toEqual([200, 'application/x-tar']);
    const files = untar(response.data);
    const truth = files.find((file) => file.name === 'truth.dcs');
    expect(truth).toBeDefined();
    return { files, images: files.filter((file) => file.name.endsWith('.dcm')), truth: truth!.data };
  }

  /** The planes of a case's scan as its exchange package in storage holds them. */
  async function packagePlanes(scanId: string) {
    const scan = await service.app.get(ScanRepository).findById(scanId);
    const storage = service.app.get<ObjectStorage>(OBJECT_STORAGE);
    const { views } = await readPackage(scan!.manifest, (part) => storage.get(scanObjects.packagePart(scanId, part)));
    return planesOf(views);
  }

  /** What the DicosAdapter makes of exported images, as if a scanner had sent them. */
  async function convert(images: TarFile[], folder: string) {
    const files = images.map((image) => {
      const where = path.join(dir, `${folder}-${image.name}`);
      writeFileSync(where, image.data);
      return { name: image.name, path: where, size: image.data.length };
    });
    return new DicosAdapter().convert({ files, limits: { maxPixelsPerPlane: 10_000_000, maxPixelsPerScan: 40_000_000 } });
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'niix-training-export-'));
    service = await startTestService();
    const station = (await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Narva road 2', country: 'EE', vendor: 'Aurora' } })).body;
    for (const [username, roles] of [['anu', ['analyst']], ['tarmo', ['trainer']], ['kaia', ['trainee']]] as const) {
      const created = await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username, password: PASSWORD, roles } });
      expect(created.status).toBe(201);
    }
    [analystToken, trainerToken, traineeToken] = await Promise.all([login('anu'), login('tarmo'), login('kaia')]);

    // three small scans: one inspected with a region and found, two cleared and clean
    const uploaded: string[] = [];
    for (let i = 0; i < 3; i++) {
      const scan = generateScan({ seed: 310 + i, kind: i % 2 ? 'truck' : 'container', width: 320, height: 100, views: ['top', 'side'] });
      const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', {
        token: station.apiKey,
        body: scanForm(await writeScannerInput('raw:aurora-ax6', scan), { reference: `lane-2/${i}`, riskScore: 10 }),
      });
      expect(accepted.status).toBe(202);
      uploaded.push(accepted.body.id);
    }
    for (const id of uploaded) expect((await service.waitForScan(id, station.apiKey)).status).toBe('queued');
    const archive: string[] = [];
    for (let i = 0; i < uploaded.length; i++) {
      const claimed = await service.request<{ claimId: string; scan: { id: string } }>('POST', '/api/v1/worklist/claim', { token: analystToken });
      expect(claimed.status).toBe(200);
      const found = i === 0;
      const regions = found ? [{ view: 'top', x: 100, y: 30, width: 60, height: 40, category: 'narcotics', note: 'dense packages' }] : [];
      const verdict = await service.request<{ final: boolean }>('POST', `/api/v1/scans/${claimed.body.scan.id}/verdict`, {
        token: analystToken,
        json: { claimId: claimed.body.claimId, decision: found ? 'inspect' : 'clear', regions },
      });
      expect([verdict.status, verdict.body.final]).toEqual([201, true]);
      const outcome = await service.request('POST', `/api/v1/scans/${claimed.body.scan.id}/outcome`, {
        token: station.apiKey,
        json: found ? { found: true, categories: ['narcotics'] } : { found: false },
      });
      expect(outcome.status).toBe(201);
      archive.push(claimed.body.scan.id);
    }

    // a set with one projected threat, made from one of the two clean scans
    const created = await service.request<SetDetail>('POST', '/api/v1/training/sets', {
      token: trainerToken,
      json: { name: 'Export check', mode: 'practice', archivedScanIds: archive, projectedCount: 1, traineeIds: [] },
    });
    expect(created.status).toBe(202);
    set = await until(
      async () => {
        const detail = await service.request<SetDetail>('GET', `/api/v1/training/sets/${created.body.id}`, { token: trainerToken });
        expect(detail.status).toBe(200);
        if (detail.body.status === 'failed') throw new Error(`set failed: ${detail.body.failureMessage ?? ''}`);
        return detail.body.status === 'ready' ? detail.body : undefined;
      },
      'the set to be ready',
      READY_MS,
    );
    projectedCase = set.caseList.find((entry) => entry.kind === 'projected')!;
    cleanCase = set.caseList.find((entry) => entry.kind === 'archived' && !entry.threat)!;
    foundCase = set.caseList.find((entry) => entry.kind === 'archived' && entry.threat)!;
    expect([projectedCase, cleanCase, foundCase].every(Boolean)).toBe(true);
  }, 240_000);

  afterAll(async () => {
    await service?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exports a projected case as DICOS images with TIP Type CTI, whose pixels are the projected scan’s planes', async () => {
    const { files, images } = await exported(projectedCase.id);
    const planes = await packagePlanes(projectedCase.scanId);
    expect(files.map((file) => file.name)).toEqual([
      ...planes.flatMap((view) => view.planes.map((plane) => `${view.id}-${plane.energy}.dcm`)),
      'truth.dcs',
    ]);
    for (const image of images) {
      const ds = parse(image.data);
      expect([image.name, ds.string(TIP_TYPE), ds.elements[TIP_TYPE]?.vr]).toEqual([image.name, 'CTI', 'CS']);
      expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.501.2.2'); // DICOS DX For Processing
    }
    const converted = await convert(images, 'projected');
    expect(planesOf(converted.views)).toEqual(planes);
    // the projection, not the clean scan it was made from
    expect(planes).not.toEqual(await packagePlanes(projectedCase.sourceScanId!));
  });

  it('puts the ground truth TDR in the images’ study, referencing every image, its objects labelled projected', async () => {
    const { images, truth } = await exported(projectedCase.id);
    const studies = new Set(images.map((image) => parse(image.data).string('x0020000d')));
    expect(studies.size).toBe(1);
    const uids = new Map(images.map((image) => [image.name, parse(image.data).string('x00080018')!]));
    const seriesOf = new Map(images.map((image) => [parse(image.data).string('x00080018')!, parse(image.data).string('x0020000e')!]));

    const report = readThreatDetectionReport(truth);
    expect(report).toMatchObject({ tdrType: 'GROUND TRUTH', alarmDecision: 'ALARM', modality: 'TDR', studyInstanceUid: [...studies][0] });
    expect(report.objects.length).toBe(projectedCase.regions.length);
    expect(report.objects.map((object) => [object.view, object.projected])).toEqual(projectedCase.regions.map((region) => [region.view, true]));

    // each threat object (PTO) references every image of its view; the report lists every image by its series
    const ds = parse(truth);
    const perObject = items(ds, 'x40101011').map((threat) => referencedInstances(items(threat, 'x40101037')[0]));
    expect(perObject).toEqual(report.objects.map((object) => images.filter((image) => image.name.startsWith(`${object.view}-`)).map((image) => uids.get(image.name))));
    const series = items(ds, 'x00081115').map((item) => [item.string('x0020000e'), referencedInstances(item)]);
    expect(series).toEqual([...uids.values()].map((uid) => [seriesOf.get(uid), [uid]]));
  });

  it('exports archived cases as the real scan, without TIP Type, and their truth unlabelled', async () => {
    for (const archived of [cleanCase, foundCase]) {
      const { images, truth } = await exported(archived.id);
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) expect(parse(image.data).elements[TIP_TYPE]).toBeUndefined();
      const report = readThreatDetectionReport(truth);
      expect(report.tdrType).toBe('GROUND TRUTH');
      expect(report.studyInstanceUid).toBe(parse(images[0].data).string('x0020000d'));
      expect(report.objects.map((object) => object.projected)).toEqual(archived.regions.map(() => false));
      expect(report.alarmDecision).toBe(archived.threat ? 'ALARM' : 'CLEAR');
      expect(items(parse(truth), 'x00081115').flatMap(referencedInstances)).toEqual(images.map((image) => parse(image.data).string('x00080018')));
      expect(planesOf((await convert(images, `archived-${archived.id}`)).views)).toEqual(await packagePlanes(archived.scanId));
    }
    expect(foundCase.regions.length).toBe(1);
  });

  it('serves the truth alone as the same ground truth TDR (truth.dcs), trainers only', async () => {
    const response = await service.bytes(`/api/v1/training/cases/${projectedCase.id}/truth.dcs`, trainerToken);
    expect([response.status, response.type]).toEqual([200, 'application/dicom']);
    const report = readThreatDetectionReport(response.data);
    expect(report).toMatchObject({ tdrType: 'GROUND TRUTH', alarmDecision: 'ALARM' });
    expect(report.objects.map((object) => [object.view, object.projected])).toEqual(projectedCase.regions.map((region) => [region.view, true]));
    const refused = await service.request<{ error: { code: string } }>('GET', `/api/v1/training/cases/${projectedCase.id}/truth.dcs`, { token: traineeToken });
    expect(refused.status).toBe(403);
  });

  it('answers with an attachment and audits the export', async () => {
    const response = await fetch(`${service.url}/api/v1/training/cases/${projectedCase.id}/dicos.tar`, { headers: { authorization: `Bearer ${trainerToken}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="niix-training-case-${projectedCase.id}.tar"`);
    await response.arrayBuffer();
    const events = await service.app.get(AuditRepository).forScan(projectedCase.scanId);
    expect(events.filter((event) => event.action === 'training.case_exported').at(-1)).toMatchObject({
      actorType: 'user',
      detail: { caseId: projectedCase.id, format: 'dicos', projected: true },
    });
  });

  it('is the trainers’ only: a trainee and an analyst get 403', async () => {
    for (const token of [traineeToken, analystToken]) {
      const refused = await service.request<{ error: { code: string } }>('GET', `/api/v1/training/cases/${projectedCase.id}/dicos.tar`, { token });
      expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
    }
  });

  it('projects a threat where the trainer chose it: place, scale and rotation kept; refused off a clean case or off the view', async () => {
    const items = (await service.request<{ id: string; name: string }[]>('GET', '/api/v1/training/threat-items', { token: trainerToken })).body;
    const pistol = items.find((item) => item.name.toLowerCase().includes('pistol'))!;
    const archivedScanIds = [cleanCase.scanId, projectedCase.sourceScanId!, foundCase.scanId];
    const create = (projections: unknown[]) =>
      service.request<SetDetail & { error: { code: string } }>('POST', '/api/v1/training/sets', { token: trainerToken, json: { name: 'Placed by hand', mode: 'exam', archivedScanIds, projections } });
    const refusals: [unknown[], string][] = [
      [[{ scanId: foundCase.scanId, threatItemId: pistol.id }], 'not_a_clean_case'],
      [[{ scanId: cleanCase.scanId, threatItemId: pistol.id, places: { top: { x: 320, y: 0 } } }], 'invalid_placement'],
      [[{ scanId: cleanCase.scanId, threatItemId: pistol.id, places: { front: { x: 1, y: 1 } } }], 'invalid_placement'],
      [[{ scanId: cleanCase.scanId, threatItemId: pistol.id }, { scanId: cleanCase.scanId, threatItemId: pistol.id }], 'duplicate_projection'],
    ];
    for (const [projections, code] of refusals) {
      const refused = await create(projections);
      expect([refused.status, refused.body.error.code]).toEqual([400, code]);
    }

    const created = await create([{ scanId: cleanCase.scanId, threatItemId: pistol.id, scale: 1, rotationDeg: 0, places: { top: { x: 40, y: 10 } } }]);
    expect(created.status).toBe(202);
    const ready = await until(
      async () => {
        const detail = (await service.request<SetDetail>('GET', `/api/v1/training/sets/${created.body.id}`, { token: trainerToken })).body;
        if (detail.status === 'failed') throw new Error(`set failed: ${detail.failureMessage ?? ''}`);
        return detail.status === 'ready' ? detail : undefined;
      },
      'the hand-placed set to be ready',
      READY_MS,
    );
    const projected = ready.caseList.filter((entry) => entry.kind === 'projected');
    expect(projected.map((entry) => [entry.sourceScanId, entry.threatItemId])).toEqual([[cleanCase.scanId, pistol.id]]);
    const top = projected[0].regions.find((region) => region.view === 'top')!;
    expect(top.x).toBeGreaterThanOrEqual(40);
    expect(top.y).toBeGreaterThanOrEqual(10);
    const manifest = (await service.app.get(ScanRepository).findById(projected[0].scanId))!.manifest as Manifest;
    expect(manifest.training?.projectedThreats.find((threat) => threat.view === 'top')?.placement).toEqual({ x: 40, y: 10, scale: 1, rotationDeg: 0 });
    expect(manifest.training?.projectedThreats.find((threat) => threat.view === 'side')?.placement).toMatchObject({ scale: 1, rotationDeg: 0 });
  });

  it('deletes a set nobody has answered, with its projected scans and their objects', async () => {
    const created = await service.request<SetDetail>('POST', '/api/v1/training/sets', {
      token: trainerToken,
      json: { name: 'A mistake', mode: 'exam', archivedScanIds: [cleanCase.scanId, foundCase.scanId], projectedCount: 1 },
    });
    expect(created.status).toBe(202);
    const made = await until(async () => {
      const detail = (await service.request<SetDetail>('GET', `/api/v1/training/sets/${created.body.id}`, { token: trainerToken })).body;
      return detail.status === 'ready' ? detail : undefined;
    }, 'the set to be ready', READY_MS);
    const projectedScan = made.caseList.find((entry) => entry.kind === 'projected')!.scanId;
    const storage = service.app.get<ObjectStorage>(OBJECT_STORAGE);
    expect(await storage.stat(scanObjects.packagePart(projectedScan, 'manifest.json'))).not.toBeNull();

    const refused = await service.request<{ error: { code: string } }>('DELETE', `/api/v1/training/sets/${made.id}`, { token: traineeToken });
    expect(refused.status).toBe(403);
    expect((await service.request('DELETE', `/api/v1/training/sets/${made.id}`, { token: trainerToken })).status).toBe(204);
    expect((await service.request('GET', `/api/v1/training/sets/${made.id}`, { token: trainerToken })).status).toBe(404);
    expect(await service.app.get(ScanRepository).findById(projectedScan)).toBeUndefined();
    expect(await storage.stat(scanObjects.packagePart(projectedScan, 'manifest.json'))).toBeNull();
    // the archived scans it used are untouched
    expect((await service.app.get(ScanRepository).findById(cleanCase.scanId))?.status).toBe('decided');
  });

  it('answers 404 case_not_found for an unknown case and 409 case_not_ready for a case not ready', async () => {
    const missing = await service.request<{ error: { code: string } }>('GET', '/api/v1/training/cases/00000000-0000-4000-8000-000000000000/dicos.tar', { token: trainerToken });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'case_not_found']);
    const malformed = await service.request<{ error: { code: string } }>('GET', '/api/v1/training/cases/not-a-case/dicos.tar', { token: trainerToken });
    expect([malformed.status, malformed.body.error.code]).toEqual([404, 'not_found']);
    const training = service.app.get(TrainingRepository);
    await training.updateCase(cleanCase.id, { status: 'preparing' });
    try {
      const early = await service.request<{ error: { code: string } }>('GET', `/api/v1/training/cases/${cleanCase.id}/dicos.tar`, { token: trainerToken });
      expect([early.status, early.body.error.code]).toEqual([409, 'case_not_ready']);
    } finally {
      await training.updateCase(cleanCase.id, { status: 'ready' });
    }
  });
});
