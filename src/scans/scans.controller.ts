import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, StationOrRoles } from '../auth/auth.decorators.js';
import { REVIEW_ROLES, type Principal } from '../auth/roles.js';
import { ApiDoc } from '../common/contract.js';
import { ScansService, scanResponse } from './scans.service.js';

export const IMMUTABLE = 'private, max-age=86400, immutable';

@Controller('api/v1/scans')
@StationOrRoles(...REVIEW_ROLES)
export class ScansController {
  constructor(private readonly scans: ScansService) {}

  @Get(':id')
  @ApiDoc({ summary: 'A scan: status (received, converting, queued, failed), manifest, failure', auth: 'user-or-station', responses: { 200: scanResponse } })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.scans.get(principal, id);
  }

  @Get(':id/bundle')
  @ApiDoc({ summary: 'The scan as one niix bundle file (tar: manifest, planes, originals)', auth: 'user-or-station', responses: { 200: { mediaType: 'application/x-tar', description: 'the bundle' } } })
  async bundle(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const stream = await this.scans.bundle(principal, id);
    void reply.type('application/x-tar').header('content-disposition', `attachment; filename="niix-${id}.tar"`);
    return stream;
  }

  @Get(':id/views/:view/planes/:plane')
  @ApiDoc({ summary: 'A lossless 16-bit plane (PNG) of the exchange package, e.g. planes/high.png', auth: 'user-or-station', responses: { 200: { mediaType: 'image/png', description: '16-bit greyscale PNG' } } })
  async plane(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Param('view') view: string, @Param('plane') plane: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const data = await this.scans.plane(principal, id, view, plane.replace(/\.png$/, ''));
    void reply.type('image/png').header('cache-control', IMMUTABLE);
    return data;
  }
}
