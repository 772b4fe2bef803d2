import { Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, StationOnly } from '../auth/auth.decorators.js';
import type { StationPrincipal } from '../auth/roles.js';
import { ApiDoc } from '../common/contract.js';
import { resultPage } from './result-body.js';
import { ResultsService } from './results.service.js';
import { ServerSentEvents } from './server-sent-events.js';

/** A station reads the results of its scans: pull with a cursor, a live stream, acknowledgements. */
@Controller('api/v1/station/results')
@StationOnly()
export class ResultsController {
  constructor(private readonly results: ResultsService) {}

  @Get()
  @ApiDoc({
    summary: "This station's results after a cursor, in id order (resumable pull)",
    auth: 'station',
    query: { after: 'the last result id you have (`next` of the previous page); none: from the first', limit: '1 to 500, default 100' },
    responses: { 200: resultPage },
  })
  list(@CurrentPrincipal() station: StationPrincipal, @Query() query: Record<string, unknown>) {
    return this.results.list(station, query);
  }

  @Get('stream')
  @ApiDoc({
    summary: 'Live results as server-sent events (`event: result`, `id: <resultId>`); resumes after Last-Event-ID or `after`',
    auth: 'station',
    headers: { 'Last-Event-ID': 'the last result id you have: every later result is sent first, then the live ones' },
    query: { after: 'the same as Last-Event-ID, for clients that cannot set headers; without either, only new results' },
    responses: { 200: { mediaType: 'text/event-stream', description: 'one `result` event per result; a `: ping` comment every 15 s' } },
  })
  async stream(
    @CurrentPrincipal() station: StationPrincipal,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('after') after: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const events = new ServerSentEvents(reply.raw);
    const stream = await this.results.openStream(station, this.results.streamCursor(lastEventId, after), events);
    void reply.hijack();
    reply.raw.on('close', () => stream.close());
    if (reply.raw.socket === null || reply.raw.socket.destroyed) return stream.close(); // gone while we subscribed
    events.open();
    stream.start();
  }

  @Post(':resultId/ack')
  @HttpCode(204)
  @ApiDoc({ summary: "Confirm this station has the result (404 for another station's)", auth: 'station', responses: { 204: 'acknowledged' } })
  async acknowledge(@CurrentPrincipal() station: StationPrincipal, @Param('resultId') resultId: string): Promise<void> {
    await this.results.acknowledge(station, resultId);
  }
}
