import { z } from 'zod';

/** What an analyst decides about a scan. */
export const DECISIONS = ['clear', 'inspect', 'inconclusive'] as const;
export type Decision = (typeof DECISIONS)[number];

/** The controlled list of threat and contraband categories, the one place that names them. */
export const THREAT_CATEGORIES = [
  'weapons',
  'explosives',
  'narcotics',
  'tobacco',
  'alcohol',
  'currency',
  'undeclared_goods',
  'concealment',
  'other',
] as const;
export type ThreatCategory = (typeof THREAT_CATEGORIES)[number];

/** A marked region: a rectangle in the pixel coordinates of one view (origin top-left). */
export const regionSchema = z.object({
  view: z.string().min(1).max(32),
  x: z.number().int().nonnegative(),
  y: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  category: z.enum(THREAT_CATEGORIES),
  note: z.string().max(1000).default(''),
});
export type Region = z.infer<typeof regionSchema>;

/** A final verdict as it leaves niix (to the station, into a DICOS TDR, into a bundle). */
export interface VerdictRecord {
  scanId: string;
  decision: Decision;
  regions: Region[];
  comment: string;
  decidedAt: string;
  /** Analysts who decided, first opinion first (two with four-eyes review). */
  analysts: string[];
}
