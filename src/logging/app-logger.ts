import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/config.js';
import { currentLogContext } from './log-context.js';
import { REDACTED_PATHS, SecretScrubber } from './secret-scrubber.js';

/** Nest's levels as pino's (NIIX_LOG_LEVEL uses Nest's words; the lines carry pino's labels). */
const PINO_LEVEL: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

export interface AppLoggerOptions {
  /** Where the lines go: stdout (synchronously, so nothing is lost when the process exits) unless given. */
  destination?: DestinationStream;
}

/**
 * The service's one log: JSON lines through pino (`level`, `time`, `msg`, `context` = the class that logged, the
 * request id, the scan and the job when known), or coloured lines for development (NIIX_LOG_FORMAT=pretty).
 * Nest's Logger is routed here (`new Logger(X.name)` keeps working), so the framework's own lines are JSON too.
 * Secrets are kept out twice: pino redacts the usual field names, and every line passes a SecretScrubber.
 */
export class AppLogger implements LoggerService {
  private constructor(readonly pino: Logger) {}

  static create(config: AppConfig, options: AppLoggerOptions = {}): AppLogger {
    const scrubber = SecretScrubber.forConfig(config);
    const json = config.logFormat === 'json';
    const destination = json
      ? (options.destination ?? pino.destination({ dest: 1, sync: true }))
      : pretty({
          sync: true,
          colorize: options.destination ? false : process.stdout.isTTY,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,context',
          messageFormat: '{if context}[{context}] {end}{msg}',
          ...(options.destination ? { destination: options.destination } : {}),
        });
    const logger = pino(
      {
        level: PINO_LEVEL[config.logLevel],
        timestamp: pino.stdTimeFunctions.isoTime,
        // labels for log collectors; pino-pretty prints its own from the numbers
        ...(json ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        mixin: () => ({ ...currentLogContext() }),
        hooks: { streamWrite: (line: string) => scrubber.scrub(line) },
      },
      destination,
    );
    return new AppLogger(logger);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest's `logger: [levels]` form: the least severe level given becomes the threshold. */
  setLogLevels(levels: LogLevel[]): void {
    const order: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];
    const lowest = order.find((level) => levels.includes(level));
    this.pino.level = lowest ? PINO_LEVEL[lowest] : 'silent';
  }

  /**
   * Nest's calling convention: `(message, ...params, context)` where the Logger instance appends its context; for
   * errors a string before the context is the stack. Anything else given is kept under `details`.
   */
  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    const pinoLevel = PINO_LEVEL[level];
    if (!this.pino.isLevelEnabled(pinoLevel)) return;
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields.context = rest.pop();
    if (level === 'error' || level === 'fatal') {
      const stack = rest.findIndex((param) => typeof param === 'string');
      if (stack >= 0) fields.stack = rest.splice(stack, 1)[0];
    }
    const extra = rest.filter((param) => param !== undefined);
    if (extra.length > 0) fields.details = extra.length === 1 ? extra[0] : extra;
    let text: string;
    if (message instanceof Error) {
      fields.err = message;
      text = message.message;
    } else if (typeof message === 'string') {
      text = message;
    } else {
      fields.details = fields.details === undefined ? message : [message, fields.details];
      text = typeof message === 'object' ? 'details' : String(message);
    }
    this.pino[pinoLevel](fields, text);
  }
}
