import { z } from 'zod';
import { ENERGIES } from '../../../exchange-format/src/manifest.js';
import { SNIFF_BYTES } from '../adapter.js';

/**
 * Declarative description of a raw dual-energy file format. A new raw scanner is added by writing one JSON
 * file of this shape into a profiles folder; no code. Documented field by field in README.md beside this file.
 */

/** Header fields live in the first FIELD_WINDOW bytes of a file (read before the header length is known). */
export const FIELD_WINDOW = 65536;

export const FIELD_TYPES = ['uint8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'float32', 'float64'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const FIELD_SIZES: Record<FieldType, number> = {
  uint8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  uint64: 8,
  float32: 4,
  float64: 8,
};

const endiannessSchema = z.enum(['little', 'big']);

/** A numeric field of the header. `endianness` defaults to the profile's. */
export const headerFieldSchema = z.strictObject({
  offset: z.number().int().nonnegative(),
  type: z.enum(FIELD_TYPES),
  endianness: endiannessSchema.optional(),
});
export type HeaderField = z.infer<typeof headerFieldSchema>;

const viewIdSchema = z.string().regex(/^(top|side|view-[1-9][0-9]*)$/, 'a view id: top, side or view-N');

export const magicSchema = z
  .strictObject({
    offset: z.number().int().nonnegative().default(0),
    ascii: z.string().min(1).optional(),
    hex: z
      .string()
      .regex(/^([0-9a-fA-F]{2})+$/, 'an even number of hex digits')
      .optional(),
  })
  .refine((m) => (m.ascii === undefined) !== (m.hex === undefined), 'give exactly one of ascii or hex');

/** Sample coding of the stored planes. `uint12` is 12 significant bits, low-justified in 16-bit words. */
export const SAMPLE_TYPES = ['uint8', 'uint12', 'uint16', 'float32'] as const;
export type SampleType = (typeof SAMPLE_TYPES)[number];
export const SAMPLE_SIZES: Record<SampleType, number> = { uint8: 1, uint12: 2, uint16: 2, float32: 4 };

