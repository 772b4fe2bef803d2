import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { ApiDoc, ValidBody } from '../common/contract.js';
import { parseBody } from '../common/zod-body.js';
import { MAX_THREAT_ITEM_PART_BYTES, type ThreatItemUploadPart, ThreatLibraryService } from './threat-library.service.js';
import {
  archiveQuery,
  archiveResponse,
  assignBody,
  createSetBody,
  dashboardResponse,
  setDetail,
  setScores,
  setSummary,
  threatItemPatch,
  threatItemResponse,
  traineeResponse,
  traineeScores,
} from './training.contract.js';
import { TrainingExportService } from './training-export.service.js';
import { TrainingScoresService } from './training-scores.service.js';
import { TrainingSetsService } from './training-sets.service.js';

const csv = { mediaType: 'text/csv', description: 'CSV (RFC 4180, header row)' };

/** What trainers do: search the archive, keep the threat library, build sets, read scores. */
@Controller('api/v1/training')
@Roles('trainer', 'admin')
export class TrainingController {
  constructor(
    private readonly sets: TrainingSetsService,
    private readonly library: ThreatLibraryService,
    private readonly scores: TrainingScoresService,
    private readonly exports: TrainingExportService,
  ) {}

  @Get('archive')
  @ApiDoc({
    summary: 'Decided scans with their final verdict and the station’s inspection outcome (the ground truth), newest first',
    auth: 'user',
    tags: ['training'],
    query: { station: 'station id', vendor: 'scanner vendor', from: 'decided at or after (ISO 8601)', to: 'decided before', decision: 'clear | inspect | inconclusive', outcome: 'found | clean | unknown', category: 'threat category', limit: '1..200 (50)', before: 'cursor: nextBefore of the previous page' },
    responses: { 200: archiveResponse },
  })
  archive(@Query() query: Record<string, unknown>) {
    return this.sets.archive(parseBody(archiveQuery, query));
  }

  @Get('threat-items')
  @ApiDoc({ summary: 'The threat library', auth: 'user', tags: ['training'], query: { includeRetired: 'true to list retired items too' }, responses: { 200: z.array(threatItemResponse) } })
  threatItems(@Query('includeRetired') includeRetired?: string) {
    return this.library.list(includeRetired === 'true');
  }

  @Post('threat-items')
  @ApiDoc({
    summary: 'Add a threat item: two 16-bit PNG transmission planes (high, low), an optional 8-bit mask, its category',
    auth: 'user',
    tags: ['training'],
    multipart: {
      name: { type: 'string', description: 'what the item is', required: true },
      category: { type: 'string', description: 'threat category (weapons, narcotics, ...)', required: true },
      description: { type: 'string', description: 'free text' },
      pixelSpacingMm: { type: 'string', description: 'size of one pixel, mm', required: true },
      airValue: { type: 'string', description: 'plane value of unobstructed air (1..65535)', required: true },
      high: { type: 'file', description: 'high-energy plane, 16-bit greyscale PNG, at most 2048 px a side', required: true },
      low: { type: 'file', description: 'low-energy plane, same size', required: true },
      mask: { type: 'file', description: '8-bit PNG, non-zero where the object is (default: where either plane is below 98 % of air)' },
    },
    responses: { 201: threatItemResponse },
  })
  async addThreatItem(@CurrentPrincipal() trainer: UserPrincipal, @Req() request: FastifyRequest) {
    if (!request.isMultipart()) throw new ApiError(415, 'not_multipart', 'send the threat item as multipart/form-data');
    return this.library.upload(trainer, uploadParts(request));
  }

  @Patch('threat-items/:id')
  @ApiDoc({ summary: 'Retire a threat item (kept, not used for new sets) or bring it back', auth: 'user', tags: ['training'], responses: { 200: threatItemResponse } })
  patchThreatItem(@CurrentPrincipal() trainer: UserPrincipal, @Param('id') id: string, @ValidBody(threatItemPatch) body: z.infer<typeof threatItemPatch>) {
    return this.library.setRetired(trainer, id, body.retired);
  }

  @Get('threat-items/:id/preview')
  @ApiDoc({ summary: 'A small grey preview of a threat item', auth: 'user', tags: ['training'], responses: { 200: { mediaType: 'image/jpeg', description: 'preview' } } })
  async preview(@Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const body = await this.library.preview(id);
    void reply.type('image/jpeg').header('cache-control', 'private, max-age=86400, immutable');
    return body;
  }

  @Get('trainees')
  @ApiDoc({ summary: 'People with the trainee role', auth: 'user', tags: ['training'], responses: { 200: z.array(traineeResponse) } })
  trainees() {
    return this.sets.trainees();
  }

  @Post('sets')
  @HttpCode(202)
  @ApiDoc({ summary: 'Build a training set from archived cases; clean ones get projected threats up to the wanted share (preparing until they are made)', auth: 'user', tags: ['training'], responses: { 202: setDetail } })
  createSet(@CurrentPrincipal() trainer: UserPrincipal, @ValidBody(createSetBody) body: z.infer<typeof createSetBody>) {
    return this.sets.create(trainer, body);
  }

