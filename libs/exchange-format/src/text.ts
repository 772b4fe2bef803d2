/**
 * Text niix can store. Every string a client sends (JSON bodies, upload metadata, file names) is checked with
 * `findUnstorableText` before anything else looks at it, so that one rule holds for the whole API:
 *
 * - no NUL character (U+0000): PostgreSQL can store it neither in `text` nor in `jsonb`;
 * - no lone surrogate (a UTF-16 half, U+D800..U+DFFF, without its other half): it is not a character and has no
 *   UTF-8 form, so `jsonb` refuses it and `text` would silently turn it into U+FFFD.
 *
 * Everything else is kept as sent: any other control character, any plane (emoji and other astral characters),
 * noncharacters such as U+FFFF.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored: what it holds and where (UTF-16 index), or null when it is fine. */
export interface UnstorableCharacter {
  /** `a NUL character (U+0000)` or `a lone surrogate (U+D83D)`. */
  what: string;
  /** Index of the character in the string (UTF-16 code units, as JavaScript counts). */
  index: number;
}

export function unstorableCharacter(text: string): UnstorableCharacter | null {
  const nul = text.indexOf('\u0000');
  const lone = LONE_SURROGATE.exec(text)?.index ?? -1;
  if (nul === -1 && lone === -1) return null;
  if (nul !== -1 && (lone === -1 || nul < lone)) return { what: 'a NUL character (U+0000)', index: nul };
  return { what: `a lone surrogate (U+${text.charCodeAt(lone).toString(16).toUpperCase()})`, index: lone };
}

/** Where in a JSON value the first unstorable string is: the path of the value, or of the object whose key it is. */
export interface UnstorableText extends UnstorableCharacter {
  path: (string | number)[];
  /** True when the key (the name of a property at `path`) holds it, not a value. */
  inKey: boolean;
}

/** The first string (object key or value, at any depth) that niix cannot store, or null. */
export function findUnstorableText(value: unknown, path: (string | number)[] = []): UnstorableText | null {
  if (typeof value === 'string') {
    const found = unstorableCharacter(value);
    return found && { ...found, path, inKey: false };
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableText(item, [...path, index]);
      if (found) return found;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const inKey = unstorableCharacter(key);
      if (inKey) return { ...inKey, path, inKey: true };
      const found = findUnstorableText(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** The end of a sentence about unstorable text: `has a NUL character (U+0000) at position 3; ...`. */
export function unstorableTextReason(found: UnstorableCharacter): string {
  return `has ${found.what} at position ${found.index}; niix stores only well-formed Unicode text without NUL characters`;
}
