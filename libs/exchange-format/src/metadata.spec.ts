import { conveyanceFromMetadata, MetadataError, parseScanMetadata } from './metadata.js';

function errorOf(json: unknown): MetadataError {
  try {
    parseScanMetadata(json);
  } catch (error) {
    if (error instanceof MetadataError) return error;
    throw error;
  }
  throw new Error('parseScanMetadata accepted the input');
}

describe('parseScanMetadata', () => {
  it('accepts a full metadata document and trims its text', () => {
    const meta = parseScanMetadata({
      declarations: [' 26LV000000001234A1 '],
      containers: ['MSKU 907032-3'],
      licencePlates: ['LV-AB-1234'],
      riskScore: 72.5,
      reference: 'T1-0042',
      declaredGoods: 'frozen fish',
      fields: { lane: 3, escorted: false, seal: 'ABC123', note: null },
    });
    expect(meta.declarations).toEqual(['26LV000000001234A1']);
    expect(meta.fields).toEqual({ lane: 3, escorted: false, seal: 'ABC123', note: null });
  });

  it('takes JSON text as a multipart field carries it, and no metadata as empty', () => {
    expect(parseScanMetadata('{"riskScore": 10}')).toEqual({ riskScore: 10 });
    expect(parseScanMetadata(undefined)).toEqual({});
    expect(parseScanMetadata('  ')).toEqual({});
    expect(errorOf('{"riskScore": ').message).toMatch(/^metadata is not valid JSON/);
  });

  it('rejects unknown top-level keys, naming them and the allowed ones', () => {
    const error = errorOf({ container: ['CSQU3054383'] });
    expect(error.field).toBe('container');
    expect(error.message).toContain('unknown field "container"');
    expect(error.message).toContain('allowed: declarations, containers');
  });

  it('names the wrong field in a sentence', () => {
    expect(errorOf({ riskScore: 101 })).toMatchObject({ field: 'riskScore', message: 'metadata field "riskScore" must be between 0 and 100' });
    expect(errorOf({ riskScore: '7' }).message).toBe('metadata field "riskScore" must be a number');
    expect(errorOf({ containers: 'CSQU3054383' }).message).toBe('metadata field "containers" must be a list');
    expect(errorOf({ containers: ['CSQU3054383', 'x'.repeat(201)] })).toMatchObject({
      field: 'containers[1]',
      message: 'metadata field "containers[1]" must have at most 200 characters',
    });
    expect(errorOf({ licencePlates: Array.from({ length: 51 }, (_, i) => `P${i}`) }).message).toContain('at most 50 entries');
    expect(errorOf({ fields: { seal: { nested: true } } }).field).toBe('fields.seal');
    expect(errorOf({ fields: { ['k'.repeat(65)]: 1 } }).message).toMatch(/^metadata field "fields.k+" must have a name of at most 64/);
    expect(errorOf([1, 2]).message).toBe('metadata must be a JSON object');
  });

  it('refuses text niix cannot store (NUL, lone surrogates) anywhere, keys included, before the schema', () => {
    expect(errorOf({ containers: ['ok', 'CSQU\u00003054383'] })).toMatchObject({
      code: 'invalid_text',
      field: 'containers[1]',
      message: expect.stringMatching(/^metadata field "containers\[1\]" has a NUL character \(U\+0000\) at position 4;/),
    });
    expect(errorOf({ fields: { ['lane\ud800']: 1 } })).toMatchObject({ code: 'invalid_text', field: 'fields', message: expect.stringContaining('"fields" has a key that has a lone surrogate (U+D800)') });
    expect(errorOf({ ['\u0000']: 1 })).toMatchObject({ code: 'invalid_text', field: null, message: expect.stringMatching(/^metadata has a field name that has a NUL/) });
    expect(errorOf('{"reference": "\\udc00' + 'x'.repeat(300) + '"}')).toMatchObject({ code: 'invalid_text', field: 'reference' });
    expect(errorOf({ riskScore: 500 }).code).toBe('invalid_metadata');
  });

  it('refuses a free field named __proto__ (zod would drop it silently)', () => {
    expect(errorOf(JSON.parse('{"fields": {"lane": 2, "__proto__": "x"}}'))).toMatchObject({
      code: 'invalid_metadata',
      field: 'fields.__proto__',
      message: 'metadata field "fields.__proto__" must not be named "__proto__"',
    });
    expect(parseScanMetadata({ fields: { constructor: 'c', toString: 1 } }).fields).toEqual({ constructor: 'c', toString: 1 });
  });

  it('counts characters as code points and keeps decimals', () => {
    expect(parseScanMetadata({ reference: '\u{1f600}'.repeat(200), riskScore: 0.44 })).toEqual({ reference: '\u{1f600}'.repeat(200), riskScore: 0.44 });
    expect(errorOf({ reference: '\u{1f600}'.repeat(201) }).field).toBe('reference');
  });

  it('limits fields to 100 keys', () => {
    const fields = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, i]));
    expect(errorOf({ fields }).message).toBe('metadata field "fields" must have at most 100 fields');
  });
});

describe('conveyanceFromMetadata', () => {
  it('normalises, checks container digits, merges the facts of the files and removes duplicates', () => {
    const conveyance = conveyanceFromMetadata(
      {
        containers: ['msku 907032-3', 'CSQU3054384', 'TRAILER 12'],
        licencePlates: ['lv ab-1234'],
        declarations: ['26LV000000001234A1'],
        riskScore: 72,
        reference: 'T1-0042',
        fields: { lane: 3, seal: 'station' },
      },
      {
        containers: [{ number: 'MSKU9070323', checkDigitValid: false }, { number: 'CSQU 305438 3', checkDigitValid: null }],
        licencePlates: ['LVAB1234', 'EE 123 ABC'],
        declarations: ['26lv000000001234a1'],
        fields: { seal: 'file', operator: 'J. Ozola' },
      },
    );
    expect(conveyance).toEqual({
      containers: [
        { number: 'MSKU9070323', checkDigitValid: true },
        { number: 'CSQU3054384', checkDigitValid: false },
        { number: 'TRAILER 12', checkDigitValid: null },
        { number: 'CSQU3054383', checkDigitValid: true },
      ],
      licencePlates: ['LVAB1234', 'EE123ABC'],
      declarations: ['26LV000000001234A1'],
      fields: { seal: 'station', operator: 'J. Ozola', lane: 3, riskScore: 72, reference: 'T1-0042' },
    });
  });

  it('gives an empty conveyance for no metadata', () => {
    expect(conveyanceFromMetadata({})).toEqual({ containers: [], licencePlates: [], declarations: [], fields: {} });
  });
});
