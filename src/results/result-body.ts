import { z } from 'zod';
import type { results } from '../database/schema.js';

export type ResultRow = typeof results.$inferSelect;
export type ResultKind = ResultRow['kind'];

/** What a station receives for one scan, by pull, stream and webhook alike (the webhook body is this JSON). */
export const resultBody = z
  .object({
    resultId: z.string().describe('increasing id of the result: the cursor for pull (`after`) and stream (`Last-Event-ID`)'),
    scanId: z.string(),
    kind: z.enum(['verdict', 'failure']),
    reference: z.string().nullable().describe("the station's own reference of the scan, from the upload metadata"),
    declarations: z.array(z.string()),
    containers: z.array(z.string()),
    licencePlates: z.array(z.string()),
    decision: z.enum(['clear', 'inspect', 'inconclusive']).optional().describe('verdicts: what the analysts decided'),
    regions: z
      .array(z.object({ view: z.string(), x: z.number(), y: z.number(), width: z.number(), height: z.number(), category: z.string(), note: z.string() }))
      .optional()
      .describe('verdicts: marked regions in pixels of a view'),
    note: z.string().nullable().optional().describe('verdicts: the note for the officers at the station'),
    decidedAt: z.string().optional().describe('verdicts: when the final verdict was given'),
    reviews: z.number().int().optional().describe('verdicts: how many analysts decided (2 with four-eyes review)'),
    failure: z.object({ code: z.string(), message: z.string() }).optional().describe('failures: why the scan could not be processed'),
    createdAt: z.string(),
  })
  .describe('the result of one scan');
export type ResultBody = z.infer<typeof resultBody>;

export const resultPage = z.object({
  results: z.array(resultBody),
  next: z.string().describe('pass as `after` for the next page (the last id of this page, or `after` when it is empty)'),
});

/** The conveyance as the station described it at upload, copied into the result. */
export function conveyanceOf(metadata: unknown): { reference: string | null; declarations: string[]; containers: string[]; licencePlates: string[] } {
  const record = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  return {
    reference: typeof record.reference === 'string' ? record.reference : null,
    declarations: strings(record.declarations),
    containers: strings(record.containers),
    licencePlates: strings(record.licencePlates),
  };
}

/** The station's view of a stored result: ids and times around the body recorded with it. */
export function presentResult(row: ResultRow): ResultBody {
  return {
    resultId: String(row.id),
    scanId: row.scanId,
    kind: row.kind,
    ...(row.body as Omit<ResultBody, 'resultId' | 'scanId' | 'kind' | 'createdAt'>),
    createdAt: row.createdAt.toISOString(),
  };
}
