import type { AppConfig } from '../config/config.js';

/** Field paths pino replaces with [Redacted] wherever they appear in a logged object (one level deep, or nested under the usual names). */
export const REDACTED_PATHS = [
  'password',
  'token',
  'apiKey',
  'webhookSecret',
  'secretKey',
  'authorization',
  'cookie',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.webhookSecret',
  '*.secretKey',
  '*.authorization',
  '*.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

export const REDACTED = '[redacted]';

/** The secrets niix makes (session tokens, station API keys, webhook secrets) have a recognisable prefix. */
const NIIX_SECRET = /\b(niix[usw]_)[A-Za-z0-9_-]{8,}/g;
/** Credentials inside a URL: scheme://user:password@host. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*:)[^\s@/"'`]+@/gi;

/**
 * Takes secrets out of text about to be written to the log: the configuration's secrets by value (the admin
 * password, the metrics token, the S3 secret key, the passwords in DATABASE_URL and REDIS_URL), any niix token
 * or key by its prefix, and the password of any URL. A backstop behind "never log a secret": pino's redaction
 * covers structured fields; this covers a secret that slipped into a message.
 */
export class SecretScrubber {
  private readonly values: string[];

  /** `minLength`: known values shorter than this are not replaced in running text (a password "niix" would eat every line). */
  constructor(values: (string | undefined)[], minLength = 8) {
    const forms = new Set<string>();
    for (const value of values) {
      if (!value || value.length < minLength) continue;
      forms.add(value);
      forms.add(JSON.stringify(value).slice(1, -1)); // as it appears inside a JSON line
      try {
        const decoded = decodeURIComponent(value); // a URL's password is given percent-encoded
        if (decoded.length >= minLength) forms.add(decoded);
      } catch {
        // not percent-encoded
      }
    }
    // longest first, so a secret containing another is replaced whole
    this.values = [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
  }

  /** The secrets of a parsed configuration. */
  static forConfig(config: AppConfig): SecretScrubber {
    return new SecretScrubber([
      config.adminPassword,
      config.metricsToken,
      config.storage.kind === 's3' ? config.storage.secretKey : undefined,
      config.database.kind === 'postgres' ? urlPassword(config.database.url) : undefined,
      urlPassword(config.redis.url),
    ]);
  }

  /** The secrets of a raw environment (for the one line printed when the configuration itself is refused): every value counts. */
  static forEnvironment(env: NodeJS.ProcessEnv): SecretScrubber {
    return new SecretScrubber(
      [env.NIIX_ADMIN_PASSWORD, env.NIIX_METRICS_TOKEN, env.S3_SECRET_KEY, urlPassword(env.DATABASE_URL), urlPassword(env.REDIS_URL)],
      1,
    );
  }

  scrub(text: string): string {
    let result = text.replace(URL_CREDENTIALS, `$1${REDACTED}@`).replace(NIIX_SECRET, `$1${REDACTED}`);
    for (const value of this.values) result = result.replaceAll(value, REDACTED);
    return result;
  }
}

function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).password || undefined;
  } catch {
    // not a URL: the configuration refuses it; its text may still hold "user:password@"
    return /:\/\/[^:/@]*:([^@/]+)@/.exec(url)?.[1];
  }
}
