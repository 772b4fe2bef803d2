import { ConfigError } from '../config/config.js';
import { SecretScrubber } from './secret-scrubber.js';

/**
 * The one line printed (on stderr, before any log exists) when start-up fails: a ConfigError's sentence, or the
 * stack of anything else with its causes (a failed query names the refused connection only in its cause), without
 * the secrets of the environment (a refused value is echoed in a ConfigError).
 */
export function startFailureMessage(error: unknown, env: NodeJS.ProcessEnv): string {
  let message = error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    message += `\ncaused by: ${cause instanceof Error ? cause.message : String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return SecretScrubber.forEnvironment(env).scrub(message);
}
