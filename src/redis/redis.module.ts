import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { RedisEndpoint } from './redis-endpoint.js';

export const REDIS_ENDPOINT = Symbol('REDIS_ENDPOINT');

@Global()
@Module({
  providers: [
    {
      provide: REDIS_ENDPOINT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => RedisEndpoint.resolve(config.redis, config.dataDir),
    },
  ],
  exports: [REDIS_ENDPOINT],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_ENDPOINT) private readonly endpoint: RedisEndpoint) {}

  async onApplicationShutdown(): Promise<void> {
    await this.endpoint.stop();
  }
}
