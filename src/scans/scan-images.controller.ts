import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal, StationOrRoles } from '../auth/auth.decorators.js';
import { REVIEW_ROLES, type Principal } from '../auth/roles.js';
import { ApiError } from '../common/api-error.js';
import { ApiDoc } from '../common/contract.js';
import { TrainingSessionsService } from '../training/training-sessions.service.js';
import { PlaneTilesService } from './plane-tiles.service.js';
import type { Layer } from './scan-objects.js';
import { IMMUTABLE } from './scans.controller.js';
import { ScansService } from './scans.service.js';

const jpeg = { mediaType: 'image/jpeg', description: 'an 8-bit JPEG' };
const dzi = { mediaType: 'application/xml', description: 'Deep Zoom descriptor (OpenSeadragon reads it)' };
const tile = { mediaType: 'image/jpeg', description: 'one Deep Zoom tile' };
const losslessTile = { mediaType: 'image/png', description: 'one lossless 16-bit tile: 8-bit RGB PNG, red = high byte, green = low byte, blue 0 (value = red * 256 + green)' };
const TRAINING_PREFIX = '/api/v1/training/cases/';

/** A read for a training case fails naming the case, never the scan behind it (which the trainee must not learn). */
async function namingTheCase<T>(work: Promise<T>, scanId: string, caseId: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const { message } = (error.getResponse() as { error: { message: string } }).error;
    throw new ApiError(error.getStatus(), error.code, message.replaceAll(`scan ${scanId}`, `training case ${caseId}`).replaceAll(scanId, caseId), error.details);
  }
}

/**
 * The viewer's images of a scan, under two prefixes with the same routes: a live scan by its id, and a training
 * case by its case id (the trainee never learns which scan it is). Who may read what is decided in one place,
 * ScansService.readable; for a training case the training service first grants the one scan the caller may see.
 */
@Controller(['api/v1/scans/:id', 'api/v1/training/cases/:id'])
@StationOrRoles(...REVIEW_ROLES, 'trainer', 'trainee')
export class ScanImagesController {
  constructor(
    private readonly scans: ScansService,
    private readonly planeTiles: PlaneTilesService,
    private readonly training: TrainingSessionsService,
  ) {}

  @Get('views/:view/planes/:energy/tiles.dzi')
  @ApiDoc({ summary: 'Deep Zoom descriptor of the lossless 16-bit tiles of a plane (WebGL viewer), e.g. planes/high/tiles.dzi', auth: 'user-or-station', responses: { 200: dzi } })
  async planeDzi(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Param('energy') energy: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { principal, scanId, read } = await this.reader(caller, request, id);
    return this.send(reply, 'application/xml', read(this.planeTiles.dzi(principal, scanId, view, energy)));
  }

  @Get('views/:view/planes/:energy/tiles_files/:level/:tile')
  @ApiDoc({ summary: 'One lossless 16-bit tile of a plane: tiles_files/{level}/{col}_{row}.png (red = high byte, green = low byte)', auth: 'user-or-station', responses: { 200: losslessTile } })
  async planeTile(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Param('energy') energy: string, @Param('level') level: string, @Param('tile') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { principal, scanId, read } = await this.reader(caller, request, id);
    return this.send(reply, 'image/png', read(this.planeTiles.tile(principal, scanId, view, energy, level, name)));
  }

  @Get('views/:view/thumbnail')
  @ApiDoc({ summary: 'Thumbnail of a view (grey)', auth: 'user-or-station', responses: { 200: jpeg } })
  thumbnail(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.image(reply, caller, request, id, view, 'grey', 'thumbnail.jpg');
  }

  @Get('views/:view/display')
  @ApiDoc({ summary: 'Display image of a view (grey, long side at most 4096 px)', auth: 'user-or-station', responses: { 200: jpeg } })
  display(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.image(reply, caller, request, id, view, 'grey', 'display.jpg');
  }

