import { z } from 'zod';

/**
 * The niix exchange manifest: one JSON document per scan that describes the scanner, the conveyance and
 * every view with its energy planes. Versioned; see docs/exchange-format.md and exchange-manifest.schema.json.
 */
export const EXCHANGE_FORMAT = 'niix-exchange';
export const EXCHANGE_FORMAT_VERSION = '1.0';

/** Energy of one plane: dual-energy scanners give `high` and `low`; others give one `single` plane. */
export const ENERGIES = ['high', 'low', 'single'] as const;
export type Energy = (typeof ENERGIES)[number];

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha-256');

export const planeSchema = z.object({
  energy: z.enum(ENERGIES),
  /** Path of the lossless 16-bit greyscale PNG inside the package, e.g. `views/top/high.png`. */
  path: z.string().min(1),
  sha256: sha256Schema,
  /** Nominal tube energy in keV or MV when the scanner says so. */
  nominalEnergy: z.string().optional(),
});
export type PlaneEntry = z.infer<typeof planeSchema>;

export const viewSchema = z.object({
  /** `top`, `side`, or `view-N` when the scanner does not say. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Physical size of one pixel in millimetres; null when the source does not say. */
  pixelSpacingMm: z.object({ x: z.number().positive(), y: z.number().positive() }).nullable(),
  /** Plane value of unobstructed air (highest transmission) in this view. */
  airValue: z.number().int().min(1).max(65535),
  planes: z.array(planeSchema).min(1).max(3),
});
export type ViewEntry = z.infer<typeof viewSchema>;

export const containerSchema = z.object({
  number: z.string(),
  /** ISO 6346 check digit verdict: true valid, false wrong, null not an ISO 6346 number. */
  checkDigitValid: z.boolean().nullable(),
});

export const conveyanceSchema = z.object({
  containers: z.array(containerSchema).default([]),
  licencePlates: z.array(z.string()).default([]),
  declarations: z.array(z.string()).default([]),
  /** Free fields the station sent (declared goods, risk score, lane, ...). */
  fields: z.record(z.string(), z.unknown()).default({}),
});
export type Conveyance = z.infer<typeof conveyanceSchema>;

export const originalSchema = z.object({
  name: z.string(),
  size: z.number().int().nonnegative(),
  sha256: sha256Schema,
  /** Object key of the unchanged original in storage. */
  object: z.string(),
});

export const manifestSchema = z.object({
  format: z.literal(EXCHANGE_FORMAT),
  version: z.literal(EXCHANGE_FORMAT_VERSION),
  scanId: z.string().min(1),
  stationId: z.string().min(1),
  scanner: z.object({
    vendor: z.string().min(1),
    model: z.string().optional(),
    software: z.string().optional(),
    serial: z.string().optional(),
  }),
  acquiredAt: z.string().datetime({ offset: true }).nullable(),
  conveyance: conveyanceSchema,
  views: z.array(viewSchema).min(1),
  provenance: z.object({
    originals: z.array(originalSchema),
    adapter: z.object({ id: z.string(), version: z.string() }),
    convertedAt: z.string().datetime({ offset: true }),
    warnings: z.array(z.string()),
    /** Set when the package was imported from another centre's bundle. */
    importedFrom: z.object({ scanId: z.string(), stationId: z.string() }).optional(),
  }),
});
export type Manifest = z.infer<typeof manifestSchema>;
