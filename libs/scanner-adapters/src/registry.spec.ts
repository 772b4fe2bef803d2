import type { Conversion, ScannerAdapter, SniffResult } from './adapter.js';
import { AdapterRegistry } from './registry.js';

/** A fake adapter whose sniff looks at the first byte of the head: a table from byte to verdict. */
function fake(id: string, table: Record<string, SniffResult>): ScannerAdapter {
  return {
    id,
    version: '0',
    description: id,
    sniff: (head) => table[String.fromCharCode(head[0] ?? 0)] ?? null,
    convert: () => Promise.reject(new Error('not used')) as Promise<Conversion>,
  };
}
const file = (name: string, kind: string) => ({ name, head: Buffer.from(kind) });

const tiff = fake('tiff', { T: 'primary', S: 'companion' });
const image = fake('image', { P: 'primary' });
const lenient = fake('lenient', { T: 'primary', P: 'primary', S: 'companion', X: 'companion' });

describe(AdapterRegistry.name, () => {
  it('picks the first adapter that takes every file with at least one primary', () => {
    const registry = new AdapterRegistry([tiff, image, lenient]);
    expect(registry.identify([file('a.tif', 'T'), file('a.json', 'S')])).toEqual({ adapter: tiff });
    expect(registry.identify([file('a.png', 'P')])).toEqual({ adapter: image });
    // image cannot take X; lenient takes both.
    expect(registry.identify([file('a.png', 'P'), file('x', 'X')])).toEqual({ adapter: lenient });
    // Registration order decides between two adapters that both qualify.
    expect(new AdapterRegistry([lenient, tiff]).identify([file('a.tif', 'T')])).toEqual({ adapter: lenient });
  });

  it('names the files no adapter accepts', () => {
    const registry = new AdapterRegistry([tiff, image]);
    expect(registry.identify([file('a.tif', 'T'), file('notes.txt', 'Z'), file('b.doc', 'Q')])).toEqual({
      unrecognised: ['notes.txt', 'b.doc'],
    });
  });

  it('names what the best candidate cannot take when no single adapter takes all', () => {
    const registry = new AdapterRegistry([tiff, image]);
    expect(registry.identify([file('a.tif', 'T'), file('a.json', 'S'), file('b.png', 'P')])).toEqual({ unrecognised: ['b.png'] });
  });

  it('refuses companions without any image', () => {
    const registry = new AdapterRegistry([tiff, image]);
    expect(registry.identify([file('a.json', 'S')])).toEqual({ unrecognised: ['a.json'] });
    expect(registry.identify([])).toEqual({ unrecognised: [] });
  });

  it('treats a throwing sniff as "not mine" and passes at most SNIFF_BYTES', () => {
    const heads: number[] = [];
    const broken: ScannerAdapter = {
      ...fake('broken', {}),
      sniff: (head) => {
        heads.push(head.length);
        throw new Error('boom');
      },
    };
    const registry = new AdapterRegistry([broken, image]);
    expect(registry.identify([{ name: 'big.png', head: Buffer.alloc(10000, 'P') }])).toEqual({ adapter: image });
    expect(heads).toEqual([4096]);
  });

  it('decides per part during upload and lists, gets and refuses duplicate ids', () => {
    const registry = new AdapterRegistry([tiff, image, lenient]);
    expect(registry.identifyOne(Buffer.from('T'), 'a.tif')).toEqual([
      { adapter: tiff, result: 'primary' },
      { adapter: lenient, result: 'primary' },
    ]);
    expect(registry.identifyOne(Buffer.from('Z'), 'z')).toEqual([]);
    expect(registry.list().map((a) => a.id)).toEqual(['tiff', 'image', 'lenient']);
    expect(registry.get('image')).toBe(image);
    expect(registry.get('nope')).toBeUndefined();
    expect(() => new AdapterRegistry([tiff, tiff])).toThrow(/two scanner adapters share the id tiff/);
  });
});
