import { Redis } from 'ioredis';

/** Deletes the keys matching `pattern` (e.g. `niixtest1a2b:*`); returns how many there were. */
export async function deleteRedisKeys(url: string, pattern: string): Promise<number> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(pattern);
    if (keys.length) await redis.del(...keys);
    return keys.length;
  } finally {
    redis.disconnect();
  }
}
