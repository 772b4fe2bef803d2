import fc from 'fast-check';
import { METADATA_LIMITS } from '../../libs/exchange-format/src/metadata.js';
import { padded, storableText } from './text.arbitrary.js';

/**
 * Station metadata over the whole domain the metadata schema accepts (libs/exchange-format/src/metadata.ts):
 * every key optional, lists from empty to 50 entries, text from one character to the 200 limit (with white space
 * around it that the schema trims), ISO 6346 container numbers with right and wrong check digits and separators,
 * licence plates with spaces, dots and dashes, decimal risk scores from 0 to 100, and free fields with any name of
 * 1 to 64 characters and any string, number, boolean or null.
 */

const LETTER_VALUES: Record<string, number> = {};
// ISO 6346: A=10, skipping multiples of 11.
for (let code = 65, value = 10; code <= 90; code++, value++) {
  if (value % 11 === 0) value++;
  LETTER_VALUES[String.fromCharCode(code)] = value;
}

function checkDigit(owner: string, serial: string): number {
  const characters = `${owner}${serial}`;
  let sum = 0;
  for (let i = 0; i < characters.length; i++) {
    const c = characters[i];
    sum += (/\d/.test(c) ? Number(c) : LETTER_VALUES[c]) * 2 ** i;
  }
  return (sum % 11) % 10;
}

/** Container numbers: valid ISO 6346 (spelt as people write them), a wrong check digit, or anything else. */
const containerNumber: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      owner: fc.stringMatching(/^[A-Z]{3}[UJZ]$/),
      serial: fc.stringMatching(/^\d{6}$/),
      wrong: fc.boolean(),
      lower: fc.boolean(),
      separator: fc.constantFrom('', ' ', '-', ' - '),
    })
    .map(({ owner, serial, wrong, lower, separator }) => {
      const digit = (checkDigit(owner, serial) + (wrong ? 1 : 0)) % 10;
      const text = `${owner}${separator}${serial}${separator}${digit}`;
      return lower ? text.toLowerCase() : text;
    }),
  storableText({ minLength: 1, maxLength: METADATA_LIMITS.text, trimmed: true }),
);

const licencePlate: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-zA-Z]{2,3}[ .-]?\d{3,4}[ .-]?[a-zA-Z]{0,2}$/),
  storableText({ minLength: 1, maxLength: METADATA_LIMITS.text, trimmed: true }),
);

const nonEmptyText = fc.oneof(
  { weight: 4, arbitrary: storableText({ minLength: 1, maxLength: METADATA_LIMITS.text, trimmed: true }) },
  { weight: 1, arbitrary: padded(storableText({ minLength: 1, maxLength: METADATA_LIMITS.text, trimmed: true })) },
);
const anyText = fc.oneof(
  { weight: 4, arbitrary: storableText({ maxLength: METADATA_LIMITS.text }) },
  { weight: 1, arbitrary: padded(storableText({ maxLength: METADATA_LIMITS.text })) },
);

/** A list of up to 50 entries: usually a few, sometimes none, sometimes exactly 50. */
function list(entry: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(entry, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constant<string[]>([]) },
    { weight: 1, arbitrary: fc.array(entry, { minLength: METADATA_LIMITS.list, maxLength: METADATA_LIMITS.list }) },
  );
}

export const riskScore: fc.Arbitrary<number> = fc.oneof(
  fc.double({ min: 0, max: 100, noNaN: true }),
  fc.integer({ min: 0, max: 100 }),
  fc.integer({ min: 0, max: 10_000 }).map((hundredths) => hundredths / 100),
  fc.constantFrom(0, 100, 0.44, 39.999, 40, 69.5, 89.99, 90, 99.999999, 1e-7, 5e-324),
);

/** Names of free fields: any text of 1 to 64 characters, names that look like object internals, the metadata's own keys. */
const fieldName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: storableText({ minLength: 1, maxLength: METADATA_LIMITS.fieldKey }) },
  { weight: 1, arbitrary: fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'riskScore', 'reference', 'declaredGoods', 'lane', ' ', '0', '$ref') },
);

