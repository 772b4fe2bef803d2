import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MANIFEST_SCHEMA_ID, manifestJsonSchema, manifestSchema } from './manifest.js';
import { parseManifest } from './package.js';

// Paths from the repository root, where jest runs.
const SCHEMA_FILE = resolve('libs/exchange-format/exchange-manifest.schema.json');
const DOC_FILE = resolve('docs/exchange-format.md');

/** Dotted paths of every property the JSON Schema declares (`views[].planes[].sha256`). */
function propertyPaths(schema: unknown, prefix = ''): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const node = schema as Record<string, unknown>;
  const out: string[] = [];
  if (node.properties && typeof node.properties === 'object') {
    for (const [key, child] of Object.entries(node.properties as Record<string, unknown>)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path, ...propertyPaths(child, path));
    }
  }
  if (node.items) out.push(...propertyPaths(node.items, `${prefix}[]`));
  for (const variant of (node.anyOf as unknown[] | undefined) ?? []) out.push(...propertyPaths(variant, prefix));
  return out;
}

describe('manifest schema', () => {
  it('is published as exchange-manifest.schema.json (UPDATE_SCHEMA=1 rewrites it)', () => {
    const generated = `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(SCHEMA_FILE, generated);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated);
    expect(manifestJsonSchema()).toMatchObject({ $id: MANIFEST_SCHEMA_ID, title: 'niix exchange manifest 1.0' });
  });

  describe('docs/exchange-format.md', () => {
    let doc = '';
    beforeAll(() => {
      doc = readFileSync(DOC_FILE, 'utf8');
    });

    it('has a worked example manifest that is valid', () => {
      const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]) as Record<string, unknown>);
      const example = blocks.find((b) => b.format === 'niix-exchange');
      expect(example).toBeDefined();
      expect(manifestSchema.parse(example)).toEqual(example);
      expect(parseManifest(example)).toEqual(example);
    });

    it('has every manifest field in its field table', () => {
      const paths = [...new Set(propertyPaths(manifestJsonSchema()))];
      const missing = paths.filter((path) => !doc.includes(`| \`${path}\``));
      expect(missing).toEqual([]);
    });
  });
});
