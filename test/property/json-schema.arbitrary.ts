import fc from 'fast-check';
import { storableText } from './text.arbitrary.js';

/**
 * fast-check arbitraries from JSON Schema (the subset `z.toJSONSchema` writes for niix's request bodies, as the
 * OpenAPI document carries them): values the schema accepts, and values that break it in one place.
 * An unknown keyword fails loudly, so a new kind of schema cannot silently go untested.
 */

export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  description?: string;
}

const KNOWN = new Set<string>([
  'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'minItems', 'maxItems', 'minLength', 'maxLength',
  'pattern', 'format', 'enum', 'const', 'anyOf', 'oneOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'default',
  'description', '$schema',
]);

/** Longest list generated where the schema allows more (a list at its limit is generated too). */
const LIST_CAP = 12;
/** A key the body's schema does not know: zod drops it from objects that are not strict. */
const extraKey = storableText({ minLength: 1, maxLength: 20 });

function checkKeywords(schema: JsonSchema, where: string): void {
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN.has(keyword)) throw new Error(`json-schema.arbitrary: keyword "${keyword}" at ${where || 'the root'} is not supported; teach it`);
  }
}

function integerBetween(min: number, max: number): fc.Arbitrary<number> {
  if (min >= -0x80000000 && max <= 0x7fffffff) return fc.integer({ min, max });
  const whole = fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
  const nearMin = fc.integer({ min: 0, max: 1000 }).map((offset) => Math.min(max, min + offset));
  return fc.oneof(nearMin, whole);
}

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? 300;
  if (schema.format === 'uuid') return fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.uuid().map((id) => id.toUpperCase()) });
  if (schema.format === 'uri') {
    return fc.oneof(
      fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }),
      fc.webUrl({ validSchemes: ['ftp', 'file', 'mailto', 'urn'] }),
    ).filter((url) => url.length >= minLength && url.length <= maxLength);
  }
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(Date.UTC(9999, 0)) }).map((date) => date.toISOString());
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length >= minLength && text.length <= maxLength);
  return storableText({ minLength, maxLength });
}

function numberFor(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  if (integer) {
    const min = schema.exclusiveMinimum !== undefined ? Math.floor(schema.exclusiveMinimum) + 1 : Math.ceil(schema.minimum ?? Number.MIN_SAFE_INTEGER);
    const max = schema.exclusiveMaximum !== undefined ? Math.ceil(schema.exclusiveMaximum) - 1 : Math.floor(schema.maximum ?? Number.MAX_SAFE_INTEGER);
    return integerBetween(min, max);
  }
  const edges = [low, high, 0, 0.44, 1e-7, 5e-324].filter((value): value is number => value !== undefined);
  const inRange = (value: number) =>
    (schema.minimum === undefined || value >= schema.minimum) &&
    (schema.maximum === undefined || value <= schema.maximum) &&
    (schema.exclusiveMinimum === undefined || value > schema.exclusiveMinimum) &&
    (schema.exclusiveMaximum === undefined || value < schema.exclusiveMaximum);
  const double = fc.double({
    min: low,
    max: high,
    minExcluded: schema.exclusiveMinimum !== undefined,
    maxExcluded: schema.exclusiveMaximum !== undefined,
    noNaN: true,
    noDefaultInfinity: true,
  });
  const at = edges.filter(inRange);
  return at.length ? fc.oneof({ weight: 4, arbitrary: double }, { weight: 1, arbitrary: fc.constantFrom(...at) }) : double;
}

/** Values `schema` accepts (as JSON Schema counts; a zod refinement beyond it is the caller's filter). */
export function arbitraryFor(schema: JsonSchema, where = ''): fc.Arbitrary<unknown> {
  checkKeywords(schema, where);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices) return fc.oneof(...choices.map((choice, index) => arbitraryFor(choice, `${where}|${index}`)));
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'string':
      return stringFor(schema);
    case 'array': {
      const item = arbitraryFor(schema.items ?? {}, `${where}[]`);
      const minLength = schema.minItems ?? 0;
      const maxLength = schema.maxItems ?? LIST_CAP;
      const usual = fc.array(item, { minLength, maxLength: Math.max(minLength, Math.min(maxLength, LIST_CAP)) });
      // Lists at their limit too, where the items are plain values (500 nested objects would only make the run slow).
      const scalar = schema.items?.type !== 'object' && schema.items?.type !== 'array';
      return maxLength > LIST_CAP && scalar ? fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: fc.array(item, { minLength: maxLength, maxLength }) }) : usual;
    }
    case 'object': {
      if (!schema.properties) {
        const key = schema.propertyNames ? (arbitraryFor(schema.propertyNames, `${where}{key}`) as fc.Arbitrary<string>) : extraKey;
        const value = typeof schema.additionalProperties === 'object' ? arbitraryFor(schema.additionalProperties, `${where}{}`) : fc.jsonValue();
        return fc.dictionary(key, value, { maxKeys: 6 });
      }
      const properties = Object.fromEntries(Object.entries(schema.properties).map(([name, property]) => [name, arbitraryFor(property, `${where}.${name}`)]));
      const known = fc.record(properties, { requiredKeys: schema.required ?? [] });
      if (schema.additionalProperties === false) return known;
      // Keys the schema does not name are allowed (and dropped by zod): sometimes send one.
      const extra = fc.option(fc.dictionary(extraKey.filter((key) => !(key in properties)), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 2 }), { freq: 5 });
      return fc.tuple(known, extra).map(([value, more]) => ({ ...(more ?? {}), ...value }));
    }
    default:
      if (schema.type === undefined) return fc.jsonValue({ maxDepth: 2 });
      throw new Error(`json-schema.arbitrary: type ${String(schema.type)} at ${where || 'the root'} is not supported`);
  }
}

