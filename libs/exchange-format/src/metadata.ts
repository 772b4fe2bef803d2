import { z } from 'zod';
import { isValidContainerNumber, normaliseContainerNumber } from './iso6346.js';
import type { Conveyance } from './manifest.js';
import { findUnstorableText, unstorableTextReason } from './text.js';

/**
 * The `metadata` JSON a station sends beside the vendor files of one upload: what was scanned (containers,
 * licence plates, declarations), the risk score of the targeting system, the station's own reference of the scan
 * and free fields. Everything is optional; unknown top-level keys are rejected so that a typo is not lost silently.
 */

export const METADATA_LIMITS = {
  /** Longest text value, in characters. */
  text: 200,
  /** Most entries in one list. */
  list: 50,
  /** Most keys in `fields`. */
  fieldKeys: 100,
  /** Longest key in `fields`. */
  fieldKey: 64,
} as const;

const text = z.string().trim().max(METADATA_LIMITS.text, `must have at most ${METADATA_LIMITS.text} characters`);
const nonEmptyText = text.min(1, 'must not be empty');
const list = z.array(nonEmptyText).max(METADATA_LIMITS.list, `must have at most ${METADATA_LIMITS.list} entries`);

const fieldValue = z.union([text, z.number().finite(), z.boolean(), z.null()], {
  error: 'must be a string, a number, true, false or null',
});

export const scanMetadataSchema = z.strictObject({
  /** Customs declaration references (MRN and the like). */
  declarations: list.optional(),
  /** Freight container numbers, ISO 6346 or not; spaces and dashes allowed. */
  containers: list.optional(),
  licencePlates: list.optional(),
  /** Risk score of the targeting system, 0 (none) to 100 (highest). */
  riskScore: z.number().min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100').optional(),
  /** The station's own id of the scan. */
  reference: nonEmptyText.optional(),
  declaredGoods: text.optional(),
  fields: z
    .preprocess(
      (fields, context) => {
        // zod drops a record key named __proto__ without a word (a JavaScript object cannot hold it as data): refuse it.
        if (typeof fields === 'object' && fields !== null && Object.hasOwn(fields, '__proto__')) {
          context.addIssue({ code: 'custom', message: 'must not be named "__proto__"', path: ['__proto__'], input: fields });
        }
        return fields;
      },
      z
        .record(
          z
            .string()
            .min(1, 'must have a non-empty name')
            .max(METADATA_LIMITS.fieldKey, `must have a name of at most ${METADATA_LIMITS.fieldKey} characters`),
          fieldValue,
        )
        .refine((fields) => Object.keys(fields).length <= METADATA_LIMITS.fieldKeys, {
          message: `must have at most ${METADATA_LIMITS.fieldKeys} fields`,
        }),
    )
    .optional(),
});
export type ScanMetadata = z.infer<typeof scanMetadataSchema>;

export const SCAN_METADATA_KEYS = Object.keys(scanMetadataSchema.shape) as (keyof ScanMetadata)[];

/**
 * The metadata is not acceptable. `field` is the path of the first wrong value (`containers[2]`), or null.
 * `code`: `invalid_text` when a string holds text niix cannot store (see text.ts), else `invalid_metadata`.
 */
