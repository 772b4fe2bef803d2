import type { Region, ThreatCategory } from '../../libs/exchange-format/src/verdict.js';
import {
  RELIABLE_THREAT_EVENTS,
  aPrime,
  classifyAnswer,
  correctedRate,
  dPrime,
  inverseNormal,
  regionsOverlap,
  score,
  scoreByCategory,
  toCsv,
  type Answer,
  type AnswerOutcome,
  type CaseTruth,
  type RegionBox,
  type ScoredAnswer,
} from './scoring.js';

/** Standard normal quantiles used below, to 12 digits (tables; checked with mpmath at 40 digits). */
const Z_0_8 = 0.841621233573; // z(0.8) = −z(0.2)
const Z_0_975 = 1.95996398454; // z(0.975) = −z(0.025)
const Z_0_9 = 1.281551565545; // z(0.9) = −z(0.1)
const Z_0_95 = 1.644853626951; // z(0.95) = −z(0.05)

function box(view: string, x: number, y: number, width: number, height: number): RegionBox {
  return { view, x, y, width, height };
}

function region(view: string, x: number, y: number, width: number, height: number, category: ThreatCategory = 'weapons'): Region {
  return { view, x, y, width, height, category, note: '' };
}

/** `count` answers with the same outcome and categories. */
function answers(
  count: number,
  outcome: AnswerOutcome,
  categories: ThreatCategory[] = [],
  durationMs: number | null = null,
): ScoredAnswer[] {
  return Array.from({ length: count }, () => ({ outcome, categories: [...categories], durationMs }));
}

describe('regionsOverlap', () => {
  const a = box('top', 10, 10, 20, 20); // covers x 10..29, y 10..29

  it('is true for a positive intersection in the same view', () => {
    expect(regionsOverlap(a, box('top', 25, 25, 20, 20))).toBe(true); // intersection 5 × 5 = 25 px
  });

  it('is true for a one-pixel intersection', () => {
    expect(regionsOverlap(a, box('top', 29, 29, 5, 5))).toBe(true); // x 29..29, y 29..29: 1 × 1
  });

  it('is true when one region contains the other, in either order', () => {
    expect(regionsOverlap(a, box('top', 15, 15, 2, 2))).toBe(true);
    expect(regionsOverlap(box('top', 15, 15, 2, 2), a)).toBe(true);
  });

  it('is false for regions that only touch along an edge (intersection area 0)', () => {
    expect(regionsOverlap(a, box('top', 30, 10, 5, 20))).toBe(false); // right edge: 10 + 20 = 30 = other x
    expect(regionsOverlap(a, box('top', 0, 10, 10, 20))).toBe(false); // left edge: 0 + 10 = 10 = a.x
    expect(regionsOverlap(a, box('top', 10, 30, 20, 5))).toBe(false); // bottom edge
    expect(regionsOverlap(a, box('top', 10, 0, 20, 10))).toBe(false); // top edge
  });

  it('is false for regions that only touch at a corner', () => {
    expect(regionsOverlap(a, box('top', 30, 30, 5, 5))).toBe(false);
  });

  it('is false for disjoint regions', () => {
    expect(regionsOverlap(a, box('top', 100, 100, 5, 5))).toBe(false);
    expect(regionsOverlap(a, box('top', 15, 100, 5, 5))).toBe(false); // x ranges overlap, y ranges do not
  });

  it('is false for identical rectangles in different views', () => {
    expect(regionsOverlap(a, box('side', 10, 10, 20, 20))).toBe(false);
  });
});

