import { CAPPED_EXPONENTIAL, MAX_BACKOFF_MS, backoffStrategy, cappedExponentialDelay } from '../queue/backoff.js';
import { DELIVERY_WINDOW_MS, deliveryAttempts, deliveryWaits } from './delivery-schedule.js';

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

describe('delivery schedule', () => {
  it('doubles from the base and waits at most an hour', () => {
    expect(deliveryWaits(1000, 6)).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(Math.max(...deliveryWaits(1000, 100))).toBe(MAX_BACKOFF_MS);
    expect(cappedExponentialDelay(1000, 1000)).toBe(MAX_BACKOFF_MS);
  });

  it.each([1000, 50, 60_000, MAX_BACKOFF_MS])('with a %i ms base, retries for at least 24 hours and no attempt longer', (base) => {
    const attempts = deliveryAttempts(base);
    expect(sum(deliveryWaits(base, attempts))).toBeGreaterThanOrEqual(DELIVERY_WINDOW_MS);
    expect(sum(deliveryWaits(base, attempts - 1))).toBeLessThan(DELIVERY_WINDOW_MS);
  });

  it('makes 36 attempts with the default 1 s base (about 24 h 8 min)', () => {
    expect(deliveryAttempts(1000)).toBe(36);
    expect(sum(deliveryWaits(1000, 36)) / 3_600_000).toBeCloseTo(24.14, 2);
  });

  it('is the strategy BullMQ workers use for capped-exponential jobs', async () => {
    const job = { opts: { backoff: { type: CAPPED_EXPONENTIAL, delay: 50 } } } as unknown as Parameters<typeof backoffStrategy>[3];
    expect(await backoffStrategy(1, CAPPED_EXPONENTIAL, new Error('x'), job)).toBe(50);
    expect(await backoffStrategy(3, CAPPED_EXPONENTIAL, new Error('x'), job)).toBe(200);
    expect(() => backoffStrategy(1, 'lunar', new Error('x'), job)).toThrow('unknown backoff type lunar');
  });
});
