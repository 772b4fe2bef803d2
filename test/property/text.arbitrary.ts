import fc from 'fast-check';

/**
 * Strings for property tests: the whole of Unicode as clients send it (astral characters, combining marks,
 * control characters, every kind of white space, JSON's special characters), counted the way zod counts
 * lengths (code points), and the text niix refuses (NUL, lone surrogates) kept apart so that a property
 * decides how often it appears.
 */

/** White space that String.prototype.trim (and so zod's `.trim()`) removes. */
export const WHITE_SPACE = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2003', '\u2028', '\u2029', '\u202f', '\u3000', '\ufeff'];

/** Characters that have broken text handling somewhere before. */
const TRICKY = [
  '"', '\\', '/', "'", '`', '%', '<', '>', '&', '{', '}', '[', ']', '.', '-', ':', '$', '?', '#',
  '\u0001', '\u0008', '\u001b', '\u001f', '\u007f', '\u0085', '\u00ad', '\u200b', '\u200d', '\u200e', '\u202e', '\u0301',
  '\ufffd', '\ufffe', '\uffff', '\u{10ffff}', '\u{1f600}', '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}', '\u{1f1ea}\u{1f1ea}',
  'ß', 'ŉ', 'İ', 'ﬀ', 'Σ', 'ǅ', '\u{10400}', '\u{1d11e}', '\u{20000}', '\u{e0041}',
];

/** What niix cannot store: NUL and both halves of surrogate pairs on their own. */
export const UNSTORABLE_CHARACTERS = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00'];

/** One character (one or more code units) that niix stores. */
export const storableUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000') },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...WHITE_SPACE) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
);

/** Length in Unicode code points, as zod 4 counts `min` and `max` of strings (an emoji is one). */
export function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Cuts to at most `max` code points. */
export function fitCodePoints(text: string, max: number): string {
  return codePoints(text) <= max ? text : [...text].slice(0, max).join('');
}

/**
 * Storable text of `minLength` to `maxLength` code points (as zod's min and max count), often right at the limit. With `trimmed`, white space around it never makes it shorter than `minLength` once trimmed.
 */
export function storableText(constraints: { minLength?: number; maxLength: number; trimmed?: boolean }): fc.Arbitrary<string> {
  const { minLength = 0, maxLength, trimmed = false } = constraints;
  const short = fc.string({ unit: storableUnit, minLength: Math.min(minLength, maxLength), maxLength: Math.min(maxLength, 40) });
  const any = fc.string({ unit: storableUnit, minLength: Math.min(minLength, maxLength), maxLength });
  const full = fc.string({ unit: storableUnit, minLength: maxLength, maxLength });
  return fc
    .oneof({ weight: 5, arbitrary: short }, { weight: 2, arbitrary: any }, { weight: 2, arbitrary: full })
    .map((text) => fitCodePoints(text, maxLength))
    .filter((text) => codePoints(trimmed ? text.trim() : text) >= minLength);
}

/** Text with white space around it, as a station may send it (the schema trims it). */
export function padded(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const space = fc.string({ unit: fc.constantFrom(...WHITE_SPACE), maxLength: 4 });
  return fc.tuple(space, text, space).map(([before, middle, after]) => `${before}${middle}${after}`);
}

/** A place in a JSON value: the path to a string value, or to an object one of whose keys is meant. */
export interface TextSlot {
  path: (string | number)[];
  key?: string;
}

/** Every string of a JSON value: values, and the keys of objects. */
export function textSlots(value: unknown, path: (string | number)[] = []): TextSlot[] {
  if (typeof value === 'string') return [{ path }];
  if (Array.isArray(value)) return value.flatMap((item, index) => textSlots(item, [...path, index]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [{ path, key }, ...textSlots(item, [...path, key])]);
  }
  return [];
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}

/** A choice of where to put one unstorable character into a value (applied with `poison`). */
export interface Poison {
  slot: number;
  at: number;
  character: string;
}

export const poisonArbitrary: fc.Arbitrary<Poison> = fc.record({
  slot: fc.nat(),
  at: fc.nat(),
  character: fc.constantFrom(...UNSTORABLE_CHARACTERS),
});

/**
 * A copy of `value` with one unstorable character put into one of its strings (a value or a key); null when the
 * value has no string at all. The poisoned slot is returned to check the error names it.
 */
export function poison(value: unknown, choice: Poison): { value: unknown; slot: TextSlot } | null {
  const slots = textSlots(value);
  if (slots.length === 0) return null;
  const slot = slots[choice.slot % slots.length];
  const copy = structuredClone(value);
  const insert = (text: string) => {
    const at = choice.at % (text.length + 1);
    return `${text.slice(0, at)}${choice.character}${text.slice(at)}`;
  };
  if (slot.path.length === 0 && slot.key === undefined) return { value: insert(copy as string), slot };
  const parent = valueAt(copy, slot.key !== undefined ? slot.path : slot.path.slice(0, -1)) as Record<string | number, unknown>;
  if (slot.key !== undefined) {
    // Rebuild the object to keep the order of its keys, with the renamed key in place.
    const entries = Object.entries(parent);
    for (const key of Object.keys(parent)) delete parent[key];
    const renamed = insert(slot.key);
    for (const [key, item] of entries) parent[key === slot.key ? renamed : key] = item;
    return { value: copy, slot: { path: slot.path, key: renamed } };
  }
  const last = slot.path[slot.path.length - 1];
  parent[last] = insert(parent[last] as string);
  return { value: copy, slot };
}
