import path from 'node:path';
import { z } from 'zod';

/** The roles one process can take. `all` (the embedded default) is api + convert + deliver. */
export const PROCESS_ROLES = ['api', 'convert', 'deliver'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

/** The most pixels the image library (sharp, libvips) reads or writes in one image: 16383 x 16383. */
export const MAX_PIXELS_IMAGE_LIBRARY = 16383 * 16383;

const byteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'a size such as 500mb or 2gb')
  .transform((text) => {
    const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(text)!;
    const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b'];
    return Math.round(Number(match[1]) * unit);
  })
  .meta({ allowed: 'a size in `b`, `kb`, `mb` or `gb`, e.g. `500mb`' });

const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((value) => protocols.includes(new URL(value).protocol), `a URL starting with ${protocols.join(' or ')}`)
    .meta({ allowed: `a URL starting with ${protocols.map((protocol) => `\`${protocol}//\``).join(' or ')}` });

/**
 * The environment niix reads. Every variable says what it does (`.describe()`, or `.meta()` with `unset`: what an
 * unset variable without a default means, and `allowed` where the type does not say it): docs/operations.md's
 * configuration table is generated from this schema (`npm run docs:config`).
 */
export const environmentSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port'),
    HOST: z.string().default('0.0.0.0').meta({ description: 'address the HTTP listener binds to', allowed: 'an IP address or host name' }),
    NIIX_DATA_DIR: z
      .string()
      .default('./data')
      .meta({ description: 'embedded PGlite database (`db/`), local objects (`objects/`), private Redis files (`redis/`)', allowed: 'a folder' }),
    NIIX_ROLES: z
      .string()
      .default('all')
      .transform((text) => text.split(',').map((part) => part.trim().toLowerCase()))
      .pipe(z.array(z.enum(['all', ...PROCESS_ROLES])).min(1))
      .meta({
        description: 'what this process does: `api` (HTTP, work pool), `convert` (conversion, renditions, projected threats), `deliver` (webhooks); `all` is all three',
        allowed: `a comma list of ${['all', ...PROCESS_ROLES].map((role) => `\`${role}\``).join(', ')}`,
      }),
    NIIX_ADMIN_PASSWORD: z
      .string()
      .min(8, 'at least 8 characters')
      .optional()
      .meta({ description: 'password of the first `admin` user (read at the first start only)', unset: 'generated, printed once in the log' }),
    NIIX_MAX_UPLOAD: byteSize.prefault('2gb').describe('largest upload (all files of one scan); larger is refused with 413'),
    NIIX_MAX_PIXELS_PER_PLANE: z.coerce
      .number()
      .int()
      .positive()
      .max(MAX_PIXELS_IMAGE_LIBRARY, `at most ${MAX_PIXELS_IMAGE_LIBRARY} (16383 x 16383, the most the image library encodes)`)
      .default(64_000_000)
      .describe('largest plane (width x height), checked from the headers before decoding; larger is refused with 413 too_many_pixels'),
    NIIX_MAX_PIXELS_PER_SCAN: z.coerce
      .number()
      .int()
      .positive()
      .default(64_000_000)
      .describe(
        'largest scan: the pixels of all its planes (every view, every energy, a bundle\'s, a threat item\'s), checked from the headers before decoding; larger is refused with 413 too_many_pixels',
      ),
    NIIX_CONVERT_MEMORY: byteSize
      .prefault('1gb')
      .describe('memory one conversion may take (resident size of its process); beyond it the conversion is stopped and the scan fails with resource_limit'),
    NIIX_PROFILE_DIRS: z
      .string()
      .optional()
      .meta({ description: 'extra folders of raw scanner profiles: a new scanner without code', unset: 'none', allowed: 'folders separated by `:`' }),
    NIIX_CONVERT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1).describe('conversions at once per `convert` process (each uses about one core)'),
    NIIX_RECONCILE_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(30)
      .describe('how often the queues are checked against the database and lost work is put back (after a Redis loss)'),
    NIIX_JOB_LOCK_SECONDS: z.coerce
      .number()
      .int()
      .min(2)
      .max(3600)
      .default(60)
      .describe('how long a job stays taken without its process renewing it: the job of a process that died is taken again after at most this time'),
    NIIX_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log').describe('least severe level that is logged'),
    NIIX_LOG_FORMAT: z.enum(['json', 'pretty']).default('json').describe('JSON lines (for log collectors) or coloured lines for development'),
    NIIX_METRICS_TOKEN: z
      .string()
      .min(16, 'at least 16 characters')
      .optional()
      .meta({ description: 'bearer token that `GET /metrics` requires', unset: '`/metrics` is off (404)' }),
    NIIX_SESSION_HOURS: z.coerce.number().positive().default(12).describe('lifetime of a sign-in, in hours'),
    NIIX_CLAIM_LOCK_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(600)
      .default(30)
      .describe("how long an analyst's claim holds without a heartbeat before the case returns to the pool"),
    NIIX_DELIVERY_BACKOFF_MS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .default(1000)
      .describe('first wait before a failed webhook is retried, in ms; each next wait doubles, at most 1 hour'),
    NIIX_DELIVERY_ATTEMPTS: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .meta({
        description: 'webhook attempts in all before a result is marked undelivered (tests set a few)',
        unset: 'as many as keep retrying for 24 h (36 with the default backoff)',
      }),
    DATABASE_URL: url(['postgres:', 'postgresql:'])
      .optional()
      .meta({ description: 'PostgreSQL, e.g. `postgres://user:pass@host:5432/niix`', unset: 'PGlite in `NIIX_DATA_DIR/db`' }),
    REDIS_URL: url(['redis:', 'rediss:'])
      .optional()
      .meta({ description: 'Redis of the queues, e.g. `redis://host:6379`', unset: 'Redis on 127.0.0.1:6379, else a private `redis-server` in `NIIX_DATA_DIR/redis`' }),
    NIIX_REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('niix')
      .meta({
        description: 'key prefix in Redis; one installation (one database) per prefix: an installation finding the prefix taken by another refuses to start',
        allowed: 'letters, digits, `_`, `-`',
      }),
    S3_ENDPOINT: url(['http:', 'https:'])
      .optional()
      .meta({
        description: 'MinIO or any S3, path-style; set `S3_ENDPOINT`, `S3_ACCESS_KEY`, `S3_SECRET_KEY` and `S3_BUCKET` together or none',
        unset: 'files in `NIIX_DATA_DIR/objects`',
      }),
    S3_ACCESS_KEY: z.string().optional().meta({ description: 'S3 access key', unset: 'none' }),
    S3_SECRET_KEY: z.string().optional().meta({ description: 'S3 secret key', unset: 'none' }),
    S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a valid bucket name')
      .optional()
      .meta({ description: 'bucket of scans and training objects; created when missing', unset: 'none', allowed: 'an S3 bucket name' }),
    S3_REGION: z.string().default('us-east-1').describe('S3 region'),
  })
  .superRefine((env, context) => {
    const s3 = [env.S3_ENDPOINT, env.S3_ACCESS_KEY, env.S3_SECRET_KEY, env.S3_BUCKET];
    if (s3.some(Boolean) && !s3.every(Boolean)) {
      context.addIssue({
        code: 'custom',
        path: ['S3_ENDPOINT'],
        message: 'S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET go together: set all four or none',
      });
    }
  });

