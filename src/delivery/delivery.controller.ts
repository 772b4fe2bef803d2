import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiDoc } from '../common/contract.js';
import { DeliveryService, redeliverResponse, undeliveredResponse } from './delivery.service.js';

/** Administrators look after webhooks that gave up. */
@Controller('api/v1/admin')
@Roles('admin')
export class DeliveryController {
  constructor(private readonly delivery: DeliveryService) {}

  @Get('undelivered')
  @ApiDoc({ summary: 'Results whose webhook gave up after 24 hours of retries (station, scan, attempts, last error)', auth: 'user', tags: ['admin'], responses: { 200: undeliveredResponse } })
  undelivered() {
    return this.delivery.listUndelivered();
  }

  @Post('results/:resultId/redeliver')
  @HttpCode(202)
  @ApiDoc({ summary: 'Send the webhook of a result again, with a fresh retry schedule', auth: 'user', tags: ['admin'], responses: { 202: redeliverResponse } })
  redeliver(@CurrentPrincipal() actor: UserPrincipal, @Param('resultId') resultId: string) {
    return this.delivery.redeliver(actor, resultId);
  }
}
