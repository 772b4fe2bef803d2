/**
 * ISO 6346 freight container numbers: owner code (3 letters), category (U, J or Z), 6-digit serial, check digit.
 */
const LETTER_VALUES: Record<string, number> = (() => {
  const values: Record<string, number> = {};
  let value = 10;
  for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') {
    if (value % 11 === 0) value++; // 11, 22 and 33 are skipped
    values[letter] = value++;
  }
  return values;
})();

const PATTERN = /^([A-Z]{3})([UJZ])(\d{6})(\d)$/;

/** The check digit of the first ten characters (owner, category, serial), or null when they are not of that shape. */
export function iso6346CheckDigit(firstTen: string): number | null {
  const text = firstTen.toUpperCase();
  if (!/^[A-Z]{3}[UJZ]\d{6}$/.test(text)) return null;
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const c = text[i];
    const v = i < 4 ? LETTER_VALUES[c] : Number(c);
    sum += v * 2 ** i;
  }
  return (sum % 11) % 10;
}

/** Spaces and dashes removed, upper case: `MSKU 907032-3` becomes `MSKU9070323`. */
export function normaliseContainerNumber(raw: string): string {
  return raw.replace(/[\s-]/g, '').toUpperCase();
}

/** true when the check digit is right, false when wrong, null when the text is not an ISO 6346 number. */
export function isValidContainerNumber(raw: string): boolean | null {
  const text = normaliseContainerNumber(raw);
  const match = PATTERN.exec(text);
  if (!match) return null;
  return iso6346CheckDigit(text.slice(0, 10)) === Number(match[4]);
}