describe('classifyAnswer', () => {
  const threat: CaseTruth = { threat: true, categories: ['weapons'], regions: [region('top', 100, 100, 50, 50)] };
  const threatTwoViews: CaseTruth = {
    threat: true,
    categories: ['narcotics'],
    regions: [region('top', 100, 100, 50, 50, 'narcotics'), region('side', 400, 40, 30, 30, 'narcotics')],
  };
  const unmarkedThreat: CaseTruth = { threat: true, categories: ['currency'], regions: [] };
  const clean: CaseTruth = { threat: false, categories: [], regions: [] };
  const at = (...regions: RegionBox[]): RegionBox[] => regions;

  it('is a hit for inspect with a region overlapping the truth', () => {
    const answer: Answer = { decision: 'inspect', regions: at(box('top', 140, 140, 30, 30)) };
    expect(classifyAnswer(threat, answer)).toBe<AnswerOutcome>('hit');
  });

  it('is a hit when any one answer region overlaps any one truth region', () => {
    const answer: Answer = { decision: 'inspect', regions: at(box('top', 0, 0, 10, 10), box('side', 420, 60, 5, 5)) };
    expect(classifyAnswer(threatTwoViews, answer)).toBe<AnswerOutcome>('hit');
  });

  it('is a miss for inspect without any region when the truth has regions', () => {
    expect(classifyAnswer(threat, { decision: 'inspect', regions: [] })).toBe<AnswerOutcome>('miss');
  });

  it('is a miss for inspect with a region elsewhere in the image', () => {
    expect(classifyAnswer(threat, { decision: 'inspect', regions: at(box('top', 0, 0, 50, 50)) })).toBe<AnswerOutcome>('miss');
  });

  it('is a miss for inspect with a region only touching the truth region', () => {
    // Truth covers x 100..149; the answer starts at x = 150: shared edge, intersection area 0.
    expect(classifyAnswer(threat, { decision: 'inspect', regions: at(box('top', 150, 100, 20, 50)) })).toBe<AnswerOutcome>('miss');
  });

  it('is a miss for inspect with the right rectangle drawn on the wrong view', () => {
    expect(classifyAnswer(threat, { decision: 'inspect', regions: at(box('side', 100, 100, 50, 50)) })).toBe<AnswerOutcome>('miss');
  });

  it('is a miss for clear or inconclusive on a threat case, even with a correct region', () => {
    const regions = at(box('top', 110, 110, 10, 10));
    expect(classifyAnswer(threat, { decision: 'clear', regions })).toBe<AnswerOutcome>('miss');
    expect(classifyAnswer(threat, { decision: 'inconclusive', regions })).toBe<AnswerOutcome>('miss');
  });

  it('is a hit for inspect on a threat case whose truth has no regions, with or without answer regions', () => {
    expect(classifyAnswer(unmarkedThreat, { decision: 'inspect', regions: [] })).toBe<AnswerOutcome>('hit');
    expect(classifyAnswer(unmarkedThreat, { decision: 'inspect', regions: at(box('top', 0, 0, 5, 5)) })).toBe<AnswerOutcome>('hit');
  });

  it('is a miss for clear or inconclusive on a threat case whose truth has no regions', () => {
    expect(classifyAnswer(unmarkedThreat, { decision: 'clear', regions: [] })).toBe<AnswerOutcome>('miss');
    expect(classifyAnswer(unmarkedThreat, { decision: 'inconclusive', regions: [] })).toBe<AnswerOutcome>('miss');
  });

  it('is a correct rejection for clear on a clean case', () => {
    expect(classifyAnswer(clean, { decision: 'clear', regions: [] })).toBe<AnswerOutcome>('correct_rejection');
  });

  it('is a false alarm for inspect or inconclusive on a clean case (both stop the conveyance)', () => {
    expect(classifyAnswer(clean, { decision: 'inspect', regions: at(box('top', 1, 1, 5, 5)) })).toBe<AnswerOutcome>('false_alarm');
    expect(classifyAnswer(clean, { decision: 'inspect', regions: [] })).toBe<AnswerOutcome>('false_alarm');
    expect(classifyAnswer(clean, { decision: 'inconclusive', regions: [] })).toBe<AnswerOutcome>('false_alarm');
  });
});

