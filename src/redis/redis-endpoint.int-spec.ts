import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../config/config.js';
import { RedisEndpoint } from './redis-endpoint.js';

const NOTHING_LISTENS = 'redis://127.0.0.1:1';

describe(RedisEndpoint.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'niix-redis-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses REDIS_URL when set', async () => {
    const endpoint = await RedisEndpoint.resolve({ url: 'redis://example.invalid:6379' }, dir);
    expect(endpoint.url).toBe('redis://example.invalid:6379');
  });

  it('starts a private append-only redis-server in the data folder when none answers, and stops it', async () => {
    const endpoint = await RedisEndpoint.resolve({}, dir, { url: NOTHING_LISTENS });
    expect(endpoint.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const client = new Redis(endpoint.url);
    await client.set('k', 'v');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    client.disconnect();
    expect(existsSync(path.join(dir, 'redis'))).toBe(true);
    await endpoint.stop();
    const gone = new Redis(endpoint.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    gone.on('error', () => undefined);
    await expect(gone.connect()).rejects.toThrow();
    gone.disconnect();
  });

  it('says in one line how to install redis-server when it is missing', async () => {
    const missing = { url: NOTHING_LISTENS, command: path.join(dir, 'redis-server') };
    await expect(RedisEndpoint.resolve({}, dir, missing)).rejects.toBeInstanceOf(ConfigError);
    await expect(RedisEndpoint.resolve({}, dir, missing)).rejects.toThrow(/^no Redis answers .* apt-get install redis-server/);
  });
});
