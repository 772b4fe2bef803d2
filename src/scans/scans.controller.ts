import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, StationOrRoles } from '../auth/auth.decorators.js';
import { REVIEW_ROLES, type Principal } from '../auth/roles.js';
import { ApiDoc } from '../common/contract.js';
import { PlaneTilesService } from './plane-tiles.service.js';
import type { Layer } from './scan-objects.js';
import { ScansService, scanResponse } from './scans.service.js';

const jpeg = { mediaType: 'image/jpeg', description: 'an 8-bit JPEG' };
const dzi = { mediaType: 'application/xml', description: 'Deep Zoom descriptor (OpenSeadragon reads it)' };
const tile = { mediaType: 'image/jpeg', description: 'one Deep Zoom tile' };
const losslessTile = { mediaType: 'image/png', description: 'one lossless 16-bit tile: 8-bit RGB PNG, red = high byte, green = low byte, blue 0 (value = red * 256 + green)' };
const IMMUTABLE = 'private, max-age=86400, immutable';

@Controller('api/v1/scans')
@StationOrRoles(...REVIEW_ROLES)
export class ScansController {
  constructor(
    private readonly scans: ScansService,
    private readonly planeTiles: PlaneTilesService,
  ) {}

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

  @Get(':id/views/:view/planes/:energy/tiles.dzi')
  @ApiDoc({ summary: 'Deep Zoom descriptor of the lossless 16-bit tiles of a plane (WebGL viewer), e.g. planes/high/tiles.dzi', auth: 'user-or-station', responses: { 200: dzi } })
  async planeDzi(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Param('energy') energy: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const body = await this.planeTiles.dzi(p, id, view, energy);
    void reply.type('application/xml').header('cache-control', IMMUTABLE);
    return body;
  }

  @Get(':id/views/:view/planes/:energy/tiles_files/:level/:tile')
  @ApiDoc({ summary: 'One lossless 16-bit tile of a plane: tiles_files/{level}/{col}_{row}.png (red = high byte, green = low byte)', auth: 'user-or-station', responses: { 200: losslessTile } })
  planeTile(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Param('energy') energy: string, @Param('level') level: string, @Param('tile') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'image/png', this.planeTiles.tile(p, id, view, energy, level, name));
  }

  @Get(':id/views/:view/thumbnail')
  @ApiDoc({ summary: 'Thumbnail of a view (grey)', auth: 'user-or-station', responses: { 200: jpeg } })
  thumbnail(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'image/jpeg', this.scans.image(p, id, view, 'grey', 'thumbnail.jpg'));
  }

  @Get(':id/views/:view/display')
  @ApiDoc({ summary: 'Display image of a view (grey, long side at most 4096 px)', auth: 'user-or-station', responses: { 200: jpeg } })
  display(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'image/jpeg', this.scans.image(p, id, view, 'grey', 'display.jpg'));
  }

  @Get(':id/views/:view/tiles.dzi')
  @ApiDoc({ summary: 'Deep Zoom descriptor of the grey pyramid', auth: 'user-or-station', responses: { 200: dzi } })
  tiles(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'application/xml', this.scans.image(p, id, view, 'grey', 'tiles.dzi'));
  }

  @Get(':id/views/:view/tiles_files/:level/:tile')
  @ApiDoc({ summary: 'One tile of the grey pyramid: tiles_files/{level}/{col}_{row}.jpeg', auth: 'user-or-station', responses: { 200: tile } })
  greyTile(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Param('level') level: string, @Param('tile') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.sendTile(reply, p, id, view, 'grey', level, name);
  }

  @Get(':id/views/:view/material/thumbnail')
  @ApiDoc({ summary: 'Thumbnail of the dual-energy material map (organic orange, mixed green, metal blue)', auth: 'user-or-station', responses: { 200: jpeg } })
  materialThumbnail(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'image/jpeg', this.scans.image(p, id, view, 'material', 'thumbnail.jpg'));
  }

  @Get(':id/views/:view/material/display')
  @ApiDoc({ summary: 'Display image of the material map', auth: 'user-or-station', responses: { 200: jpeg } })
  materialDisplay(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'image/jpeg', this.scans.image(p, id, view, 'material', 'display.jpg'));
  }

  @Get(':id/views/:view/material/tiles.dzi')
  @ApiDoc({ summary: 'Deep Zoom descriptor of the material map pyramid', auth: 'user-or-station', responses: { 200: dzi } })
  materialTiles(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.send(reply, 'application/xml', this.scans.image(p, id, view, 'material', 'tiles.dzi'));
  }

  @Get(':id/views/:view/material/tiles_files/:level/:tile')
  @ApiDoc({ summary: 'One tile of the material map pyramid', auth: 'user-or-station', responses: { 200: tile } })
  materialTile(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('view') view: string, @Param('level') level: string, @Param('tile') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.sendTile(reply, p, id, view, 'material', level, name);
  }

  private async send(reply: FastifyReply, type: string, data: Promise<Buffer>): Promise<Buffer> {
    const body = await data;
    void reply.type(type).header('cache-control', IMMUTABLE);
    return body;
  }

  private async sendTile(reply: FastifyReply, p: Principal, id: string, view: string, layer: Layer, level: string, name: string): Promise<Buffer> {
    const { data, format } = await this.scans.tile(p, id, view, layer, level, name);
    void reply.type(`image/${format}`).header('cache-control', IMMUTABLE);
    return data;
  }
}
