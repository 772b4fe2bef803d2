import { Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, Roles, StationOnly, StationOrRoles } from '../auth/auth.decorators.js';
import { REVIEW_ROLES, type Principal, type StationPrincipal, type UserPrincipal } from '../auth/roles.js';
import { ApiDoc, ValidBody } from '../common/contract.js';
import { CaseRecordService, outcomeBody, outcomeResponse } from './case-record.service.js';
import { VerdictService, verdictBody, verdictResponse } from './verdict.service.js';
import { WorklistService, claimResponse, reassignBody, statsResponse } from './worklist.service.js';

const lockResponse = z.object({ claimId: z.string(), lockExpiresAt: z.string() });

@Controller('api/v1')
export class WorklistController {
  constructor(
    private readonly worklist: WorklistService,
    private readonly verdicts: VerdictService,
    private readonly records: CaseRecordService,
  ) {}

  @Post('worklist/claim')
  @Roles('analyst')
  @ApiDoc({ summary: 'Claim the next most urgent case of your pools (204 when none waits)', auth: 'user', tags: ['worklist'], responses: { 200: claimResponse, 204: 'nothing waits' } })
  async claim(@CurrentPrincipal() analyst: UserPrincipal, @Res({ passthrough: true }) reply: FastifyReply) {
    const claimed = await this.worklist.claim(analyst);
    void reply.status(claimed ? 200 : 204);
    return claimed ?? undefined;
  }

  @Post('worklist/claims/:claimId/heartbeat')
  @HttpCode(200)
  @Roles('analyst')
  @ApiDoc({ summary: 'Keep the claim alive (409 lock_lost when it lapsed)', auth: 'user', tags: ['worklist'], responses: { 200: lockResponse } })
  heartbeat(@CurrentPrincipal() analyst: UserPrincipal, @Param('claimId') claimId: string) {
    return this.worklist.heartbeat(analyst, claimId);
  }

  @Delete('worklist/claims/:claimId')
  @HttpCode(204)
  @Roles('analyst')
  @ApiDoc({ summary: 'Give the case back to the pool at once', auth: 'user', tags: ['worklist'], responses: { 204: 'released' } })
  async release(@CurrentPrincipal() analyst: UserPrincipal, @Param('claimId') claimId: string) {
    await this.worklist.release(analyst, claimId);
  }

  @Post('worklist/claims/:claimId/reassign')
  @HttpCode(200)
  @Roles('supervisor')
  @ApiDoc({ summary: 'Take a case from its holder: back to the pool or to a named analyst', auth: 'user', tags: ['worklist'], responses: { 200: z.object({ scanId: z.string(), reservedFor: z.string().nullable() }) } })
  reassign(@CurrentPrincipal() supervisor: UserPrincipal, @Param('claimId') claimId: string, @ValidBody(reassignBody) body: z.infer<typeof reassignBody>) {
    return this.worklist.reassign(supervisor, claimId, body);
  }

  @Get('worklist/stats')
  @Roles('supervisor', 'admin')
  @ApiDoc({ summary: 'Depth per pool, oldest wait, SLA breaches, who holds what, recent decisions', auth: 'user', tags: ['worklist'], responses: { 200: statsResponse } })
  stats() {
    return this.worklist.stats();
  }

  @Post('scans/:id/verdict')
  @Roles('analyst')
  @ApiDoc({ summary: 'Decide a claimed case: clear, inspect or inconclusive, with regions', auth: 'user', tags: ['worklist'], responses: { 201: verdictResponse } })
  verdict(@CurrentPrincipal() analyst: UserPrincipal, @Param('id') id: string, @ValidBody(verdictBody) body: z.infer<typeof verdictBody>) {
    return this.verdicts.decide(analyst, id, body);
  }

  @Post('scans/:id/outcome')
  @StationOnly()
  @ApiDoc({ summary: 'What the physical inspection found (the ground truth), once per decided scan', auth: 'station', tags: ['scans'], responses: { 201: outcomeResponse } })
  outcome(@CurrentPrincipal() station: StationPrincipal, @Param('id') id: string, @ValidBody(outcomeBody) body: z.infer<typeof outcomeBody>) {
    return this.records.reportOutcome(station, id, body);
  }

  @Get('scans/:id/verdict.dcs')
  @StationOrRoles(...REVIEW_ROLES)
  @ApiDoc({ summary: 'The final verdict as a DICOS Threat Detection Report (TDR Type OPERATOR)', auth: 'user-or-station', tags: ['scans'], responses: { 200: { mediaType: 'application/dicom', description: 'DICOS TDR, DICOM Part 10' } } })
  async tdr(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const file = await this.records.threatDetectionReport(principal, id);
    void reply.type('application/dicom').header('content-disposition', `attachment; filename="niix-verdict-${id}.dcs"`);
    return file;
  }
}