describe('correctedRate', () => {
  it('leaves rates strictly between 0 and 1 alone', () => {
    expect(correctedRate(3, 30)).toBe(0.1); // 3/30
    expect(correctedRate(8, 10)).toBe(0.8);
  });

  it('moves 0 to 1/(2N) and 1 to 1 − 1/(2N)', () => {
    expect(correctedRate(0, 20)).toBe(0.025); // 1/(2·20) = 1/40
    expect(correctedRate(20, 20)).toBe(0.975); // 1 − 1/40
    expect(correctedRate(0, 1)).toBe(0.5); // 1/(2·1): a single trial says nothing
    expect(correctedRate(1, 1)).toBe(0.5);
  });

  it('refuses impossible counts', () => {
    expect(() => correctedRate(0, 0)).toThrow(RangeError);
    expect(() => correctedRate(1, -1)).toThrow(RangeError);
    expect(() => correctedRate(11, 10)).toThrow(RangeError);
    expect(() => correctedRate(-1, 10)).toThrow(RangeError);
    expect(() => correctedRate(1.5, 10)).toThrow(RangeError);
    expect(() => correctedRate(1, 2.5)).toThrow(RangeError);
    expect(() => correctedRate(Number.NaN, 10)).toThrow(RangeError);
  });
});

describe('inverseNormal', () => {
  it('is 0 at the median', () => {
    expect(inverseNormal(0.5)).toBe(0);
  });

  it('matches the tabled quantiles to 1e-9', () => {
    expect(inverseNormal(0.975)).toBeCloseTo(1.959963985, 9);
    expect(inverseNormal(0.001)).toBeCloseTo(-3.090232306, 9);
    expect(inverseNormal(0.8)).toBeCloseTo(Z_0_8, 9);
    expect(inverseNormal(0.1)).toBeCloseTo(-Z_0_9, 9);
    expect(inverseNormal(0.95)).toBeCloseTo(Z_0_95, 9);
  });

  it.each([
    // p, z(p) from mpmath (sqrt(2)·erfinv(2p − 1), 40 digits); the set covers both sides of Acklam's
    // central/tail switch at p = 0.02425, both sides of the series/continued-fraction switch at z = −3,
    // and the far tails.
    [0.02425, -1.972961051312],
    [0.0242, -1.973839463313],
    [0.3, -0.524400512708],
    [0.6, 0.253347103136],
    [0.0013, -3.0114537585],
    [1e-10, -6.361340902404],
    [1e-100, -21.273453560965],
    [0.999999, 4.753424308823],
  ])('inverseNormal(%p) = %p', (p, z) => {
    expect(inverseNormal(p)).toBeCloseTo(z, 9);
  });

  it('is antisymmetric about 1/2', () => {
    // Dyadic p, so that 1 − p is exact and the comparison can be exact too.
    for (const p of [2 ** -20, 2 ** -10, 0.0625, 0.25, 0.375]) expect(inverseNormal(1 - p)).toBe(-inverseNormal(p));
  });

  it('increases with p', () => {
    let previous = -Infinity;
    for (let p = 1e-6; p < 1; p += 0.0137) {
      const z = inverseNormal(p);
      expect(z).toBeGreaterThan(previous);
      previous = z;
    }
  });

  it('stays finite down to the smallest double', () => {
    expect(Number.isFinite(inverseNormal(Number.MIN_VALUE))).toBe(true);
    expect(inverseNormal(Number.MIN_VALUE)).toBeLessThan(-38);
  });

  it('throws a RangeError outside (0, 1)', () => {
    for (const p of [0, 1, -0.1, 1.1, Number.NaN, Infinity]) expect(() => inverseNormal(p)).toThrow(RangeError);
  });
});

describe('dPrime', () => {
  it('is z(H) − z(F)', () => {
    // H = 0.8, F = 0.2: z(0.8) − z(0.2) = 0.841621 + 0.841621 = 2·0.841621 = 1.683242
    expect(dPrime(0.8, 0.2)).toBeCloseTo(2 * Z_0_8, 9);
    expect(dPrime(0.8, 0.2)).toBeCloseTo(1.683242, 6);
  });

  it('is 0 when H = F and negative when H < F', () => {
    expect(dPrime(0.3, 0.3)).toBe(0);
    expect(dPrime(0.2, 0.8)).toBeCloseTo(-1.683242, 6);
  });

  it('throws for uncorrected extreme rates', () => {
    expect(() => dPrime(1, 0.2)).toThrow(RangeError);
    expect(() => dPrime(0.8, 0)).toThrow(RangeError);
  });
});

