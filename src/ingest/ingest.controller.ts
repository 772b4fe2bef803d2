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
    summary: 'Upload a scan: vendor file(s) plus optional metadata; 202 new, 200 when sent before',
    auth: 'station',
    tags: ['scans'],
    headers: { 'Idempotency-Key': 'the same key again returns the first scan instead of a second one' },
    multipart: {
      metadata: { type: 'string', description: 'JSON: declarations, containers, licencePlates, riskScore, reference, declaredGoods, fields' },
      file: { type: 'file', description: 'one or more file parts in the scanner vendor format', required: true },
    },
    responses: { 202: uploadResponse, 200: uploadResponse },
  })
  async upload(
    @CurrentPrincipal() station: StationPrincipal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const earlier = await this.ingest.findByIdempotencyKey(station, idempotencyKey);
    if (earlier) {
      void reply.status(HttpStatus.OK);
      return { id: earlier.id, status: earlier.status };
    }
    if (!request.isMultipart()) throw new ApiError(415, 'not_multipart', 'send the scan as multipart/form-data');
    const { scan, created } = await this.ingest.receive(station, idempotencyKey, multipartParts(request));
    void reply.status(created ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return { id: scan.id, status: scan.status };
  }
}

async function* multipartParts(request: FastifyRequest): AsyncGenerator<UploadPart> {
  for await (const part of request.parts()) {
    if (part.type === 'file') yield { kind: 'file', name: part.fieldname, fileName: part.filename, stream: part.file };
    else yield { kind: 'field', name: part.fieldname, value: String(part.value) };
  }
}
