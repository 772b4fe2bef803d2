import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import { THREAT_CATEGORIES, type Decision, type Region } from '../../libs/exchange-format/src/verdict.js';
import { writeThreatDetectionReport } from '../../libs/scanner-adapters/src/dicos/tdr.writer.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Principal, StationPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { outcomes } from '../database/schema.js';
import { ScansService } from '../scans/scans.service.js';
import { StationRepository } from '../stations/station.repository.js';
import { ReviewRepository } from './review.repository.js';

export const outcomeBody = z.object({
  found: z.boolean().describe('the physical inspection found something not declared'),
  categories: z.array(z.enum(THREAT_CATEGORIES)).max(THREAT_CATEGORIES.length).default([]),
  note: z.string().max(4000).default(''),
});
export const outcomeResponse = outcomeBody.extend({ scanId: z.string(), reportedAt: z.string() });

/** What happened to a case after the verdict: the station's inspection outcome, and the verdict as DICOS TDR. */
@Injectable()
export class CaseRecordService {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    private readonly scanAccess: ScansService,
    private readonly stations: StationRepository,
    private readonly review: ReviewRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  /** The ground truth from the physical inspection; once per scan, by the station that sent it, after the verdict. */
  async reportOutcome(station: StationPrincipal, scanId: string, body: z.infer<typeof outcomeBody>): Promise<z.infer<typeof outcomeResponse>> {
    const scan = await this.scanAccess.readable(station, scanId);
    if (scan.status !== 'decided') throw ApiError.conflict('scan_not_decided', `scan ${scanId} is ${scan.status}; report the outcome after the verdict`);
    const reportedAt = this.clock.now();
    const rows = await this.database.db
      .insert(outcomes)
      .values({ scanId, stationId: station.id, found: body.found, categories: body.categories, note: body.note, reportedAt })
      .onConflictDoNothing()
      .returning({ scanId: outcomes.scanId });
    if (rows.length === 0) throw ApiError.conflict('outcome_exists', `the outcome of scan ${scanId} was reported already`);
    await this.audit.record({ actorType: 'station', actorId: station.id, action: 'outcome.reported', scanId, detail: { found: body.found, categories: body.categories } });
    return { scanId, ...body, reportedAt: reportedAt.toISOString() };
  }

  /** The final verdict as a DICOS Threat Detection Report (TDR Type OPERATOR). */
  async threatDetectionReport(principal: Principal, scanId: string): Promise<Buffer> {
    const scan = await this.scanAccess.readable(principal, scanId);
    if (scan.status !== 'decided') throw ApiError.conflict('scan_not_decided', `scan ${scanId} is ${scan.status} and has no final verdict`);
    const verdicts = await this.review.verdictsOf(scanId);
    const final = verdicts[verdicts.length - 1];
    const analysts = await this.review.usersByIds(verdicts.map((verdict) => verdict.analystId));
    const manifest = scan.manifest as Manifest;
    const station = await this.stations.findById(scan.stationId);
    await this.audit.record({ actorType: principal.kind, actorId: principal.id, action: 'verdict.exported', scanId, detail: { format: 'dicos-tdr' } });
    return writeThreatDetectionReport(
      {
        scanId,
        decision: final.decision as Decision,
        regions: final.regions as Region[],
        comment: final.comment,
        decidedAt: final.decidedAt.toISOString(),
        analysts: verdicts.map((verdict) => analysts.find((user) => user.id === verdict.analystId)?.username ?? verdict.analystId),
      },
      { scanId, stationName: station?.name, views: manifest.views.map((view) => ({ id: view.id, width: view.width, height: view.height })) },
    );
  }

}