export const rawProfileSchema = z
  .strictObject({
    /** Lower-case id; the adapter id is `raw:<id>`. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    /** Bumped whenever the profile changes what convert returns; part of the adapter version. */
    revision: z.number().int().positive().default(1),
    vendor: z.string().min(1),
    model: z.string().min(1),
    description: z.string().optional(),
    /** File name extension the writer uses, e.g. `.axr`. Not used for sniffing. */
    fileExtension: z
      .string()
      .regex(/^\.[A-Za-z0-9]+$/)
      .default('.raw'),
    magic: magicSchema,
    endianness: endiannessSchema,
    /** Header length in bytes: a fixed number, or read from a header field. Pixels start right after it. */
    headerLength: z.union([z.number().int().nonnegative(), headerFieldSchema]),
    /** Image width (pixels along the direction of travel) after orientation: fixed or a header field. */
    width: z.union([z.number().int().positive(), headerFieldSchema]),
    /** Image height (detector pixels) after orientation: fixed or a header field. */
    height: z.union([z.number().int().positive(), headerFieldSchema]),
    sample: z.enum(SAMPLE_TYPES),
    /** For float32 samples: the value of full transmission (air without attenuation). */
    floatFullScale: z.number().positive().default(1),
    /** Energies of the stored planes in file order: ["high","low"], ["low","high"] or one of them alone. */
    planes: z.array(z.enum(ENERGIES)).min(1).max(2),
    /** planar: all of plane 1, then all of plane 2; pixel: the planes' samples alternate pixel by pixel. */
    interleave: z.enum(['planar', 'pixel']).default('planar'),
    orientation: z
      .strictObject({
        /**
         * rows: each stored line is one image row (width samples); columns: each stored line is one detector
         * column (height samples), i.e. the file holds the image transposed, as line scanners write it.
         */
        storage: z.enum(['rows', 'columns']).default('rows'),
        /** Mirror left-right after transposition (e.g. the conveyor runs right to left). */
        flipHorizontal: z.boolean().default(false),
        /** Mirror top-bottom after transposition (e.g. detector pixel 0 is at the bottom). */
        flipVertical: z.boolean().default(false),
      })
      .default({ storage: 'rows', flipHorizontal: false, flipVertical: false }),
    /** transmission: higher = more light; attenuation: linear complement, full scale minus transmission. */
    values: z.enum(['transmission', 'attenuation']),
    /** Air value in stored units (before conversion): fixed, or a header field. */
    air: z.union([z.number().nonnegative(), headerFieldSchema]),
    pixelSpacingMm: z.strictObject({ x: z.number().positive(), y: z.number().positive() }).nullable().default(null),
    /** Acquisition time as unix seconds (UTC) in a header field; 0 means unknown. */
    timestamp: headerFieldSchema.optional(),
    /** View of each file: a fixed id, or a header field whose numeric values map to view ids. */
    view: z
      .union([
        z.strictObject({ fixed: viewIdSchema }),
        z.strictObject({ field: headerFieldSchema, values: z.record(z.string().regex(/^[0-9]+$/), viewIdSchema) }),
      ])
      .optional(),
    /** Scanner id / serial as NUL- or space-padded ASCII in the header. */
    serial: z.strictObject({ offset: z.number().int().nonnegative(), length: z.number().int().positive() }).optional(),
    /** Nominal energy per plane, e.g. { "high": "6MV", "low": "4MV" }. */
    nominalEnergy: z.partialRecord(z.enum(ENERGIES), z.string().min(1)).optional(),
    software: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.planes.length === 2 && !(p.planes.includes('high') && p.planes.includes('low'))) {
      ctx.addIssue({ code: 'custom', path: ['planes'], message: 'two planes must be "high" and "low"' });
    }
    if (p.planes.length === 1 && p.interleave === 'pixel') {
      ctx.addIssue({ code: 'custom', path: ['interleave'], message: '"pixel" interleave needs two planes' });
    }
    const magicLength = magicBytesOf(p.magic).length;
    if (p.magic.offset + magicLength > SNIFF_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['magic'], message: `the magic must lie within the first ${SNIFF_BYTES} bytes` });
    }
    const fixedHeader = typeof p.headerLength === 'number' ? p.headerLength : undefined;
    const fields: [string[], number, number][] = [];
    const addField = (path: string[], field: HeaderField | number | undefined): void => {
      if (field !== undefined && typeof field !== 'number') fields.push([path, field.offset, FIELD_SIZES[field.type]]);
    };
    addField(['headerLength'], p.headerLength);
    addField(['width'], p.width);
    addField(['height'], p.height);
    addField(['air'], p.air);
    addField(['timestamp'], p.timestamp);
    if (p.view && 'field' in p.view) addField(['view', 'field'], p.view.field);
    if (p.serial) fields.push([['serial'], p.serial.offset, p.serial.length]);
    fields.push([['magic'], p.magic.offset, magicLength]);
    for (const [path, offset, size] of fields) {
      const limit = Math.min(fixedHeader ?? FIELD_WINDOW, FIELD_WINDOW);
      if (offset + size > limit) {
        ctx.addIssue({ code: 'custom', path, message: `bytes ${offset}..${offset + size - 1} lie outside the header (${limit} bytes)` });
      }
    }
  });

/** A validated profile, with defaults applied. */
export type RawProfile = z.output<typeof rawProfileSchema>;
/** A profile as written in a JSON file (defaults may be omitted). */
export type RawProfileInput = z.input<typeof rawProfileSchema>;

export function magicBytesOf(magic: { ascii?: string; hex?: string }): Buffer {
  if (magic.ascii !== undefined) return Buffer.from(magic.ascii, 'latin1');
  return Buffer.from(magic.hex ?? '', 'hex');
}
