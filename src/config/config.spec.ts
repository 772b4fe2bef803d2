import path from 'node:path';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('runs on embedded defaults with no environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.database).toEqual({ kind: 'pglite', dir: path.resolve('data/db') });
    expect(config.storage).toEqual({ kind: 'filesystem', dir: path.resolve('data/objects') });
    expect([...config.roles]).toEqual(['api', 'convert', 'deliver']);
    expect(config.redis.url).toBeUndefined();
  });

  it('takes production settings', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://niix@db/niix',
      REDIS_URL: 'redis://redis:6379',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'b',
      S3_BUCKET: 'niix-scans',
      NIIX_ROLES: 'api,convert',
      NIIX_MAX_UPLOAD: '500mb',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://niix@db/niix' });
    expect(config.storage.kind).toBe('s3');
    expect([...config.roles]).toEqual(['api', 'convert']);
    expect(config.limits.maxUploadBytes).toBe(500 * 1024 * 1024);
  });

  it.each([
    [{ PORT: 'eighty' }, /^invalid configuration: PORT: /],
    [{ DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL: a URL starting with postgres: or postgresql:/],
    [{ S3_ENDPOINT: 'http://minio:9000' }, /S3_ENDPOINT: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET go together/],
    [{ NIIX_ROLES: 'api,painting' }, /^invalid configuration: NIIX_ROLES: /],
    [{ NIIX_MAX_UPLOAD: 'lots' }, /NIIX_MAX_UPLOAD: a size such as 500mb or 2gb/],
  ])('stops with one line on %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });
});
