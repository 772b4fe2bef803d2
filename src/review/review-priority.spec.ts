import { reviewPriority, riskBand, scanRisk } from './review-priority.js';

describe('review priority', () => {
  const at = (iso: string) => new Date(iso);

  it('puts a higher risk first whatever the deadline', () => {
    expect(reviewPriority(95, at('2026-11-26T12:00:00Z'))).toBeLessThan(reviewPriority(20, at('2026-11-26T08:00:00Z')));
    expect(reviewPriority(75, at('2026-11-26T12:00:00Z'))).toBeLessThan(reviewPriority(45, at('2026-11-26T08:00:00Z')));
  });

  it('puts the earlier deadline first within a risk band', () => {
    expect(reviewPriority(10, at('2026-11-26T08:02:00Z'))).toBeLessThan(reviewPriority(30, at('2026-11-26T08:10:00Z')));
    expect(reviewPriority(30, at('2026-11-26T08:02:00Z'))).toBe(reviewPriority(30, at('2026-11-26T08:02:00.900Z')));
  });

  it('misorders two deadlines 13 minutes apart for at most 13 minutes in 97 days (the wrap of the deadline steps)', () => {
    const start = Date.UTC(2026, 0, 1);
    let misordered = 0;
    for (let minute = 0; minute < 97 * 24 * 60; minute++) {
      const now = start + minute * 60_000;
      if (reviewPriority(10, new Date(now + 120_000)) >= reviewPriority(10, new Date(now + 900_000))) misordered++;
    }
    expect(misordered).toBeLessThanOrEqual(14);
  });

  it('stays within the range BullMQ accepts', () => {
    for (const risk of [0, 39, 40, 69, 70, 89, 90, 100]) {
      for (let day = 0; day < 30; day++) {
        const priority = reviewPriority(risk, new Date(Date.UTC(2026, 0, 1) + day * 86_400_000 + 12345));
        expect(priority).toBeGreaterThanOrEqual(1);
        expect(priority).toBeLessThanOrEqual(2 ** 21 - 1);
      }
    }
  });

  it('keeps the decimals of a risk score: the band is decided on the exact value and the priority stays an integer', () => {
    expect(scanRisk(0, 0.44)).toBe(0.44);
    expect(scanRisk(0, 89.99)).toBe(89.99);
    expect(scanRisk(20, 0.44)).toBe(20);
    expect(scanRisk(0, 5e-324)).toBe(5e-324);
    expect([39.999, 40, 69.5, 70, 89.99, 90, 0.44].map(riskBand)).toEqual([3, 2, 2, 1, 1, 0, 3]);
    const deadline = at('2026-11-26T08:00:00Z');
    expect(reviewPriority(89.99, deadline)).toBe(reviewPriority(70, deadline));
    expect(reviewPriority(90, deadline)).toBeLessThan(reviewPriority(89.99, deadline));
    for (const risk of [0.44, 39.999, 69.5, 89.99, 99.5]) expect(Number.isInteger(reviewPriority(risk, deadline))).toBe(true);
  });

  it('takes the higher of station and declaration risk, clamped to 0..100', () => {
    expect(scanRisk(20, 85)).toBe(85);
    expect(scanRisk(60, undefined)).toBe(60);
    expect(scanRisk(0, 300)).toBe(100);
    expect(riskBand(100)).toBe(0);
    expect(riskBand(0)).toBe(3);
  });
});