export class MetadataError extends Error {
  constructor(
    message: string,
    readonly field: string | null,
    readonly code: 'invalid_metadata' | 'invalid_text' = 'invalid_metadata',
  ) {
    super(message);
    this.name = 'MetadataError';
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function sentence(issue: z.core.$ZodIssue): { field: string | null; message: string } {
  if (issue.code === 'unrecognized_keys') {
    const where = pathText(issue.path);
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    const unknown = issue.keys.length === 1 ? 'an unknown field' : 'unknown fields';
    const allowed = where ? '' : ` (allowed: ${SCAN_METADATA_KEYS.join(', ')}; put anything else in "fields")`;
    const field = where ? `${where}.${issue.keys[0]}` : issue.keys[0];
    return { field, message: `metadata has ${unknown} ${keys}${allowed}` };
  }
  const field = pathText(issue.path);
  if (!field) return { field: null, message: 'metadata must be a JSON object' };
  let detail = issue.message;
  if (issue.code === 'invalid_key' && issue.issues[0]) detail = issue.issues[0].message;
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'array' ? 'a list' : issue.expected === 'record' ? 'an object' : `a ${issue.expected}`;
    detail = `must be ${expected}`;
  }
  return { field, message: `metadata field "${field}" ${detail.startsWith('must') ? detail : `is wrong: ${detail}`}` };
}

/**
 * Parses the metadata of an upload: a parsed JSON value, or the JSON text itself (as a multipart field carries
 * it). `undefined` and empty text mean no metadata. Throws a MetadataError naming the first wrong field; text niix
 * cannot store (a NUL character, a lone surrogate) anywhere in it, keys included, is checked first.
 */
export function parseScanMetadata(json: unknown): ScanMetadata {
  let value = json;
  if (value === undefined) return {};
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      value = JSON.parse(value) as unknown;
    } catch (error) {
      throw new MetadataError(`metadata is not valid JSON: ${(error as Error).message}`, null);
    }
  }
  const unstorable = findUnstorableText(value);
  if (unstorable) {
    const field = pathText(unstorable.path);
    const subject = unstorable.inKey
      ? field
        ? `metadata field "${field}" has a key that`
        : 'metadata has a field name that'
      : field
        ? `metadata field "${field}"`
        : 'metadata';
    throw new MetadataError(`${subject} ${unstorableTextReason(unstorable)}`, field || null, 'invalid_text');
  }
  const result = scanMetadataSchema.safeParse(value);
  if (result.success) return result.data;
  const { field, message } = sentence(result.error.issues[0]);
  throw new MetadataError(message, field);
}

/** Upper case without spaces, dashes or dots: `lv ab-1234` becomes `LVAB1234`. */
export function normaliseLicencePlate(raw: string): string {
  return raw.replace(/[\s.-]/g, '').toUpperCase();
}

function normaliseContainer(raw: string): string {
  // ISO 6346 numbers lose their separators; anything else keeps its spelling apart from case and outer spaces.
  const compact = normaliseContainerNumber(raw);
  return isValidContainerNumber(compact) === null ? raw.trim().toUpperCase().replace(/\s+/g, ' ') : compact;
}

function unique(values: Iterable<string>, key: (value: string) => string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const value of values) {
    const k = key(value);
    if (!k || seen.has(k)) continue;
    seen.add(k);
    out.push(value);
  }
  return out;
}

/**
 * The conveyance of the manifest: the station's metadata first, then the facts the adapter found in the files,
 * normalised and de-duplicated. Container check digits are computed here (a check digit claimed by the files is not
 * trusted). Station fields win over file fields of the same name; `riskScore`, `reference` and `declaredGoods`
 * become fields of those names.
 */
export function conveyanceFromMetadata(meta: ScanMetadata, fromFiles: Partial<Conveyance> = {}): Conveyance {
  const containerNumbers = unique(
    [...(meta.containers ?? []), ...(fromFiles.containers ?? []).map((c) => c.number)].map(normaliseContainer),
    (n) => n,
  );
  const licencePlates = unique(
    [...(meta.licencePlates ?? []), ...(fromFiles.licencePlates ?? [])].map(normaliseLicencePlate),
    (p) => p,
  );
  const declarations = unique(
    [...(meta.declarations ?? []), ...(fromFiles.declarations ?? [])].map((d) => d.trim()),
    (d) => d.toUpperCase(),
  );
  const fields: Record<string, unknown> = { ...(fromFiles.fields ?? {}), ...(meta.fields ?? {}) };
  if (meta.riskScore !== undefined) fields.riskScore = meta.riskScore;
  if (meta.reference !== undefined) fields.reference = meta.reference;
  if (meta.declaredGoods !== undefined) fields.declaredGoods = meta.declaredGoods;
  return {
    containers: containerNumbers.map((number) => ({ number, checkDigitValid: isValidContainerNumber(number) })),
    licencePlates,
    declarations,
    fields,
  };
}
