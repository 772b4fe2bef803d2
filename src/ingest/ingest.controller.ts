import { Controller, Headers, HttpStatus, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal, StationOnly } from '../auth/auth.decorators.js';
import type { StationPrincipal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { ApiDoc } from '../common/contract.js';
import { IngestService, type UploadPart, uploadResponse } from './ingest.service.js';

@Controller('api/v1/scans')
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  @Post()
  @StationOnly()
  @ApiDoc({
    summary: 'Upload a scan: vendor file(s) plus optional metadata; 202 new, 200 when sent before (duplicate), 409 for a key reused with other files',
    auth: 'station',
    tags: ['scans'],
    headers: { 'Idempotency-Key': 'the same key with the same files returns the first scan (200); with other files, 409 idempotency_key_reused' },
    multipart: {
      metadata: { type: 'string', description: 'JSON: declarations, containers, licencePlates, riskScore, reference, declaredGoods, fields' },
      file: { type: 'file', description: 'one or more file parts in the scanner vendor format', required: true },
    },
    responses: { 202: uploadResponse, 200: uploadResponse, 409: 'idempotency_key_reused: the key was used before for a scan with other files' },
  })
  async upload(
    @CurrentPrincipal() station: StationPrincipal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    this.ingest.checkIdempotencyKey(idempotencyKey);
    if (!request.isMultipart()) throw new ApiError(415, 'not_multipart', 'send the scan as multipart/form-data');
    const { scan, created, notApplied } = await this.ingest.receive(station, idempotencyKey, multipartParts(request));
    void reply.status(created ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return { id: scan.id, status: scan.status, duplicate: !created, notApplied };
  }
}

async function* multipartParts(request: FastifyRequest): AsyncGenerator<UploadPart> {
  for await (const part of request.parts()) {
    if (part.type === 'file') yield { kind: 'file', name: part.fieldname, fileName: part.filename, stream: part.file };
    else yield { kind: 'field', name: part.fieldname, value: String(part.value) };
  }
}
