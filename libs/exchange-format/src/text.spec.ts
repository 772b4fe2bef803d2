import { findUnstorableText, unstorableCharacter } from './text.js';

describe('unstorable text', () => {
  it('finds NUL characters and lone surrogates, and nothing else', () => {
    expect(unstorableCharacter('lane\u00002')).toEqual({ what: 'a NUL character (U+0000)', index: 4 });
    expect(unstorableCharacter('a\ud83d')).toEqual({ what: 'a lone surrogate (U+D83D)', index: 1 });
    expect(unstorableCharacter('\ude00b')).toEqual({ what: 'a lone surrogate (U+DE00)', index: 0 });
    expect(unstorableCharacter('\ud83d\ud83d\ude00')).toEqual({ what: 'a lone surrogate (U+D83D)', index: 0 });
    expect(unstorableCharacter('ab\udc00\u0000')).toEqual({ what: 'a lone surrogate (U+DC00)', index: 2 });
    expect(unstorableCharacter('a\u0000\udc00')).toEqual({ what: 'a NUL character (U+0000)', index: 1 });
    for (const fine of ['', 'plain', '\u{1f600}', '\u0001\u001f\u007f', '\ufffd\uffff\u{10ffff}', 'ﬀ İ ß', '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}']) {
      expect(unstorableCharacter(fine)).toBeNull();
    }
  });

  it('walks JSON values, keys included, and names the first place', () => {
    expect(findUnstorableText({ a: ['ok', { b: 'x\u0000' }] })).toEqual({ what: 'a NUL character (U+0000)', index: 1, path: ['a', 1, 'b'], inKey: false });
    expect(findUnstorableText({ fields: { ['k\ud800']: 1 } })).toEqual({ what: 'a lone surrogate (U+D800)', index: 1, path: ['fields'], inKey: true });
    expect(findUnstorableText('\u0000')).toMatchObject({ path: [], inKey: false });
    expect(findUnstorableText({ a: 1, b: null, c: [true, 2.5, '\u{1f600}'] })).toBeNull();
  });
});
