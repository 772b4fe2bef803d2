import { ApiError } from '../src/common/api-error.js';
import type { ResultRow } from '../src/results/result-body.js';
import type { ScanRow } from '../src/scans/scan.repository.js';

/** A scan row as the repository returns it; tests override what they care about. */
export function scanRow(overrides: Partial<ScanRow> & Pick<ScanRow, 'id' | 'stationId'>): ScanRow {
  return {
    status: 'received',
    purpose: 'live',
    idempotencyKey: null,
    contentSha256: 'c'.repeat(64),
    metadata: {},
    adapterId: 'stub',
    manifest: null,
    failureCode: null,
    failureMessage: null,
    receivedAt: new Date('2025-03-01T10:00:00Z'),
    convertingAt: null,
    queuedAt: null,
    failedAt: null,
    riskScore: 0,
    pool: 'central',
    slaDeadline: null,
    claimedAt: null,
    decidedAt: null,
    deliveredAt: null,
    ...overrides,
  };
}

/** The status, code and sentence of the ApiError a promise rejects with (fails when it resolves). */
export async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const error = await promise.then(
    () => new Error('expected a refusal, the call succeeded'),
    (reason: unknown) => reason,
  );
  if (!(error instanceof ApiError)) throw error;
  const body = error.getResponse() as { error: { message: string } };
  return { status: error.getStatus(), code: error.code, message: body.error.message };
}

/** A result row as the repository returns it, not yet acked, delivered or given up. */
export function resultRow(overrides: Partial<ResultRow> & Pick<ResultRow, 'id' | 'stationId' | 'scanId' | 'body' | 'createdAt'>): ResultRow {
  return {
    kind: 'verdict',
    ackedAt: null,
    deliveredAt: null,
    deliveryAttempts: 0,
    lastDeliveryError: null,
    undeliveredAt: null,
    ...overrides,
  };
}

/** A small dual-energy threat item image: air around a dense block (high, low and its mask). */
export function itemPlanes(width: number, height: number): { high: Uint16Array; low: Uint16Array; mask: Uint8Array } {
  const high = new Uint16Array(width * height).fill(60_000);
  const low = new Uint16Array(width * height).fill(60_000);
  const mask = new Uint8Array(width * height);
  for (let y = Math.floor(height / 4); y < Math.ceil((3 * height) / 4); y++) {
    for (let x = Math.floor(width / 4); x < Math.ceil((3 * width) / 4); x++) {
      high[y * width + x] = 24_000;
      low[y * width + x] = 15_000;
      mask[y * width + x] = 255;
    }
  }
  return { high, low, mask };
}
