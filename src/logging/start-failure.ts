import { types } from 'node:util';
import { ConfigError } from '../config/config.js';
import { SecretScrubber } from './secret-scrubber.js';

/**
 * The one line printed (on stderr, before any log exists) when start-up fails: a ConfigError's sentence, or the
 * stack of anything else with its causes (a failed query names the refused connection only in its cause), without
 * the secrets of the environment (a refused value is echoed in a ConfigError).
 */
export function startFailureMessage(error: unknown, env: NodeJS.ProcessEnv): string {
  let message = error instanceof ConfigError ? error.message : isError(error) ? (error.stack ?? error.message) : String(error);
  let cause = isError(error) ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    message += `\ncaused by: ${isError(cause) ? cause.message : String(cause)}`;
    cause = isError(cause) ? cause.cause : undefined;
  }
  return SecretScrubber.forEnvironment(env).scrub(message);
}

/** An Error from any realm (a driver's error may not share this module's Error constructor). */
function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}