/** Every environment variable the configuration reads (deployment files may set only these). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  roles: Set<ProcessRole>;
  adminPassword?: string;
  limits: { maxUploadBytes: number; maxPixelsPerPlane: number; maxPixelsPerScan: number };
  profileDirs: string[];
  convertConcurrency: number;
  /** Resident memory one conversion process may take, in bytes. */
  convertMemoryBytes: number;
  /** How often the queues are reconciled with the database, in ms. */
  reconcileMs: number;
  /** BullMQ lock of a running job, in ms (a dead process's job is taken again after it). */
  jobLockMs: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** JSON lines (the default, for log collectors) or coloured lines for development. */
  logFormat: 'json' | 'pretty';
  /** Bearer token that GET /metrics requires; without it, /metrics is off (404). */
  metricsToken?: string;
  sessionHours: number;
  /** How long a claim holds without a heartbeat, in ms. */
  claimLockMs: number;
  /** Webhook retries: first wait in ms and, when set, the number of attempts (otherwise enough for 24 hours). */
  delivery: { backoffMs: number; attempts?: number };
  database: { kind: 'pglite'; dir: string } | { kind: 'postgres'; url: string };
  redis: { url?: string; prefix: string };
  storage:
    | { kind: 'filesystem'; dir: string }
    | { kind: 's3'; endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string };
}

/** A configuration value that stops start-up; the message is one line naming the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses and checks the environment once; every later read goes through the returned object. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${name}: ${issue.message} (got ${JSON.stringify(env[name] ?? null)})`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.NIIX_DATA_DIR);
  const roles = new Set<ProcessRole>(e.NIIX_ROLES.includes('all') ? PROCESS_ROLES : (e.NIIX_ROLES as ProcessRole[]));
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    roles,
    adminPassword: e.NIIX_ADMIN_PASSWORD,
    limits: { maxUploadBytes: e.NIIX_MAX_UPLOAD, maxPixelsPerPlane: e.NIIX_MAX_PIXELS_PER_PLANE, maxPixelsPerScan: e.NIIX_MAX_PIXELS_PER_SCAN },
    profileDirs: e.NIIX_PROFILE_DIRS ? e.NIIX_PROFILE_DIRS.split(path.delimiter).map((dir) => path.resolve(dir)) : [],
    convertConcurrency: e.NIIX_CONVERT_CONCURRENCY,
    convertMemoryBytes: e.NIIX_CONVERT_MEMORY,
    reconcileMs: e.NIIX_RECONCILE_SECONDS * 1000,
    jobLockMs: e.NIIX_JOB_LOCK_SECONDS * 1000,
    logLevel: e.NIIX_LOG_LEVEL,
    logFormat: e.NIIX_LOG_FORMAT,
    metricsToken: e.NIIX_METRICS_TOKEN,
    sessionHours: e.NIIX_SESSION_HOURS,
    claimLockMs: e.NIIX_CLAIM_LOCK_SECONDS * 1000,
    delivery: { backoffMs: e.NIIX_DELIVERY_BACKOFF_MS, attempts: e.NIIX_DELIVERY_ATTEMPTS },
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'pglite', dir: path.join(dataDir, 'db') },
    redis: { url: e.REDIS_URL, prefix: e.NIIX_REDIS_PREFIX },
    storage: e.S3_ENDPOINT
      ? {
          kind: 's3',
          endpoint: e.S3_ENDPOINT,
          accessKey: e.S3_ACCESS_KEY!,
          secretKey: e.S3_SECRET_KEY!,
          bucket: e.S3_BUCKET!,
          region: e.S3_REGION,
        }
      : { kind: 'filesystem', dir: path.join(dataDir, 'objects') },
  };
}

/** Injection token of the AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** The limits every adapter checks (ConversionLimits), from the configuration. */
export function conversionLimits(config: Pick<AppConfig, 'limits'>): { maxPixelsPerPlane: number; maxPixelsPerScan: number } {
  return { maxPixelsPerPlane: config.limits.maxPixelsPerPlane, maxPixelsPerScan: config.limits.maxPixelsPerScan };
}