  @Get('views/:view/tiles.dzi')
  @ApiDoc({ summary: 'Deep Zoom descriptor of the grey pyramid', auth: 'user-or-station', responses: { 200: dzi } })
  tiles(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.image(reply, caller, request, id, view, 'grey', 'tiles.dzi');
  }

  @Get('views/:view/tiles_files/:level/:tile')
  @ApiDoc({ summary: 'One tile of the grey pyramid: tiles_files/{level}/{col}_{row}.jpeg', auth: 'user-or-station', responses: { 200: tile } })
  greyTile(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Param('level') level: string, @Param('tile') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.tile(reply, caller, request, id, view, 'grey', level, name);
  }

  @Get('views/:view/material/thumbnail')
  @ApiDoc({ summary: 'Thumbnail of the dual-energy material map (organic orange, mixed green, metal blue)', auth: 'user-or-station', responses: { 200: jpeg } })
  materialThumbnail(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.image(reply, caller, request, id, view, 'material', 'thumbnail.jpg');
  }

  @Get('views/:view/material/display')
  @ApiDoc({ summary: 'Display image of the material map', auth: 'user-or-station', responses: { 200: jpeg } })
  materialDisplay(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.image(reply, caller, request, id, view, 'material', 'display.jpg');
  }

  @Get('views/:view/material/tiles.dzi')
  @ApiDoc({ summary: 'Deep Zoom descriptor of the material map pyramid', auth: 'user-or-station', responses: { 200: dzi } })
  materialTiles(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.image(reply, caller, request, id, view, 'material', 'tiles.dzi');
  }

  @Get('views/:view/material/tiles_files/:level/:tile')
  @ApiDoc({ summary: 'One tile of the material map pyramid', auth: 'user-or-station', responses: { 200: tile } })
  materialTile(@CurrentPrincipal() caller: Principal, @Req() request: FastifyRequest, @Param('id') id: string, @Param('view') view: string, @Param('level') level: string, @Param('tile') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.tile(reply, caller, request, id, view, 'material', level, name);
  }

  /**
   * The principal and scan id to read with: a training case is turned into its scan, with the grant to read it;
   * `read` wraps the reading so that its errors do not name that scan.
   */
  private async reader(caller: Principal, request: FastifyRequest, id: string): Promise<{ principal: Principal; scanId: string; read: <T>(work: Promise<T>) => Promise<T> }> {
    if (!request.url.startsWith(TRAINING_PREFIX)) return { principal: caller, scanId: id, read: (work) => work };
    const principal = await this.training.grant(caller, id);
    const scanId = principal.kind === 'user' && principal.grantedScanId ? principal.grantedScanId : id;
    return { principal, scanId, read: (work) => namingTheCase(work, scanId, id) };
  }

  private async image(reply: FastifyReply, caller: Principal, request: FastifyRequest, id: string, view: string, layer: Layer, name: 'display.jpg' | 'thumbnail.jpg' | 'tiles.dzi'): Promise<Buffer | string> {
    const { principal, scanId, read } = await this.reader(caller, request, id);
    const type = name === 'tiles.dzi' ? 'application/xml' : 'image/jpeg';
    return this.send(reply, type, read(this.scans.image(principal, scanId, view, layer, name)));
  }

  private async tile(reply: FastifyReply, caller: Principal, request: FastifyRequest, id: string, view: string, layer: Layer, level: string, name: string): Promise<Buffer> {
    const { principal, scanId, read } = await this.reader(caller, request, id);
    const { data, format } = await read(this.scans.tile(principal, scanId, view, layer, level, name));
    void reply.type(`image/${format}`).header('cache-control', IMMUTABLE);
    return data;
  }

  private async send(reply: FastifyReply, type: string, data: Promise<Buffer | string>): Promise<Buffer | string> {
    const body = await data;
    void reply.type(type).header('cache-control', IMMUTABLE);
    return body;
  }
}