describe('aPrime', () => {
  it('uses the H ≥ F branch above chance', () => {
    // 0.5 + ((0.8 − 0.2)(1 + 0.8 − 0.2)) / (4·0.8·(1 − 0.2)) = 0.5 + (0.6·1.6)/(4·0.8·0.8) = 0.5 + 0.96/2.56 = 0.875
    expect(aPrime(0.8, 0.2)).toBeCloseTo(0.875, 12);
    // Perfect: 0.5 + (1·2)/(4·1·1) = 1
    expect(aPrime(1, 0)).toBe(1);
  });

  it('uses the H < F branch below chance', () => {
    // 0.5 − ((0.8 − 0.2)(1 + 0.8 − 0.2)) / (4·0.8·(1 − 0.2)) = 0.5 − 0.96/2.56 = 0.125 (mirror of 0.875)
    expect(aPrime(0.2, 0.8)).toBeCloseTo(0.125, 12);
    // H = 0.3, F = 0.6: 0.5 − ((0.6 − 0.3)(1 + 0.6 − 0.3)) / (4·0.6·(1 − 0.3)) = 0.5 − (0.3·1.3)/(4·0.6·0.7)
    //   = 0.5 − 0.39/1.68 = 0.5 − 13/56 = 15/56 = 0.267857142857.
    // Grier's H ≥ F formula applied here would give 0.5 + (−0.3·0.7)/(4·0.3·0.4) = 0.5 − 0.21/0.48 = 0.0625.
    expect(aPrime(0.3, 0.6)).toBeCloseTo(15 / 56, 12);
    expect(aPrime(0.3, 0.6)).toBeCloseTo(0.267857142857, 12);
    // Worst possible: 0.5 − (1·2)/(4·1·1) = 0
    expect(aPrime(0, 1)).toBe(0);
  });

  it('is 0.5 when H = F, including at the edges', () => {
    expect(aPrime(0.4, 0.4)).toBe(0.5);
    expect(aPrime(0, 0)).toBe(0.5);
    expect(aPrime(1, 1)).toBe(0.5);
  });

  it('throws for rates outside [0, 1]', () => {
    expect(() => aPrime(1.2, 0.5)).toThrow(RangeError);
    expect(() => aPrime(0.5, -0.1)).toThrow(RangeError);
    expect(() => aPrime(Number.NaN, 0.5)).toThrow(RangeError);
  });
});

