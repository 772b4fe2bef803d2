import { Controller, Get, Header, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { MetricsScrapeService } from './metrics-scrape.service.js';
import { MetricsTokenGuard } from './metrics-token.guard.js';

/** Prometheus scrapes this (not part of the API document: it is for operators' monitoring, with its own token). */
@Controller('metrics')
@Public()
@UseGuards(MetricsTokenGuard)
export class MetricsController {
  constructor(private readonly scrape: MetricsScrapeService) {}

  @Get()
  @Header('cache-control', 'no-store')
  async metrics(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.type(this.scrape.contentType);
    return this.scrape.scrape();
  }
}