  @Get('sets')
  @ApiDoc({ summary: 'Training sets, newest first', auth: 'user', tags: ['training'], responses: { 200: z.array(setSummary) } })
  listSets() {
    return this.sets.list();
  }

  @Get('sets/:id')
  @ApiDoc({ summary: 'A training set with its cases (and their truth) and sessions', auth: 'user', tags: ['training'], responses: { 200: setDetail } })
  set(@Param('id') id: string) {
    return this.sets.detail(id);
  }

  @Delete('sets/:id')
  @HttpCode(204)
  @ApiDoc({ summary: 'Delete a set nobody has answered yet (a failed one, or a mistake), with its projected scans; 409 set_has_answers otherwise', auth: 'user', tags: ['training'], responses: { 204: 'deleted' } })
  async deleteSet(@CurrentPrincipal() trainer: UserPrincipal, @Param('id') id: string) {
    await this.sets.remove(trainer, id);
  }

  @Post('sets/:id/assignments')
  @HttpCode(200)
  @ApiDoc({ summary: 'Assign the set to more trainees (each gets their own case order)', auth: 'user', tags: ['training'], responses: { 200: setDetail } })
  assign(@CurrentPrincipal() trainer: UserPrincipal, @Param('id') id: string, @ValidBody(assignBody) body: z.infer<typeof assignBody>) {
    return this.sets.assign(trainer, id, body.traineeIds);
  }

  @Get('cases/:id/truth.dcs')
  @ApiDoc({ summary: 'The truth of a case as a DICOS Threat Detection Report (TDR Type GROUND TRUTH; projected threats labelled “projected threat (TIP)”)', auth: 'user', tags: ['training'], responses: { 200: { mediaType: 'application/dicom', description: 'DICOS TDR, DICOM Part 10' } } })
  async truth(@CurrentPrincipal() trainer: UserPrincipal, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const file = await this.exports.truth(trainer, id);
    void reply.type('application/dicom').header('content-disposition', `attachment; filename="niix-training-truth-${id}.dcs"`);
    return file;
  }

  @Get('cases/:id/dicos.tar')
  @ApiDoc({ summary: 'A case as DICOS: its scan as DX images (TIP Type CTI when the threat was projected) and its truth as a GROUND TRUTH TDR (truth.dcs) in the same study, referencing the images', auth: 'user', tags: ['training'], responses: { 200: { mediaType: 'application/x-tar', description: 'tar of DICOM Part 10 files: <view>-<energy>.dcm and truth.dcs' } } })
  async dicos(@CurrentPrincipal() trainer: UserPrincipal, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const stream = await this.exports.dicos(trainer, id);
    void reply.type('application/x-tar').header('content-disposition', `attachment; filename="niix-training-case-${id}.tar"`);
    return stream;
  }

  @Get('sets/:id/scores')
  @ApiDoc({ summary: 'Scores of a set: per session and overall, per category, with the threat events behind each', auth: 'user', tags: ['training'], responses: { 200: setScores } })
  setScores(@Param('id') id: string) {
    return this.scores.ofSet(id);
  }

  @Get('sets/:id/answers.csv')
  @ApiDoc({ summary: 'Every answer of a set as CSV', auth: 'user', tags: ['training'], responses: { 200: csv } })
  async setAnswersCsv(@Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const body = await this.scores.setAnswersCsv(id);
    void reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="niix-training-set-${id}.csv"`);
    return body;
  }

  @Get('trainees/:id/scores')
  @ApiDoc({ summary: 'A trainee over time: completed sessions oldest first, overall and per category', auth: 'user', tags: ['training'], responses: { 200: traineeScores } })
  traineeScores(@Param('id') id: string) {
    return this.scores.ofTrainee(id);
  }

  @Get('trainees/:id/scores.csv')
  @ApiDoc({ summary: 'A trainee’s completed sessions as CSV, one row per session', auth: 'user', tags: ['training'], responses: { 200: csv } })
  async traineeScoresCsv(@Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const body = await this.scores.traineeScoresCsv(id);
    void reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="niix-trainee-${id}.csv"`);
    return body;
  }

  @Get('dashboard')
  @ApiDoc({ summary: 'Trainer dashboard: every trainee’s scores over time and the sets', auth: 'user', tags: ['training'], responses: { 200: dashboardResponse } })
  async dashboard() {
    const [trainees, sets] = await Promise.all([this.scores.trainees(), this.sets.list()]);
    return { trainees, sets };
  }
}

/** Parts of a threat item upload; a file over MAX_THREAT_ITEM_PART_BYTES is refused while it streams, not after. */
async function* uploadParts(request: FastifyRequest): AsyncGenerator<ThreatItemUploadPart> {
  for await (const part of request.parts({ limits: { fileSize: MAX_THREAT_ITEM_PART_BYTES, files: 3, fields: 8 } })) {
    if (part.type === 'file') yield { kind: 'file', name: part.fieldname, data: part.toBuffer() };
    else yield { kind: 'field', name: part.fieldname, value: String(part.value) };
  }
}
