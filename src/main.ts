import { loadConfig } from './config/config.js';
import { startApp } from './app.js';
import { startFailureMessage } from './logging/start-failure.js';

/** niix service entry point: configuration from the environment, embedded defaults when nothing is set. */
async function main(): Promise<void> {
  const config = loadConfig();
  await startApp(config);
}

main().catch((error: unknown) => {
  console.error(`niix: ${startFailureMessage(error, process.env)}`);
  process.exit(1);
});