describe('score', () => {
  it('corrects a hit rate of 1 with the 1/(2N) rule', () => {
    // 20 threat cases, all hit; 30 clean cases, 3 false alarms.
    const result = score([...answers(20, 'hit', ['weapons']), ...answers(3, 'false_alarm'), ...answers(27, 'correct_rejection')]);
    expect(result).toMatchObject({
      threatEvents: 20,
      cleanEvents: 30,
      hits: 20,
      misses: 0,
      falseAlarms: 3,
      correctRejections: 27,
      hitRate: 1, // raw: 20/20
      falseAlarmRate: 0.1, // raw: 3/30
      corrected: true,
      reliable: false,
    });
    // H' = 1 − 1/(2·20) = 0.975, F = 0.1: d' = z(0.975) − z(0.1) = 1.959964 + 1.281552 = 3.241516
    expect(result.dPrime).toBeCloseTo(Z_0_975 + Z_0_9, 9);
    expect(result.dPrime).toBeCloseTo(3.241516, 6);
    // A' = 0.5 + ((0.975 − 0.1)(1 + 0.975 − 0.1)) / (4·0.975·0.9) = 0.5 + (0.875·1.875)/3.51 = 0.5 + 1.640625/3.51
    //    = 0.5 + 0.467414530 = 0.967414530
    expect(result.aPrime).toBeCloseTo(0.96741453, 8);
  });

  it('corrects a false-alarm rate of 0 with the 1/(2N) rule', () => {
    // 10 threat cases, 5 hit; 10 clean, none a false alarm: F' = 1/(2·10) = 0.05.
    const result = score([...answers(5, 'hit'), ...answers(5, 'miss'), ...answers(10, 'correct_rejection')]);
    expect(result.hitRate).toBe(0.5);
    expect(result.falseAlarmRate).toBe(0);
    expect(result.corrected).toBe(true);
    // d' = z(0.5) − z(0.05) = 0 + 1.644854 = 1.644854
    expect(result.dPrime).toBeCloseTo(Z_0_95, 9);
    // A' = 0.5 + (0.45·1.45)/(4·0.5·0.95) = 0.5 + 0.6525/1.9 = 0.5 + 0.343421053 = 0.843421053
    expect(result.aPrime).toBeCloseTo(0.843421053, 8);
  });

  it('leaves rates strictly between 0 and 1 uncorrected', () => {
    // H = 8/10 = 0.8, F = 2/10 = 0.2: d' = 1.683242, A' = 0.875 (see dPrime and aPrime above)
    const result = score([...answers(8, 'hit'), ...answers(2, 'miss'), ...answers(2, 'false_alarm'), ...answers(8, 'correct_rejection')]);
    expect(result.corrected).toBe(false);
    expect(result.hitRate).toBe(0.8);
    expect(result.falseAlarmRate).toBe(0.2);
    expect(result.dPrime).toBeCloseTo(1.683242, 6);
    expect(result.aPrime).toBeCloseTo(0.875, 12);
  });

  it('gives d′ = 0 and A′ = 0.5 for a trainee at chance (H = F)', () => {
    // H = 3/10 = 0.3, F = 6/20 = 0.3
    const result = score([...answers(3, 'hit'), ...answers(7, 'miss'), ...answers(6, 'false_alarm'), ...answers(14, 'correct_rejection')]);
    expect(result.dPrime).toBe(0);
    expect(result.aPrime).toBe(0.5);
  });

  it('gives a negative d′ and A′ below 0.5 when the trainee flags clean cases more than threats (H < F)', () => {
    // H = 2/10 = 0.2, F = 8/10 = 0.8: d' = −1.683242, A' = 0.125
    const result = score([...answers(2, 'hit'), ...answers(8, 'miss'), ...answers(8, 'false_alarm'), ...answers(2, 'correct_rejection')]);
    expect(result.dPrime).toBeCloseTo(-1.683242, 6);
    expect(result.aPrime).toBeCloseTo(0.125, 12);
  });

  it('has no d′ or A′ without clean events, and reports no correction', () => {
    const result = score(answers(4, 'hit'));
    expect(result).toEqual({
      threatEvents: 4,
      cleanEvents: 0,
      hits: 4,
      misses: 0,
      falseAlarms: 0,
      correctRejections: 0,
      hitRate: 1,
      falseAlarmRate: null,
      dPrime: null,
      aPrime: null,
      corrected: false,
      meanDecisionMs: null,
      reliable: false,
    });
  });

  it('has no hit rate, d′ or A′ without threat events', () => {
    const result = score([...answers(1, 'false_alarm'), ...answers(3, 'correct_rejection')]);
    expect(result.hitRate).toBeNull();
    expect(result.falseAlarmRate).toBe(0.25); // 1/4
    expect(result.dPrime).toBeNull();
    expect(result.aPrime).toBeNull();
    expect(result.corrected).toBe(false);
  });

  it('scores an empty set as all zero and null', () => {
    expect(score([])).toEqual({
      threatEvents: 0,
      cleanEvents: 0,
      hits: 0,
      misses: 0,
      falseAlarms: 0,
      correctRejections: 0,
      hitRate: null,
      falseAlarmRate: null,
      dPrime: null,
      aPrime: null,
      corrected: false,
      meanDecisionMs: null,
      reliable: false,
    });
  });

  it('averages only the measured durations', () => {
    // (1000 + 3000 + 2600) / 3 = 2200; the null is left out, not counted as 0
    const result = score([
      ...answers(1, 'hit', [], 1000),
      ...answers(1, 'miss', [], null),
      ...answers(1, 'false_alarm', [], 3000),
      ...answers(1, 'correct_rejection', [], 2600),
    ]);
    expect(result.meanDecisionMs).toBe(2200);
  });

  it(`is reliable from ${RELIABLE_THREAT_EVENTS} threat events on`, () => {
    expect(RELIABLE_THREAT_EVENTS).toBe(100);
    // 99 threat events (and plenty of clean ones, which do not count): not reliable
    expect(score([...answers(90, 'hit'), ...answers(9, 'miss'), ...answers(500, 'correct_rejection')]).reliable).toBe(false);
    // 100 threat events: reliable
    expect(score([...answers(90, 'hit'), ...answers(10, 'miss')]).reliable).toBe(true);
  });
});