/** A value of another JSON type than `schema` wants (a string for a number, a list for an object, ...). */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const all: [string, fc.Arbitrary<unknown>][] = [
    ['string', storableText({ maxLength: 10 })],
    ['number', fc.double({ noNaN: true, noDefaultInfinity: true, noInteger: true })],
    ['integer', fc.integer()],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.array(fc.integer(), { maxLength: 2 })],
    ['object', fc.constant({})],
  ];
  const allowed = new Set<string>();
  for (const choice of [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    if (choice.type) allowed.add(choice.type);
    if (choice.type === 'number') allowed.add('integer');
    if (choice.enum) for (const value of choice.enum) allowed.add(value === null ? 'null' : typeof value);
  }
  return fc.oneof(...all.filter(([type]) => !allowed.has(type)).map(([, arbitrary]) => arbitrary));
}

/** Values that break `schema` at its own level: wrong type, out of range, too long, too short, not in the list. */
function breaking(schema: JsonSchema): fc.Arbitrary<unknown> {
  const ways: fc.Arbitrary<unknown>[] = [wrongType(schema)];
  if (schema.enum) ways.push(storableText({ minLength: 1, maxLength: 12 }).filter((text) => !schema.enum!.includes(text)));
  if (schema.type === 'string' && !schema.enum) {
    if (schema.maxLength !== undefined) ways.push(fc.string({ unit: 'grapheme-ascii', minLength: schema.maxLength + 1, maxLength: schema.maxLength + 20 }));
    if (schema.minLength) ways.push(fc.string({ unit: 'grapheme-ascii', maxLength: schema.minLength - 1 }));
    // Twice as likely as a wrong type: a text that misses the pattern or format reaches the schema's own checks.
    if (schema.pattern || schema.format) ways.push(fc.constantFrom('not valid', '', 'xn--', '12:34', 'http://', 'ftp://x'), fc.constantFrom('not valid', '::', 'http//x'));
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const low = schema.minimum ?? schema.exclusiveMinimum;
    const high = schema.maximum ?? schema.exclusiveMaximum;
    if (low !== undefined) ways.push(fc.constantFrom(schema.exclusiveMinimum ?? low - 1, low - 0.5, -1e9).filter((value) => value < low || value === schema.exclusiveMinimum));
    if (high !== undefined) ways.push(fc.constantFrom(schema.exclusiveMaximum ?? high + 1, high + 0.5, 1e300).filter((value) => value > high || value === schema.exclusiveMaximum));
    if (schema.type === 'integer') ways.push(fc.constantFrom(0.5, 1.25, 10.001));
  }
  if (schema.type === 'array') {
    const item = arbitraryFor(schema.items ?? {});
    if (schema.maxItems !== undefined) {
      // One over the limit; for lists of objects the extra items are copies, which keeps a body of 501 objects cheap.
      ways.push(fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => Array.from({ length: schema.maxItems! + 1 }, (_, i) => items[i % items.length])));
    }
    if (schema.minItems) ways.push(fc.constant([]));
  }
  return fc.oneof(...ways);
}

/**
 * A value that breaks `schema` in one place: the whole value, or (for objects and arrays) one property or item,
 * reached through valid surroundings. The caller confirms with the real (zod) schema that it is refused.
 */
export function breakingArbitraryFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  const ways: fc.Arbitrary<unknown>[] = [breaking(schema)];
  if (schema.type === 'object' && schema.properties) {
    const valid = arbitraryFor(schema) as fc.Arbitrary<Record<string, unknown>>;
    const names = Object.keys(schema.properties);
    // Mostly one property broken inside a valid object: every property's own checks get their turn.
    const oneProperty = fc.tuple(valid, fc.constantFrom(...names)).chain(([value, name]) =>
      breakingArbitraryFor(schema.properties![name]).map((broken) => ({ ...value, [name]: broken })),
    );
    ways.push(oneProperty, oneProperty, oneProperty);
    if (schema.required?.length) {
      ways.push(fc.tuple(valid, fc.constantFrom(...schema.required)).map(([value, name]) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== name))));
    }
    if (schema.additionalProperties === false) {
      ways.push(fc.tuple(valid, storableText({ minLength: 1, maxLength: 12 }).filter((key) => !names.includes(key))).map(([value, key]) => ({ ...value, [key]: 1 })));
    }
  }
  if (schema.type === 'array' && schema.items) {
    const item = arbitraryFor(schema.items);
    const maxLength = Math.max(0, Math.min(schema.maxItems ?? 3, 3) - 1);
    ways.push(
      fc
        .tuple(fc.array(item, { minLength: Math.max(0, (schema.minItems ?? 0) - 1), maxLength }), breakingArbitraryFor(schema.items), fc.nat())
        .map(([items, broken, at]) => {
          const copy = [...items];
          copy.splice(at % (copy.length + 1), 0, broken);
          return copy;
        }),
    );
  }
  return fc.oneof(...ways);
}
