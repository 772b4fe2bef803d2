import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configVariables, withConfigReference } from '../src/config/config-reference.js';

/**
 * Writes the configuration table of docs/operations.md from the environment schema (src/config/config.ts):
 *
 *   npm run docs:config
 */
const file = path.resolve('docs/operations.md');
const before = readFileSync(file, 'utf8');
const after = withConfigReference(before);
if (after === before) {
  console.log(`docs/operations.md: the configuration reference (${configVariables().length} variables) is up to date`);
} else {
  writeFileSync(file, after);
  console.log(`docs/operations.md: wrote the configuration reference (${configVariables().length} variables)`);
}
