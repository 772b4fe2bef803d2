import { z } from 'zod';
import { refusal } from '../../test/builders.js';
import { parseBody } from './zod-body.js';

describe('parseBody', () => {
  const schema = z.object({ note: z.string().default(''), regions: z.array(z.object({ note: z.string() })).default([]) });
  const parse = async (body: unknown) => parseBody(schema, body);

  it('parses a body, and no body as {}', async () => {
    expect(await parse({ note: 'x \u{1f600}' })).toEqual({ note: 'x \u{1f600}', regions: [] });
    expect(await parse(undefined)).toEqual({ note: '', regions: [] });
  });

  it('refuses a JSON null body like any other value the schema refuses', async () => {
    expect(await refusal(parse(null))).toMatchObject({ status: 400, code: 'invalid_body' });
  });

  it('refuses text niix cannot store with 422 invalid_text naming where, before the schema and whatever the schema says', async () => {
    expect(await refusal(parse({ regions: [{ note: 'a\u0000' }] }))).toEqual({
      status: 422,
      code: 'invalid_text',
      message: 'regions.0.note has a NUL character (U+0000) at position 1; niix stores only well-formed Unicode text without NUL characters',
    });
    expect(await refusal(parse({ note: 42, ['x\ud800']: 1 }))).toMatchObject({ code: 'invalid_text', message: expect.stringMatching(/^a key of the body has a lone surrogate \(U\+D800\)/) });
    expect(await refusal(parse({ regions: [{ ['\udfff']: 1 }] }))).toMatchObject({ code: 'invalid_text', message: expect.stringMatching(/^a key of regions\.0 has/) });
    expect(await refusal(parse('\u0000'))).toMatchObject({ code: 'invalid_text', message: expect.stringMatching(/^the body has a NUL/) });
  });

  it('names the first wrong field of a body the schema refuses', async () => {
    expect(await refusal(parse({ regions: [{ note: 1 }] }))).toMatchObject({ status: 400, code: 'invalid_body', message: expect.stringMatching(/^regions\.0\.note: /) });
  });
});
