import { Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { UserPrincipal } from '../auth/roles.js';
import { ApiDoc, ValidBody } from '../common/contract.js';
import { answerBody, answerResponse, nextCaseResponse, ownSessionResponse, sessionSummary } from './training.contract.js';
import { TrainingScoresService } from './training-scores.service.js';
import { TrainingSessionsService } from './training-sessions.service.js';

/** What trainees do: work through their own sessions. */
@Controller('api/v1/training')
@Roles('trainee')
export class TrainingSessionsController {
  constructor(
    private readonly sessions: TrainingSessionsService,
    private readonly scores: TrainingScoresService,
  ) {}

  @Get('my/sessions')
  @ApiDoc({ summary: 'Your training sessions', auth: 'user', tags: ['training'], responses: { 200: z.array(sessionSummary) } })
  mine(@CurrentPrincipal() trainee: UserPrincipal) {
    return this.sessions.mine(trainee);
  }

  @Get('sessions/:id')
  @ApiDoc({ summary: 'One of your sessions; its score once you have completed it', auth: 'user', tags: ['training'], responses: { 200: ownSessionResponse } })
  async session(@CurrentPrincipal() trainee: UserPrincipal, @Param('id') id: string) {
    const { summary } = await this.sessions.own(trainee, id);
    const completed = summary.status === 'completed';
    const figures = completed ? await this.scores.ofSession(summary.id) : null;
    return { ...summary, score: figures?.overall ?? null, byCategory: figures?.byCategory ?? [] };
  }

  @Post('sessions/:id/next')
  @ApiDoc({ summary: 'The case to answer now (the same one until it is answered); 204 when every case is answered', auth: 'user', tags: ['training'], responses: { 200: nextCaseResponse, 204: 'session completed' } })
  async next(@CurrentPrincipal() trainee: UserPrincipal, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const next = await this.sessions.next(trainee, id);
    void reply.status(next ? 200 : 204);
    return next ?? undefined;
  }

  @Post('sessions/:id/cases/:caseId/answer')
  @ApiDoc({ summary: 'Answer the case you were shown: clear, inspect or inconclusive, with regions (feedback in practice mode only)', auth: 'user', tags: ['training'], responses: { 201: answerResponse } })
  answer(@CurrentPrincipal() trainee: UserPrincipal, @Param('id') id: string, @Param('caseId') caseId: string, @ValidBody(answerBody) body: z.infer<typeof answerBody>) {
    return this.sessions.answer(trainee, id, caseId, body);
  }
}
