import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type AppConfig, ConfigError } from '../config/config.js';
import { Database } from '../database/database.js';
import { InstallationRepository } from '../database/installation.repository.js';
import { installation } from '../database/schema.js';
import { withFreshPostgres } from '../../test/postgres.js';
import { TEST_REDIS_URL } from '../../test/service.harness.js';
import { deleteRedisKeys } from '../../test/redis.js';
import { RedisEndpoint } from './redis-endpoint.js';
import { RedisPrefixService } from './redis-prefix.service.js';

describe(RedisPrefixService.name, () => {
  const prefix = `niixtest${randomBytes(4).toString('hex')}`;
  const config = { redis: { url: TEST_REDIS_URL, prefix } } as AppConfig;
  let redis: Redis;
  let endpoint: RedisEndpoint;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    endpoint = await RedisEndpoint.resolve({ url: TEST_REDIS_URL }, '/nonexistent');
  });
  afterAll(async () => {
    await deleteRedisKeys(TEST_REDIS_URL, `${prefix}:*`);
    redis.disconnect();
  });

  it('gives every process of one installation the same id, made once even when they start at once', async () => {
    await withFreshPostgres(async (url) => {
      const processes: Database[] = [];
      for (let i = 0; i < 4; i++) processes.push(await Database.open({ kind: 'postgres', url }));
      try {
        const ids = await Promise.all(processes.flatMap((database) => [1, 2].map(() => new InstallationRepository(database).id())));
        expect(new Set(ids).size).toBe(1);
        expect(await processes[0].db.$count(installation)).toBe(1);
        expect(await new InstallationRepository(processes[1]).id()).toBe(ids[0]);
      } finally {
        await Promise.all(processes.map((database) => database.close()));
      }
    });
  });

  it('records the owner of the prefix, lets it in again, refuses another installation in one line, and records again after Redis lost it', async () => {
    await withFreshPostgres((ours) =>
      withFreshPostgres(async (theirs) => {
        const [mine, other] = [await Database.open({ kind: 'postgres', url: ours }), await Database.open({ kind: 'postgres', url: theirs })];
        try {
          const claim = (database: Database) => new RedisPrefixService(config, endpoint, new InstallationRepository(database)).claim();
          const myId = await new InstallationRepository(mine).id();
          const key = `${prefix}:installation`;

          await claim(mine);
          expect(await redis.get(key)).toBe(myId);
          await claim(mine); // a second process, or a restart, of the same installation

          const refusal = await claim(other).then(() => undefined, (error: unknown) => error);
          expect(refusal).toBeInstanceOf(ConfigError);
          const message = (refusal as Error).message;
          expect(message).toBe(
            `Redis prefix "${prefix}" at redis://127.0.0.1:6379 belongs to another installation (${myId}; this one is ${await new InstallationRepository(other).id()}): give this installation its own NIIX_REDIS_PREFIX`,
          );
          expect(await redis.get(key)).toBe(myId);

          // Redis lost its data: the next process to start records its installation again
          await redis.del(key);
          await claim(mine);
          expect(await redis.get(key)).toBe(myId);
          await expect(claim(other)).rejects.toThrow(ConfigError);
        } finally {
          await Promise.all([mine.close(), other.close()]);
        }
      }),
    );
  });
});
