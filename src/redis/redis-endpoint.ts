import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { freePort } from '../common/free-port.js';
import { ConfigError } from '../config/config.js';

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/**
 * Where Redis is. With REDIS_URL set, that server. Without it, a Redis already answering on 127.0.0.1:6379, or
 * else a private redis-server child with its files (append-only) in the data folder, stopped on exit.
 */
export class RedisEndpoint {
  private static readonly logger = new Logger(RedisEndpoint.name);

  private constructor(
    readonly url: string,
    private readonly child?: ChildProcess,
  ) {}

  static async resolve(
    settings: { url?: string },
    dataDir: string,
    local: { url?: string; command?: string } = {},
  ): Promise<RedisEndpoint> {
    const localUrl = local.url ?? DEFAULT_URL;
    const command = local.command ?? 'redis-server';
    if (settings.url) return new RedisEndpoint(settings.url);
    if (await redisAnswers(localUrl)) return new RedisEndpoint(localUrl);
    if (spawnSync(command, ['--version']).error) {
      throw new ConfigError(
        'no Redis answers on 127.0.0.1:6379 and redis-server is not installed: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL',
      );
    }
    const dir = path.join(dataDir, 'redis');
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const child = spawn(
      command,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    const url = `redis://127.0.0.1:${port}`;
    for (let attempt = 0; attempt < 100 && !(await redisAnswers(url)); attempt++) {
      if (child.exitCode !== null) throw new ConfigError(`the private redis-server exited with code ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    RedisEndpoint.logger.log(`started a private redis-server on port ${port} with its files in ${dir}`);
    return new RedisEndpoint(url, child);
  }

  /**
   * A new ioredis client; BullMQ workers need maxRetriesPerRequest null. Connection errors reach the callers as
   * rejected commands; the client's own error events are not logged again (one stack per retry during an outage).
   */
  client(options: { forWorkers?: boolean } = {}): Redis {
    const client = new Redis(this.url, { maxRetriesPerRequest: options.forWorkers ? null : 3, lazyConnect: false });
    client.on('error', () => undefined);
    return client;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child!.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** Whether a Redis answers PING at `url` (within half a second, without retrying). */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
