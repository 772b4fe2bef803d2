import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GENERATED = path.resolve('libs/station-client/src/openapi.generated.ts');
const CLI = path.resolve('node_modules/openapi-typescript/bin/cli.js');

/** The committed client types must be what openapi-typescript makes of docs/openapi.json now (`npm run api:types`). */
describe('openapi.generated.ts', () => {
  it('matches the generator output for docs/openapi.json', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-api-types-'));
    try {
      const fresh = path.join(dir, 'openapi.generated.ts');
      execFileSync(process.execPath, [CLI, path.resolve('docs/openapi.json'), '-o', fresh], { stdio: 'pipe' });
      const committed = readFileSync(GENERATED, 'utf8');
      if (committed !== readFileSync(fresh, 'utf8')) {
        throw new Error('libs/station-client/src/openapi.generated.ts is out of date with docs/openapi.json: run `npm run api:types`');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
