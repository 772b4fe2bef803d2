import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { ENERGIES } from '../../../exchange-format/src/manifest.js';

/**
 * The sidecar that travels with 16-bit TIFF planes: one schema, two spellings (JSON and XML, see README.md).
 * The XML spelling is mapped onto the JSON shape, then both are validated by `tiffSidecarSchema`.
 */

const viewIdSchema = z.string().regex(/^(top|side|view-[1-9][0-9]*)$/, 'a view id: top, side or view-N');
const valuesSchema = z.enum(['transmission', 'attenuation']);
/** In the file's own units (0..65535 for 16-bit TIFF, 0..255 for 8-bit), before any conversion. */
const airValueSchema = z.coerce.number().min(0).max(65535);
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional());

export const tiffSidecarPageSchema = z.object({
  /** 0-based page of a multi-page TIFF. */
  index: z.coerce.number().int().nonnegative(),
  energy: z.enum(ENERGIES),
  nominalEnergy: optionalText,
});

export const tiffSidecarFileSchema = z
  .object({
    /** File name exactly as uploaded. */
    name: z.string().min(1),
    view: viewIdSchema,
    /** For a single-page TIFF: its energy. */
    energy: z.enum(ENERGIES).optional(),
    nominalEnergy: optionalText,
    /** For a multi-page TIFF: the energy of each page used (e.g. high on page 0, low on page 1). */
    pages: z.array(tiffSidecarPageSchema).min(1).optional(),
    /** Overrides the sidecar-wide `values` for this file. */
    values: valuesSchema.optional(),
    /** Overrides the sidecar-wide `airValue` for this file. */
    airValue: airValueSchema.optional(),
  })
  .refine((f) => (f.energy === undefined) !== (f.pages === undefined), {
    message: 'give either energy (single-page TIFF) or pages (multi-page TIFF)',
  });

export const tiffSidecarSchema = z
  .object({
    kind: z.literal('tiff-sidecar'),
    version: z.coerce.number().pipe(z.literal(1)),
    scanner: z.object({
      vendor: z.string().min(1),
      model: optionalText,
      software: optionalText,
      /** Scanner id or serial number. */
      serial: optionalText,
    }),
    /** ISO 8601 with an offset (`Z` or `+02:00`). */
    acquiredAt: z.preprocess((v) => (v === '' ? null : v), z.iso.datetime({ offset: true }).nullable().default(null)),
    pixelSpacingMm: z
      .object({ x: z.coerce.number().positive(), y: z.coerce.number().positive() })
      .nullable()
      .default(null),
    /** transmission (higher = more light, the niix convention) or attenuation (converted: full scale - value). */
    values: valuesSchema.default('transmission'),
    airValue: airValueSchema.optional(),
    files: z.array(tiffSidecarFileSchema).min(1),
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    const planes = new Map<string, Set<string>>();
    s.files.forEach((file, i) => {
      if (names.has(file.name)) ctx.addIssue({ code: 'custom', path: ['files', i, 'name'], message: `${file.name} is described twice` });
      names.add(file.name);
      if (file.airValue === undefined && s.airValue === undefined) {
        ctx.addIssue({ code: 'custom', path: ['files', i, 'airValue'], message: `no air value for ${file.name} (give airValue)` });
      }
      const energies = planes.get(file.view) ?? new Set<string>();
      planes.set(file.view, energies);
      const list = file.pages ? file.pages.map((p) => p.energy) : file.energy ? [file.energy] : [];
      for (const energy of list) {
        if (energies.has(energy)) {
          ctx.addIssue({ code: 'custom', path: ['files', i], message: `view ${file.view} has two ${energy} planes` });
        }
        energies.add(energy);
      }
    });
    for (const [view, energies] of planes) {
      if (energies.has('single') && energies.size > 1) {
        ctx.addIssue({ code: 'custom', path: ['files'], message: `view ${view} mixes a single-energy plane with high/low planes` });
      }
    }
  });

export type TiffSidecar = z.output<typeof tiffSidecarSchema>;
export type TiffSidecarInput = z.input<typeof tiffSidecarSchema>;

/** Thrown when a sidecar cannot be read; the message names the field. */
export class TiffSidecarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TiffSidecarError';
  }
}

const JSON_MARKER = /^\uFEFF?\s*\{[\s\S]*"kind"\s*:\s*"tiff-sidecar"/;
const XML_MARKER = /^\uFEFF?\s*(<[\s\S]*)?<TiffSidecar[\s>/]/;

/** Which spelling a text is in, judged from its start (the marker must be within the sniffed bytes). */
export function sidecarSpelling(text: string): 'json' | 'xml' | null {
  if (JSON_MARKER.test(text)) return 'json';
  if (XML_MARKER.test(text)) return 'xml';
  return null;
}

/** Parses either spelling and validates it. */
export function parseTiffSidecar(text: string): TiffSidecar {
  const spelling = sidecarSpelling(text);
  let raw: unknown;
  if (spelling === 'json') {
    try {
      raw = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      throw new TiffSidecarError(`not valid JSON: ${(error as Error).message}`);
    }
  } else if (spelling === 'xml') {
    raw = xmlToSidecarShape(text);
  } else {
    throw new TiffSidecarError('neither a JSON sidecar ("kind": "tiff-sidecar") nor an XML one (<TiffSidecar>)');
  }
  const result = tiffSidecarSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `field "${i.path.length ? i.path.join('.') : '(root)'}": ${i.message}`);
    throw new TiffSidecarError(issues.join('; '));
  }
  return result.data;
}

type XmlNode = Record<string, unknown>;

function xmlToSidecarShape(text: string): unknown {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => name === 'File' || name === 'Page',
  });
  let doc: XmlNode;
  try {
    doc = parser.parse(text, true) as XmlNode;
  } catch (error) {
    throw new TiffSidecarError(`not well-formed XML: ${(error as Error).message}`);
  }
  const root = doc.TiffSidecar as XmlNode | undefined;
  if (!root || typeof root !== 'object') throw new TiffSidecarError('the XML root element must be <TiffSidecar>');
  const files = Array.isArray(root.File) ? (root.File as XmlNode[]) : [];
  return {
    kind: 'tiff-sidecar',
    version: root.version,
    scanner: root.Scanner,
    acquiredAt: root.AcquiredAt,
    pixelSpacingMm: root.PixelSpacingMm,
    values: root.Values,
    airValue: root.AirValue,
    files: files.map((file) => {
      const { Page, ...attributes } = file;
      return Page === undefined ? attributes : { ...attributes, pages: Page };
    }),
  };
}
