import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { Public } from '../auth/auth.decorators.js';
import { ApiDoc } from '../common/contract.js';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/database.js';
import { QueueRepository } from '../queue/queue.repository.js';
import { OBJECT_STORAGE, type ObjectStorage } from '../storage/object-storage.js';

const readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
});

const CHECK_TIMEOUT_MS = 2000;

@Controller('health')
@Public()
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly queues: QueueRepository,
  ) {}

  @Get('live')
  @ApiDoc({ summary: 'The process is up', auth: 'none', tags: ['health'], responses: { 200: z.object({ status: z.literal('live') }) } })
  live() {
    return { status: 'live' };
  }

  @Get('ready')
  @ApiDoc({ summary: '200 when database, Redis and storage answer; 503 naming what fails', auth: 'none', tags: ['health'], responses: { 200: readiness, 503: readiness } })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const entries = await Promise.all(
      Object.entries({
        database: () => this.database.ping(),
        redis: () => this.queues.ping(),
        storage: () => this.storage.ping(),
      }).map(async ([name, check]) => [name, await settle(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, result]) => result.ok);
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'unavailable', checks };
  }
}

async function settle(check: () => Promise<void>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
