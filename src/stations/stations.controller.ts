import { Controller, Get, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiDoc, ValidBody } from '../common/contract.js';
import { StationsService, createStationBody, createdStationResponse, stationResponse } from './stations.service.js';

@Controller('api/v1/stations')
export class StationsController {
  constructor(private readonly stations: StationsService) {}

  @Post()
  @Roles('admin')
  @ApiDoc({ summary: 'Register a scanner station; its API key and webhook secret are shown once', auth: 'user', responses: { 201: createdStationResponse } })
  create(@CurrentPrincipal() actor: UserPrincipal, @ValidBody(createStationBody) body: z.infer<typeof createStationBody>) {
    return this.stations.create(actor, body);
  }

  @Get()
  @Roles('admin', 'supervisor')
  @ApiDoc({ summary: 'List stations', auth: 'user', responses: { 200: z.array(stationResponse) } })
  list() {
    return this.stations.list();
  }
}
