import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { type AppConfig, loadConfig } from '../config/config.js';
import { AppLogger } from './app-logger.js';
import { annotateLogContext, withLogContext } from './log-context.js';
import { SecretScrubber } from './secret-scrubber.js';
import { startFailureMessage } from './start-failure.js';

/** A logger writing into an array, with the configuration of an environment. */
function capture(env: Record<string, string> = {}): { logger: AppLogger; lines: () => Record<string, unknown>[]; text: () => string } {
  const written: string[] = [];
  const config = loadConfig({ NIIX_DATA_DIR: '/tmp/niix-logger-spec', ...env });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const logger = AppLogger.create(config, { destination });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>), text: () => written.join('') };
}

describe(AppLogger.name, () => {
  afterEach(() => Logger.overrideLogger(false));

  it('writes JSON lines with level, ISO time, message, context and the request context', () => {
    const { logger, lines } = capture();
    withLogContext({ requestId: 'req-7' }, () => {
      annotateLogContext({ scanId: '5b0c2a52-8d0e-4f55-8f3a-2d8f1a7a0001' });
      logger.log('scan received', 'IngestService');
    });
    logger.warn('outside any request');
    const [inside, outside] = lines();
    expect(inside).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      pid: process.pid,
      hostname: expect.any(String),
      requestId: 'req-7',
      scanId: '5b0c2a52-8d0e-4f55-8f3a-2d8f1a7a0001',
      context: 'IngestService',
      msg: 'scan received',
    });
    expect(outside).toMatchObject({ level: 'warn', msg: 'outside any request' });
    expect(outside).not.toHaveProperty('requestId');
  });

  it("takes Nest's Logger: new Logger(X.name) keeps its context, errors keep their stack", () => {
    const { logger, lines } = capture();
    Logger.overrideLogger(logger);
    new Logger('PipelineService').log('converted');
    new Logger('ApiErrorFilter').error('boom', 'Error: boom\n    at here');
    new Logger('JobRunner').error('no stack');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', context: 'PipelineService', msg: 'converted' }),
      expect.objectContaining({ level: 'error', context: 'ApiErrorFilter', msg: 'boom', stack: 'Error: boom\n    at here' }),
      expect.objectContaining({ level: 'error', context: 'JobRunner', msg: 'no stack' }),
    ]);
    expect(lines()[2]).not.toHaveProperty('stack');
  });

  it('applies NIIX_LOG_LEVEL: below it nothing is written; verbose is trace', () => {
    const warnOnly = capture({ NIIX_LOG_LEVEL: 'warn' });
    warnOnly.logger.log('dropped');
    warnOnly.logger.debug('dropped');
    warnOnly.logger.error('kept');
    expect(warnOnly.lines().map((line) => line.msg)).toEqual(['kept']);
    const everything = capture({ NIIX_LOG_LEVEL: 'verbose' });
    everything.logger.verbose('fine detail');
    expect(everything.lines()).toEqual([expect.objectContaining({ level: 'trace', msg: 'fine detail' })]);
  });

  it('never writes a secret: redacted fields, niix tokens, URL passwords and the configuration secrets', () => {
    const env = {
      NIIX_ADMIN_PASSWORD: 'first-admin-password-1',
      NIIX_METRICS_TOKEN: 'metrics-token-0123456789',
      DATABASE_URL: 'postgres://niix:db-password-42@db.example:5432/niix',
      REDIS_URL: 'redis://:redis-password-7@cache.example:6379',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY: 'niix',
      S3_SECRET_KEY: 's3-secret-key-abcdef',
      S3_BUCKET: 'niix-scans',
    };
    const { logger, text } = capture(env);
    const apiKey = 'niixs_Q2hhbmdlIG1lIHBsZWFzZSwgSSBhbSBhIGtleQ';
    logger.log({ password: 'object-password', station: { apiKey, webhookSecret: 'niixw_secretsecretsecret' }, headers: { authorization: 'Bearer x' } });
    logger.warn(`callback https://lane:basic-auth-pw@lane.example/hook failed; key ${apiKey}; session niixu_abcdefghijklmnopqrstuvwxyz`);
    logger.error(`connect to ${env.DATABASE_URL} and ${env.REDIS_URL} failed`);
    logger.log(`values ${env.NIIX_ADMIN_PASSWORD} ${env.NIIX_METRICS_TOKEN} ${env.S3_SECRET_KEY} "quoted-${env.S3_SECRET_KEY}"`);
    const written = text();
    for (const secret of ['object-password', apiKey, 'niixw_secretsecretsecret', 'Bearer x', 'basic-auth-pw', 'abcdefghijklmnopqrstuvwxyz', 'db-password-42', 'redis-password-7', env.NIIX_ADMIN_PASSWORD, env.NIIX_METRICS_TOKEN, env.S3_SECRET_KEY]) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain('niixs_[redacted]');
    expect(written).toContain('postgres://niix:[redacted]@db.example:5432/niix');
    // what is not secret stays readable
    expect(written).toContain('lane.example/hook');
  });

  it('writes readable lines with NIIX_LOG_FORMAT=pretty', () => {
    const { logger, text } = capture({ NIIX_LOG_FORMAT: 'pretty' });
    withLogContext({ requestId: 'req-9' }, () => logger.log('listening', 'niix'));
    expect(text()).toMatch(/INFO.*\[niix\] listening/);
    expect(text()).toContain('requestId: "req-9"');
    expect(() => JSON.parse(text())).toThrow();
  });
});

describe(SecretScrubber.name, () => {
  it('replaces short configuration secrets only in the start failure line, not in running text', () => {
    const config = loadConfig({ NIIX_DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://niix:niix@postgres:5432/niix' }) as AppConfig;
    // a four-letter password would eat every "niix" of every line; the URL form is still caught
    expect(SecretScrubber.forConfig(config).scrub('niix listening; postgres://niix:niix@postgres:5432/niix')).toBe('niix listening; postgres://niix:[redacted]@postgres:5432/niix');
  });
});

describe('startFailureMessage', () => {
  it.each([
    ['NIIX_METRICS_TOKEN', 'too-short-tok'],
    ['NIIX_ADMIN_PASSWORD', 'short'],
    ['DATABASE_URL', 'mysql://niix:my-sql-password@db:3306/niix'],
    ['REDIS_URL', 'http://:redis-pw-1@cache:6379'],
  ])('names the refused variable %s without echoing its secret', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    const secret = name.endsWith('_URL') ? /:([^:@/]+)@/.exec(value)![1] : value;
    expect(String((error as Error).message)).toContain(secret); // the configuration's own message echoes it
    const line = startFailureMessage(error, { [name]: value });
    expect(line).toContain(name);
    expect(line).not.toContain(secret);
  });
});
