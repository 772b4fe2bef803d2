import { Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { z } from 'zod';
import { Roles } from '../auth/auth.decorators.js';
import { ApiError } from '../common/api-error.js';
import { ApiDoc, ValidBody } from '../common/contract.js';
import { ReviewRepository } from './review.repository.js';
import { ReviewQueueRepository } from './review-queue.repository.js';
import { isUuid } from '../common/ids.js';

const POOL_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const poolBody = z.object({
  fourEyesRisk: z.number().int().min(0).max(100).nullable().default(null).describe('second analyst from this risk up; null: never'),
  fourEyesOnInspect: z.boolean().default(false).describe('second analyst when the first says inspect'),
});
const poolResponse = poolBody.extend({ name: z.string(), members: z.array(z.object({ id: z.string(), username: z.string() })) });

@Controller('api/v1/pools')
export class PoolsController {
  constructor(
    private readonly review: ReviewRepository,
    private readonly queue: ReviewQueueRepository,
  ) {}

  @Get()
  @Roles('admin', 'supervisor')
  @ApiDoc({ summary: 'Analyst pools with their four-eyes rules and members', auth: 'user', tags: ['pools'], responses: { 200: z.array(poolResponse) } })
  async list() {
    const pools = await this.review.pools();
    return Promise.all(
      pools.map(async (pool) => ({ name: pool.name, fourEyesRisk: pool.fourEyesRisk, fourEyesOnInspect: pool.fourEyesOnInspect, members: await this.review.members(pool.name) })),
    );
  }

  @Put(':name')
  @Roles('admin')
  @ApiDoc({ summary: 'Create or change a pool', auth: 'user', tags: ['pools'], responses: { 200: poolBody.extend({ name: z.string() }) } })
  async save(@Param('name') name: string, @ValidBody(poolBody) body: z.infer<typeof poolBody>) {
    if (!POOL_NAME.test(name)) throw ApiError.badRequest('invalid_pool_name', 'a pool name is lower-case letters, digits and dashes, at most 40');
    await this.review.savePool({ name, ...body });
    this.queue.watch([name]);
    return { name, ...body };
  }

  @Put(':name/members/:userId')
  @HttpCode(204)
  @Roles('admin')
  @ApiDoc({ summary: 'Make a user a member of the pool', auth: 'user', tags: ['pools'], responses: { 204: 'added' } })
  async addMember(@Param('name') name: string, @Param('userId') userId: string) {
    if (!(await this.review.pool(name))) throw ApiError.notFound('pool_not_found', `no pool ${name}`);
    if (!isUuid(userId) || (await this.review.usersByIds([userId])).length === 0) throw ApiError.notFound('user_not_found', `no user ${userId}`);
    await this.review.addMember(name, userId);
  }

  @Delete(':name/members/:userId')
  @HttpCode(204)
  @Roles('admin')
  @ApiDoc({ summary: 'Remove a user from the pool', auth: 'user', tags: ['pools'], responses: { 204: 'removed' } })
  async removeMember(@Param('name') name: string, @Param('userId') userId: string) {
    await this.review.removeMember(name, userId);
  }
}