describe('scoreByCategory', () => {
  it('counts threat answers once in each of their categories, sorted by category name', () => {
    const result = scoreByCategory([
      ...answers(3, 'hit', ['weapons', 'narcotics']), // weapons +3 hits, narcotics +3 hits
      ...answers(1, 'miss', ['narcotics']), // narcotics +1 miss
      ...answers(2, 'miss', ['weapons']), // weapons +2 misses
      ...answers(1, 'hit', ['currency', 'currency']), // a repeated category counts once
      ...answers(5, 'false_alarm'), // clean cases: no category, not counted
      ...answers(5, 'correct_rejection'),
    ]);
    expect(result.map(({ category, threatEvents, hits, misses, hitRate, reliable }) => ({ category, threatEvents, hits, misses, hitRate, reliable }))).toEqual([
      { category: 'currency', threatEvents: 1, hits: 1, misses: 0, hitRate: 1, reliable: false },
      { category: 'narcotics', threatEvents: 4, hits: 3, misses: 1, hitRate: 0.75, reliable: false }, // 3/4
      { category: 'weapons', threatEvents: 5, hits: 3, misses: 2, hitRate: 0.6, reliable: false }, // 3/5
    ]);
    // every category pairs its hit rate with the overall false-alarm rate, 5/10 = 0.5 (z = 0)
    for (const entry of result) expect([entry.falseAlarmRate, entry.cleanEvents, entry.falseAlarms]).toEqual([0.5, 10, 5]);
    // narcotics: H = 0.75, F = 0.5: d' = z(0.75) − 0 = 0.674490; A' = 0.5 + (0.25 × 1.25) / (4 × 0.75 × 0.5) = 0.5 + 0.3125/1.5 = 0.708333
    expect(result[1].dPrime).toBeCloseTo(0.67449, 5);
    expect(result[1].aPrime).toBeCloseTo(0.708333, 5);
    // currency: H = 1/1 is corrected to 1 − 1/2 = 0.5: d' = 0, A' = 0.5
    expect([result[0].dPrime, result[0].aPrime, result[0].corrected]).toEqual([0, 0.5, true]);
  });

  it('gives each category the mean decision time of its own threat cases', () => {
    const timed = (outcome: AnswerOutcome, categories: ThreatCategory[], durationMs: number): ScoredAnswer => ({ outcome, categories, durationMs });
    const result = scoreByCategory([timed('hit', ['weapons'], 1000), timed('miss', ['weapons'], 3000), timed('hit', ['tobacco'], 10_000), timed('correct_rejection', [], 50_000)]);
    expect(result.map((entry) => [entry.category, entry.meanDecisionMs])).toEqual([
      ['tobacco', 10_000],
      ['weapons', 2000],
    ]);
  });

  it('ignores categories carried by answers on clean cases', () => {
    expect(scoreByCategory([...answers(2, 'false_alarm', ['tobacco']), ...answers(1, 'correct_rejection', ['tobacco'])])).toEqual([]);
  });

  it('flags each category as reliable on its own count', () => {
    const result = scoreByCategory([
      ...answers(100, 'hit', ['explosives']),
      ...answers(98, 'hit', ['alcohol']),
      ...answers(1, 'miss', ['alcohol']),
    ]);
    expect(result.map(({ category, threatEvents, hitRate, reliable }) => ({ category, threatEvents, hitRate, reliable }))).toEqual([
      { category: 'alcohol', threatEvents: 99, hitRate: 98 / 99, reliable: false },
      { category: 'explosives', threatEvents: 100, hitRate: 1, reliable: true },
    ]);
  });
});

