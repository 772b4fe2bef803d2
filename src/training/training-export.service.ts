import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { writeTar } from '../../libs/exchange-format/src/bundle.js';
import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import { readPackage } from '../../libs/exchange-format/src/package.js';
import type { Region } from '../../libs/exchange-format/src/verdict.js';
import { newUid, writeDicos } from '../../libs/scanner-adapters/src/dicos/dicos.writer.js';
import { type TdrScan, writeGroundTruthReport } from '../../libs/scanner-adapters/src/dicos/tdr.writer.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { scanObjects } from '../scans/scan-objects.js';
import { ScanRepository, type ScanRow } from '../scans/scan.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';
import { type TrainingCaseRow, TrainingRepository, type TrainingSetRow } from './training.repository.js';
import { isUuid } from '../common/ids.js';

/** Name of the ground truth report inside the export. */
export const TRUTH_REPORT_NAME = 'truth.dcs';

/**
 * A training case for other DICOS systems: one tar holding the case's scan as DICOS DX images (one per plane, from its
 * exchange package, named `<view>-<energy>.dcm`) and its truth as a ground truth TDR (`truth.dcs`, as the
 * truth.dcs route writes it) in the same study, each threat object referencing the images of its view. The images of
 * a projected case carry TIP Type CTI (composite threat image: a threat projected into a real scan); those of an
 * archived case are the real scan and carry none.
 */
@Injectable()
export class TrainingExportService {
  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly training: TrainingRepository,
    private readonly scans: ScanRepository,
    private readonly audit: AuditRepository,
  ) {}

  /** The truth alone, as a ground truth TDR (TDR Type GROUND TRUTH; projected threats labelled TIP). */
  async truth(trainer: UserPrincipal, caseId: string): Promise<Buffer> {
    const { trainingCase, scan, set } = await this.readyCase(caseId);
    const manifest = scan.manifest as Manifest;
    await this.audit.record({ actorType: 'user', actorId: trainer.id, action: 'training.truth_exported', scanId: scan.id, detail: { caseId, format: 'dicos-tdr' } });
    return this.groundTruth(trainingCase, scan.id, set, { scanId: scan.id, views: manifest.views.map((view) => ({ id: view.id, width: view.width, height: view.height })) });
  }

  async dicos(trainer: UserPrincipal, caseId: string): Promise<Readable> {
    const { trainingCase, scan, set } = await this.readyCase(caseId);
    const projected = trainingCase.kind === 'projected';
    const { manifest, views } = await readPackage(scan.manifest, (part) => this.storage.get(scanObjects.packagePart(scan.id, part)));
    const studyInstanceUid = newUid();
    const images = writeDicos({ scanner: manifest.scanner, acquiredAt: manifest.acquiredAt, views }, { studyUid: studyInstanceUid, ...(projected ? { tipType: 'CTI' as const } : {}) });
    const recordedAt = set.readyAt ?? set.createdAt;
    const report = this.groundTruth(trainingCase, scan.id, set, {
      scanId: scan.id,
      studyInstanceUid,
      views: manifest.views.map((view) => ({
        id: view.id,
        width: view.width,
        height: view.height,
        images: images.filter((image) => image.view === view.id),
      })),
    });
    await this.audit.record({
      actorType: 'user',
      actorId: trainer.id,
      action: 'training.case_exported',
      scanId: scan.id,
      detail: { caseId, format: 'dicos', projected, images: images.length },
    });
    return writeTar([...images.map((image) => ({ path: image.name, data: image.data })), { path: TRUTH_REPORT_NAME, data: report }], { mtime: recordedAt });
  }

  private async readyCase(caseId: string): Promise<{ trainingCase: TrainingCaseRow; scan: ScanRow & { manifest: object }; set: TrainingSetRow }> {
    const trainingCase = isUuid(caseId) ? await this.training.trainingCase(caseId) : undefined;
    if (!trainingCase) throw ApiError.notFound('case_not_found', `no training case ${caseId}`);
    if (trainingCase.status !== 'ready') throw ApiError.conflict('case_not_ready', `training case ${caseId} is ${trainingCase.status}`);
    const scan = await this.scans.findById(trainingCase.scanId);
    if (!scan?.manifest) throw ApiError.conflict('case_not_ready', `the scan of training case ${caseId} has no exchange package`);
    const set = (await this.training.set(trainingCase.setId))!;
    return { trainingCase, scan: scan as ScanRow & { manifest: object }, set };
  }

  private groundTruth(trainingCase: TrainingCaseRow, scanId: string, set: TrainingSetRow, tdrScan: TdrScan): Buffer {
    return writeGroundTruthReport(
      {
        scanId,
        projected: trainingCase.kind === 'projected',
        threat: trainingCase.threat,
        regions: trainingCase.regions as Region[],
        recordedAt: (set.readyAt ?? set.createdAt).toISOString(),
        description: `training set ${set.name}`,
      },
      tdrScan,
    );
  }
}
