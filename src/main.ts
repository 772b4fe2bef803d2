import { ConfigError, loadConfig } from './config/config.js';
import { startApp } from './app.js';

/** niix service entry point: configuration from the environment, embedded defaults when nothing is set. */
async function main(): Promise<void> {
  const config = loadConfig();
  await startApp(config);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(`niix: ${message}`);
  process.exit(1);
});
