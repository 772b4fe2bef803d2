import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, ConfigError } from '../config/config.js';
import { InstallationRepository } from '../database/installation.repository.js';
import { REDIS_ENDPOINT } from './redis.module.js';
import type { RedisEndpoint } from './redis-endpoint.js';

/**
 * One Redis key prefix belongs to one installation (one database). At start, before any worker takes a job, the
 * installation records its id under `<prefix>:installation`; when the key holds another installation's id, start-up
 * stops with one line instead of letting two installations take each other's jobs. Processes of the same
 * installation find their own id there and start. After Redis loses its data the key is simply recorded again by
 * the next process that starts (which also puts the lost jobs back from the database).
 */
@Injectable()
export class RedisPrefixService {
  private readonly logger = new Logger(RedisPrefixService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_ENDPOINT) private readonly redis: RedisEndpoint,
    private readonly installation: InstallationRepository,
  ) {}

  /** The Redis key that names the installation owning the prefix. */
  get key(): string {
    return `${this.config.redis.prefix}:installation`;
  }

  /** Records this installation as the owner of the prefix, or throws a ConfigError naming NIIX_REDIS_PREFIX. */
  async claim(): Promise<void> {
    const id = await this.installation.id();
    const client = this.redis.client();
    try {
      // SET NX then GET (not SET NX GET, which Redis 6 lacks): the key is only ever written when it is free.
      if ((await client.set(this.key, id, 'NX')) === 'OK') {
        this.logger.log(`recorded installation ${id} as the owner of Redis prefix "${this.config.redis.prefix}"`);
        return;
      }
      const holder = await client.get(this.key);
      if (holder !== null && holder !== id) {
        throw new ConfigError(
          `Redis prefix "${this.config.redis.prefix}" at ${displayUrl(this.redis.url)} belongs to another installation (${holder}; this one is ${id}): give this installation its own NIIX_REDIS_PREFIX`,
        );
      }
    } finally {
      client.disconnect();
    }
  }
}

/** The Redis URL without credentials. */
function displayUrl(url: string): string {
  const parsed = new URL(url);
  const database = parsed.pathname && parsed.pathname !== '/' ? parsed.pathname : '';
  return `${parsed.protocol}//${parsed.host}${database}`;
}