const fieldValue: fc.Arbitrary<string | number | boolean | null> = fc.oneof(
  anyText,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);

/** fast-check's dictionaries sometimes hold a `__proto__` key: the schema refuses that name (see refusedMetadata). */
const withoutProto = (fields: Record<string, unknown>) => !Object.hasOwn(fields, '__proto__');

const fields = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fieldName, fieldValue, { maxKeys: 8 }).filter(withoutProto) },
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.dictionary(fieldName, fieldValue, { minKeys: METADATA_LIMITS.fieldKeys, maxKeys: METADATA_LIMITS.fieldKeys }).filter(withoutProto) },
);

export type MetadataValue = Record<string, unknown>;

/** Metadata the schema accepts. */
export const stationMetadata: fc.Arbitrary<MetadataValue> = fc.record(
  {
    declarations: list(nonEmptyText),
    containers: list(fc.oneof(containerNumber, padded(containerNumber))),
    licencePlates: list(licencePlate),
    riskScore,
    reference: nonEmptyText,
    declaredGoods: anyText,
    fields,
  },
  { requiredKeys: [] },
);

/** Metadata the schema refuses, each kind with the field the error must name (null: the whole document). */
export const refusedMetadata: fc.Arbitrary<{ metadata: unknown; field: string | null }> = fc.oneof(
  fc.constantFrom<unknown>([], 'text', 42, null, true).map((metadata) => ({ metadata, field: null })),
  fc.oneof(fc.double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), fc.double({ min: 100, minExcluded: true, noNaN: true, noDefaultInfinity: true }), fc.constantFrom<unknown>('50', null, true, [])).map((value) => ({ metadata: { riskScore: value }, field: 'riskScore' })),
  fc.constantFrom('declarations', 'containers', 'licencePlates').chain((key) =>
    fc.oneof(
      fc.array(nonEmptyText, { minLength: METADATA_LIMITS.list + 1, maxLength: METADATA_LIMITS.list + 1 }).map((value) => ({ metadata: { [key]: value }, field: key })),
      fc.constantFrom('', ' ', '\u3000\t').map((blank) => ({ metadata: { [key]: ['ok', blank] }, field: `${key}[1]` })),
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).map((c) => ({ metadata: { [key]: [c.repeat(METADATA_LIMITS.text + 1)] }, field: `${key}[0]` })),
      fc.constantFrom<unknown>('one', 3, [1], [null], { a: 1 }).map((value) => ({ metadata: { [key]: value }, field: Array.isArray(value) ? `${key}[0]` : key })),
    ),
  ),
  fc.constantFrom('reference', 'declaredGoods').map((key) => ({ metadata: { [key]: '\u{1f600}'.repeat(METADATA_LIMITS.text + 1) }, field: key })),
  fc.constant({ metadata: { reference: ' \t ' }, field: 'reference' }),
  fc.constant({ metadata: { fields: { ['k'.repeat(METADATA_LIMITS.fieldKey + 1)]: 1 } }, field: `fields.${'k'.repeat(METADATA_LIMITS.fieldKey + 1)}` }),
  fc.constant({ metadata: { fields: { seal: { nested: true } } }, field: 'fields.seal' }),
  fc.constant({ metadata: { fields: { seal: [1] } }, field: 'fields.seal' }),
  fc.constant({ metadata: JSON.parse('{"fields":{"__proto__":"x"}}') as unknown, field: 'fields.__proto__' }),
  fc.constant({ metadata: { fields: Object.fromEntries(Array.from({ length: METADATA_LIMITS.fieldKeys + 1 }, (_, i) => [`f${i}`, i])) }, field: 'fields' }),
  storableText({ minLength: 1, maxLength: 20 })
    .filter((key) => !['declarations', 'containers', 'licencePlates', 'riskScore', 'reference', 'declaredGoods', 'fields'].includes(key))
    .map((key) => ({ metadata: { [key]: 1 }, field: key })),
  fc.constant({ metadata: JSON.parse('{"__proto__":{"riskScore":1}}') as unknown, field: '__proto__' }),
);