describe('toCsv', () => {
  type Row = { trainee: string | null; note?: string; hits: number | null; ok?: boolean };
  type Columns = readonly (readonly [string, keyof Row & string])[];
  const columns: Columns = [
    ['Trainee', 'trainee'],
    ['Note', 'note'],
    ['Hits', 'hits'],
  ];
  const csv = (cols: Columns, rows: Row[]): string => toCsv<Row>(cols, rows);

  it('writes a header row and CRLF-terminated records', () => {
    expect(csv(columns, [{ trainee: 'ana', note: 'fine', hits: 12 }])).toBe('Trainee,Note,Hits\r\nana,fine,12\r\n');
  });

  it('writes only the header for no rows', () => {
    expect(csv(columns, [])).toBe('Trainee,Note,Hits\r\n');
  });

  it('writes null and undefined as empty fields, numbers and booleans as they are', () => {
    expect(csv(columns, [{ trainee: null, hits: null }])).toBe('Trainee,Note,Hits\r\n,,\r\n');
    expect(csv([['H', 'hits'], ['Ok', 'ok']], [{ trainee: 'x', hits: 0.875, ok: true }])).toBe('H,Ok\r\n0.875,true\r\n');
  });

  it('quotes fields with a comma, a double quote or a line break, doubling inner quotes', () => {
    const out = csv(columns, [
      { trainee: 'de Vries, Jan', note: 'said "clear"', hits: 1 },
      { trainee: 'bo', note: 'line one\nline two', hits: 2 },
      { trainee: 'cy', note: 'cr\rhere', hits: 3 },
    ]);
    expect(out).toBe(
      'Trainee,Note,Hits\r\n' + '"de Vries, Jan","said ""clear""",1\r\n' + 'bo,"line one\nline two",2\r\n' + 'cy,"cr\rhere",3\r\n',
    );
  });

  it('quotes headers like any other field', () => {
    expect(csv([['Hit rate, raw', 'hits']], [{ trainee: 'a', hits: 1 }])).toBe('"Hit rate, raw"\r\n1\r\n');
  });

  it('prefixes text starting with = + - @ (or tab or CR) with an apostrophe', () => {
    const notes = ['=1+1', '+31 20 000', '-2', '@SUM(A1)', '\tx', 'a=b', "'already"];
    const out = csv(
      [['Note', 'note']],
      notes.map((note) => ({ trainee: 't', note, hits: 0 })),
    );
    expect(out.split('\r\n')).toEqual(['Note', "'=1+1", "'+31 20 000", "'-2", "'@SUM(A1)", "'\tx", 'a=b', "'already", '']);
    // A leading CR is guarded, and then the field is quoted for holding a line break.
    expect(csv([['Note', 'note']], [{ trainee: 't', note: '\r=1', hits: 0 }])).toBe('Note\r\n"\'\r=1"\r\n');
  });

  it('applies the formula guard before quoting', () => {
    const out = csv([['Note', 'note']], [{ trainee: 't', note: '=HYPERLINK("http://x.example","go")', hits: 0 }]);
    expect(out).toBe('Note\r\n"\'=HYPERLINK(""http://x.example"",""go"")"\r\n');
  });

  it('writes dates in ISO 8601 and other objects as JSON', () => {
    const rows = [{ at: new Date('2025-03-01T10:00:00Z'), tags: ['a', 'b'] }];
    expect(toCsv([['At', 'at'], ['Tags', 'tags']], rows)).toBe('At,Tags\r\n2025-03-01T10:00:00.000Z,"[""a"",""b""]"\r\n');
  });

  it('leaves negative numbers alone (they are numbers, not text)', () => {
    expect(csv([['Hits', 'hits']], [{ trainee: 't', hits: -1.5 }])).toBe('Hits\r\n-1.5\r\n');
  });
});
