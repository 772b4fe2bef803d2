import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REFERENCE_COMMAND, REFERENCE_END, REFERENCE_START, configVariables, renderConfigReference, withConfigReference } from './config-reference.js';
import { environmentSchema, loadConfig } from './config.js';

const OPERATIONS = path.resolve(__dirname, '../../docs/operations.md');

describe('the configuration reference', () => {
  it('in docs/operations.md is the one the environment schema generates', () => {
    const committed = readFileSync(OPERATIONS, 'utf8');
    const fresh = withConfigReference(committed);
    if (fresh !== committed) {
      const [a, b] = [committed.split('\n'), fresh.split('\n')];
      const line = a.findIndex((text, index) => text !== b[index]);
      throw new Error(
        `docs/operations.md's configuration table is stale (line ${line + 1} reads ${JSON.stringify(a[line])}, the schema makes ${JSON.stringify(b[line])}): run \`${REFERENCE_COMMAND}\` and commit the result`,
      );
    }
  });

  it('has a row, with a meaning, for every variable of the schema', () => {
    const names = configVariables().map((variable) => variable.name);
    expect(names).toEqual(Object.keys(environmentSchema.shape));
    for (const variable of configVariables()) expect(variable.meaning.length).toBeGreaterThan(5);
  });

  it('shows each default as it would be written in the environment: written out, it changes nothing', () => {
    const defaults = loadConfig({});
    const withDefaults = configVariables().filter((variable) => variable.default !== undefined);
    expect(withDefaults.map((variable) => variable.name)).toEqual(expect.arrayContaining(['PORT', 'NIIX_MAX_UPLOAD', 'NIIX_REDIS_PREFIX']));
    for (const variable of withDefaults) expect([variable.name, loadConfig({ [variable.name]: variable.default })]).toEqual([variable.name, defaults]);
    expect(defaults.limits.maxUploadBytes).toBe(2 * 1024 ** 3);
  });

  it('replaces only what stands between the markers, and says what is missing', () => {
    const document = `# Title\nbefore\n${REFERENCE_START}\nold table\n${REFERENCE_END}\nafter\n`;
    expect(withConfigReference(document, '| new |')).toBe(`# Title\nbefore\n${REFERENCE_START}\n| new |\n${REFERENCE_END}\nafter\n`);
    expect(() => withConfigReference('# no markers')).toThrow(/markers are missing/);
    expect(renderConfigReference().split('\n')[0]).toBe('| variable | default | allowed values | meaning |');
  });
});
