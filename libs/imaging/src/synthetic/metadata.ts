import { iso6346CheckDigit } from '../../../exchange-format/src/iso6346.js';
import type { Prng } from './prng.js';

const OWNERS = ['MSK', 'MSC', 'CMA', 'HLX', 'TGH', 'TCL', 'OOL', 'CSQ', 'EMC', 'SEG', 'TRH', 'BMO'];
const LETTERS = 'ABCDEFGHJKLMNPRSTUVXYZ';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function letters(rng: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[rng.int(0, LETTERS.length - 1)];
  return s;
}

function digits(rng: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

/** An ISO 6346 container number with a valid check digit, e.g. `MSCU4826153`. */
export function containerNumber(rng: Prng): string {
  const firstTen = `${rng.pick(OWNERS)}U${digits(rng, 6)}`;
  return `${firstTen}${iso6346CheckDigit(firstTen)}`;
}

/** A plate in one of the Baltic / Polish / Finnish formats: LT `ABC 123`, LV `AB-1234`, EE `123 ABC`, PL `WX 12345`, FI `ABC-123`. */
export function licencePlate(rng: Prng, trailer = false): string {
  switch (rng.int(0, 4)) {
    case 0:
      return trailer ? `${letters(rng, 2)} ${digits(rng, 3)}` : `${letters(rng, 3)} ${digits(rng, 3)}`;
    case 1:
      return `${letters(rng, 2)}-${digits(rng, 4)}`;
    case 2:
      return trailer ? `${digits(rng, 3)} ${letters(rng, 2)}` : `${digits(rng, 3)} ${letters(rng, 3)}`;
    case 3:
      return `${rng.pick(['WX', 'WI', 'BI', 'GD', 'PO'])} ${digits(rng, 5)}`;
    default:
      return `${letters(rng, 3)}-${digits(rng, 3)}`;
  }
}

/** A movement reference number shaped like an EU MRN: year, country, 13 characters, procedure letter: 18 characters. */
export function declarationReference(rng: Prng, year: number): string {
  let body = '';
  for (let i = 0; i < 13; i++) body += ALNUM[rng.int(0, ALNUM.length - 1)];
  return `${String(year % 100).padStart(2, '0')}${rng.pick(['LT', 'LV', 'EE', 'PL', 'FI'])}${body}${rng.pick(['A', 'B', 'J', 'K'])}`;
}

/** A timestamp in 2025–2026 with a Baltic UTC offset, e.g. `2026-03-14T09:12:33+02:00`. */
export function acquisitionTime(rng: Prng): { iso: string; year: number } {
  const utc = Date.UTC(2025, 0, 1) + Math.floor(rng.next() * 730 * 86400) * 1000;
  const offsetHours = rng.chance(0.5) ? 2 : 3;
  const local = new Date(utc + offsetHours * 3600_000);
  const iso = `${local.toISOString().slice(0, 19)}+0${offsetHours}:00`;
  return { iso, year: local.getUTCFullYear() };
}

export const SCANNERS = [
  { vendor: 'Nuctech', model: 'MT1213DE', software: 'niix-synthetic 1.0 (Nuctech-like)' },
  { vendor: 'Rapiscan', model: 'Eagle M60', software: 'niix-synthetic 1.0 (Rapiscan-like)' },
  { vendor: 'Smiths Detection', model: 'HCVM', software: 'niix-synthetic 1.0 (Smiths-like)' },
  { vendor: 'Leidos', model: 'VACIS XPL', software: 'niix-synthetic 1.0 (Leidos-like)' },
] as const;
