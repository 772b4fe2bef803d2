import { z } from 'zod';

/**
 * The niix exchange manifest: one JSON document per scan that describes the scanner, the conveyance and
 * every view with its energy planes. Versioned; see docs/exchange-format.md and exchange-manifest.schema.json
 * (generated from this file by `manifestJsonSchema()`; the descriptions below are published in it).
 */
export const EXCHANGE_FORMAT = 'niix-exchange';
/** Version written by this code. Readers accept any 1.x: minor versions only add optional fields. */
export const EXCHANGE_FORMAT_VERSION = '1.0';
/** Version of packages that use the 1.1 addition (the `training` section of a projected-threat scan). */
export const EXCHANGE_FORMAT_VERSION_TRAINING = '1.1';
/** `$id` of the published JSON Schema of the manifest. */
export const MANIFEST_SCHEMA_ID = 'urn:niix:schema:exchange-manifest:1';

/** Energy of one plane: dual-energy scanners give `high` and `low`; others give one `single` plane. */
export const ENERGIES = ['high', 'low', 'single'] as const;
export type Energy = (typeof ENERGIES)[number];

/** Ids of views: `top`, `side`, or `view-N` when the scanner does not say. */
export const VIEW_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha-256');

export const planeSchema = z.object({
  energy: z.enum(ENERGIES).describe('high and low for dual-energy scanners, single otherwise'),
  path: z
    .string()
    .min(1)
    .describe('Path of the lossless 16-bit greyscale PNG inside the package: views/{viewId}/{energy}.png'),
  sha256: sha256Schema.describe('sha-256 of the PNG file, lower-case hex'),
  nominalEnergy: z.string().optional().describe('Nominal tube energy (e.g. "6 MV", "160 kV") when the scanner says so'),
});
export type PlaneEntry = z.infer<typeof planeSchema>;

export const viewSchema = z.object({
  id: z.string().regex(VIEW_ID_PATTERN).describe('top, side, or view-N when the scanner does not say'),
  width: z.number().int().positive().describe('Width in pixels of every plane of the view'),
  height: z.number().int().positive().describe('Height in pixels of every plane of the view'),
  pixelSpacingMm: z
    .object({ x: z.number().positive(), y: z.number().positive() })
    .nullable()
    .describe('Physical size of one pixel in millimetres; null when the source does not say'),
  airValue: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .describe('Plane value of unobstructed air (highest transmission) in this view'),
  planes: z.array(planeSchema).min(1).max(3).describe('One plane per energy, each energy at most once'),
});
export type ViewEntry = z.infer<typeof viewSchema>;

export const containerSchema = z.object({
  number: z.string().describe('Container number, normalised (no spaces or dashes, upper case)'),
  checkDigitValid: z
    .boolean()
    .nullable()
    .describe('ISO 6346 check digit verdict: true valid, false wrong, null not an ISO 6346 number'),
});

export const conveyanceSchema = z.object({
  containers: z.array(containerSchema).default([]).describe('Freight containers in the scan'),
  licencePlates: z
    .array(z.string())
    .default([])
    .describe('Vehicle licence plates, normalised (upper case, no spaces, dashes or dots)'),
  declarations: z.array(z.string()).default([]).describe('Customs declaration references (MRN, ...)'),
  fields: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Free fields the station sent (riskScore, reference, declaredGoods, lane, ...)'),
});
export type Conveyance = z.infer<typeof conveyanceSchema>;

export const originalSchema = z.object({
  name: z.string().describe('File name as uploaded by the station'),
  size: z.number().int().nonnegative().describe('Size in bytes'),
  sha256: sha256Schema.describe('sha-256 of the file, lower-case hex'),
  object: z.string().describe('Object key of the unchanged original in storage'),
});
export type OriginalEntry = z.infer<typeof originalSchema>;

const isoDateTime = z.iso.datetime({ offset: true });

export const manifestSchema = z.object({
  format: z.literal(EXCHANGE_FORMAT).describe('Always "niix-exchange"'),
  version: z
    .string()
    .regex(/^1\.\d{1,3}$/, 'a 1.x version of the niix exchange format')
    .describe('Format version, major.minor; this document describes 1.0 and readers accept any 1.x'),
  scanId: z.string().min(1).describe('Id of the scan in the centre that made the package'),
  stationId: z.string().min(1).describe('Id of the scanner station that sent the scan'),
  scanner: z
    .object({
      vendor: z.string().min(1),
      model: z.string().optional(),
      software: z.string().optional(),
      serial: z.string().optional(),
    })
    .describe('Scanner as the source files describe it'),
  acquiredAt: isoDateTime.nullable().describe('Acquisition time (ISO 8601 with offset); null when unknown'),
  conveyance: conveyanceSchema.describe('What was scanned: containers, vehicles, declarations, station fields'),
  views: z.array(viewSchema).min(1).describe('Views of the scan (top, side, ...)'),
  provenance: z
    .object({
      originals: z.array(originalSchema).describe('The unchanged files the station uploaded'),
      adapter: z
        .object({ id: z.string(), version: z.string() })
        .describe('Scanner adapter that converted the originals'),
      convertedAt: isoDateTime.describe('When the package was made (ISO 8601 with offset)'),
      warnings: z.array(z.string()).describe('Things a reviewer should know about the conversion'),
      importedFrom: z
        .object({ scanId: z.string(), stationId: z.string() })
        .optional()
        .describe("Set when the package was imported from another centre's bundle: the scan it came from"),
    })
    .describe('Where the package comes from'),
  training: z
    .object({
      purpose: z.literal('training').describe('Made by niix for training; never a live scan'),
      sourceScanId: z.string().describe('The clean archived scan the threats were projected into'),
      projectedThreats: z
        .array(
          z.object({
            threatItemId: z.string(),
            name: z.string(),
            category: z.string(),
            view: z.string(),
            region: z.object({ x: z.number().int(), y: z.number().int(), width: z.number().int(), height: z.number().int() }),
            placement: z.object({ x: z.number(), y: z.number(), scale: z.number(), rotationDeg: z.number() }),
          }),
        )
        .min(1),
    })
    .optional()
    .describe('Since 1.1, only in training scans made by threat image projection (TIP): the projected threats and where they lie'),
});
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * The published JSON Schema (draft 2020-12) of the manifest, as a reader validates it (`io: input`: fields with
 * a default may be left out). Committed as libs/exchange-format/exchange-manifest.schema.json.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: MANIFEST_SCHEMA_ID,
    title: `niix exchange manifest ${EXCHANGE_FORMAT_VERSION}`,
    description:
      'One JSON document per scan (manifest.json) describing the scanner, the conveyance, the views with their ' +
      'lossless 16-bit planes, their sha-256 checksums and the provenance. See docs/exchange-format.md.',
    ...rest,
  };
}
