/**
 * Scoring rules for training cases, framework-free and pure.
 *
 * A trainee's answer to a case is one trial of a yes/no detection task: threat cases are "signal" trials,
 * clean cases are "noise" trials. Signal detection theory (Green & Swets 1966; Macmillan & Creelman,
 * "Detection Theory: A User's Guide") separates how well a trainee tells the two apart (sensitivity: d', A')
 * from how readily they call for an inspection (bias). A plain percentage correct mixes the two, and a trainee
 * who sends every container to inspection would look perfect on the threat cases alone.
 */
import type { Decision, Region, ThreatCategory } from '../../libs/exchange-format/src/verdict.js';

/** The four cells of the detection table: hit and miss on threat cases, false alarm and correct rejection on clean ones. */
export type AnswerOutcome = 'hit' | 'miss' | 'false_alarm' | 'correct_rejection';

/** The geometry of a marked region (a trainee's answer carries no category or note). */
export type RegionBox = Pick<Region, 'view' | 'x' | 'y' | 'width' | 'height'>;

/** What the case really holds. */
export interface CaseTruth {
  threat: boolean;
  categories: ThreatCategory[];
  /** May be empty for an archived threat case whose analyst marked nothing. */
  regions: Region[];
}

/** A trainee's answer to a case. */
export interface Answer {
  decision: Decision;
  regions: RegionBox[];
}

/**
 * Whether two regions mark the same place: the same view and an intersection of positive area.
 *
 * Regions are half-open pixel rectangles [x, x + width) × [y, y + height), so rectangles that only share an edge
 * or a corner do not overlap: they mark neighbouring pixels, not the same ones. Coordinates of different views
 * (top, side) are different images and never comparable.
 */
export function regionsOverlap(a: RegionBox, b: RegionBox): boolean {
  if (a.view !== b.view) return false;
  const overlapWidth = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const overlapHeight = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  // Written as "> 0" so NaN (malformed input) counts as no overlap rather than slipping through.
  return overlapWidth > 0 && overlapHeight > 0;
}

/**
 * Classifies one answer.
 *
 * Threat case: a hit needs the decision 'inspect' AND, when the truth marks regions, an answer region overlapping
 * one of them (same view, positive intersection area). Calling 'inspect' for the wrong reason, somewhere else in the
 * image, is not detecting the threat, so it is a miss; so are 'clear' and 'inconclusive' (the trainee did not find
 * the threat). When the truth has no regions (an archived case whose analyst marked nothing) there is no location to
 * check, and 'inspect' alone is a hit.
 *
 * Clean case: 'clear' is a correct rejection. 'inspect' and 'inconclusive' are both false alarms, because both stop
 * the conveyance for more work (a physical search or a second look) that a clean container did not need.
 */
export function classifyAnswer(truth: CaseTruth, answer: Answer): AnswerOutcome {
  if (!truth.threat) return answer.decision === 'clear' ? 'correct_rejection' : 'false_alarm';
  if (answer.decision !== 'inspect') return 'miss';
  if (truth.regions.length === 0) return 'hit';
  const located = answer.regions.some((marked) => truth.regions.some((real) => regionsOverlap(marked, real)));
  return located ? 'hit' : 'miss';
}

/** One classified answer as the scores need it. */
export interface ScoredAnswer {
  outcome: AnswerOutcome;
  /** The case's threat categories (empty for a clean case). */
  categories: ThreatCategory[];
  /** Time from opening the case to answering it; null when not measured. */
  durationMs: number | null;
}

/** Detection measures over a set of answers. */
export interface DetectionScore {
  /** Hits + misses (threat cases answered). */
  threatEvents: number;
  /** False alarms + correct rejections (clean cases answered). */
  cleanEvents: number;
  hits: number;
  misses: number;
  falseAlarms: number;
  correctRejections: number;
  /** hits / threatEvents, uncorrected; null when there are no threat events. */
  hitRate: number | null;
  /** falseAlarms / cleanEvents, uncorrected; null when there are no clean events. */
  falseAlarmRate: number | null;
  /** z(H') − z(F') from the corrected rates; null when either kind of event is missing. */
  dPrime: number | null;
  /** A' from the corrected rates; null when either kind of event is missing. */
  aPrime: number | null;
  /** Whether a rate of 0 or 1 was corrected for d' and A' (always false when they are null). */
  corrected: boolean;
  /** Mean of the measured (non-null, finite) durations; null when none was measured. */
  meanDecisionMs: number | null;
  /** threatEvents >= RELIABLE_THREAT_EVENTS. */
  reliable: boolean;
}

/**
 * How many threat events a hit rate needs before it is shown as reliable. Threats are rare in training sets as in
 * real traffic, and the hit rate's binomial standard error at N = 100 is at most √(0.25/100) = 0.05; with 20
 * threat cases a single answer moves the hit rate by 5 points, and d' with it.
 */
export const RELIABLE_THREAT_EVENTS = 100;

/**
 * The rate count/total, with the 1/(2N) correction for the extremes (Macmillan & Kaplan 1985):
 * 0 becomes 1/(2N) and 1 becomes 1 − 1/(2N), i.e. half a trial away from the edge.
 *
 * Why: z(0) and z(1) are infinite, so a trainee with no misses or no false alarms (common on small training
 * sets) would otherwise have no d'. N is the number of trials of that kind (threat events for the hit rate,
 * clean events for the false-alarm rate).
 */
export function correctedRate(count: number, total: number): number {
  if (!Number.isInteger(total) || total <= 0) throw new RangeError(`correctedRate needs a positive whole total, got ${total}`);
  if (!Number.isInteger(count) || count < 0 || count > total) {
    throw new RangeError(`correctedRate needs a whole count in 0..${total}, got ${count}`);
  }
  if (count === 0) return 1 / (2 * total);
  if (count === total) return 1 - 1 / (2 * total);
  return count / total;
}

const SQRT_2PI = Math.sqrt(2 * Math.PI);

// Peter J. Acklam's rational approximation of the inverse normal CDF (relative error < 1.15e-9 before refinement).
const ACKLAM_A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239,
];
const ACKLAM_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const ACKLAM_C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783,
];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
/** Below this p Acklam switches from the central to the tail approximation. */
const ACKLAM_P_LOW = 0.02425;

/** Where the lower-tail CDF switches from Marsaglia's series to Laplace's continued fraction. */
const SERIES_LIMIT = 3;

/**
 * Φ(x) for x ≤ 0, with full relative precision down the lower tail (which the Halley step needs: near p = 1e-10
 * an absolute error of 1e-16 would already be a relative one of 1e-6).
 *
 * |x| < 3: Marsaglia's series (Marsaglia 2004, "Evaluating the Normal Distribution"),
 *   Φ(x) = 1/2 + φ(x)·(x + x³/3 + x⁵/(3·5) + …), all terms of one sign; at worst (x = −3, Φ ≈ 1.35e-3) the
 *   subtraction from 1/2 costs under three digits.
 * |x| ≥ 3: Laplace's continued fraction for Mills' ratio, Φ(−t) = φ(t) / (t + 1/(t + 2/(t + 3/(t + …)))),
 *   evaluated with the modified Lentz method; it has no cancellation and converges fast for large t.
 */
function lowerNormalCdf(x: number): number {
  const t = -x;
  const density = Math.exp(-0.5 * t * t) / SQRT_2PI;
  if (density === 0) return 0;
  if (t < SERIES_LIMIT) {
    const t2 = t * t;
    let term = t;
    let sum = t;
    for (let k = 3; ; k += 2) {
      term *= t2 / k;
      if (sum + term === sum) break;
      sum += term;
    }
    return 0.5 - density * sum;
  }
  const tiny = 1e-300;
  let f = t;
  let c = t;
  let d = 0;
  for (let n = 1; n < 10_000; n++) {
    d = t + n * d;
    if (d === 0) d = tiny;
    c = t + n / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return density / f;
}

/** Acklam's first approximation for 0 < p ≤ 1/2 (the upper half is reached by symmetry in inverseNormal). */
function acklamLowerHalf(p: number): number {
  const [a1, a2, a3, a4, a5, a6] = ACKLAM_A;
  const [b1, b2, b3, b4, b5] = ACKLAM_B;
  const [c1, c2, c3, c4, c5, c6] = ACKLAM_C;
  const [d1, d2, d3, d4] = ACKLAM_D;
  if (p < ACKLAM_P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / ((((d1 * q + d2) * q + d3) * q + d4) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a1 * r + a2) * r + a3) * r + a4) * r + a5) * r + a6) * q) / (((((b1 * r + b2) * r + b3) * r + b4) * r + b5) * r + 1);
}

/**
 * The inverse of the standard normal CDF, z(p): Acklam's rational approximation followed by one Halley step
 * (the refinement Acklam gives for it), which brings the absolute error below 1e-9 (below 1e-13 over p from 1e-300 to 1 − 1e-15, checked
 * against mpmath).
 *
 * JavaScript has no built-in erf, and d' depends on z directly, so the approximation has to be good in the
 * tails, where corrected rates such as 1 − 1/(2N) put it. The computation runs in the lower half only:
 * z(p) = −z(1 − p), and 1 − p is exact in floating point for p ≥ 1/2 (Sterbenz), while Φ keeps full relative
 * precision in the lower tail.
 *
 * @throws RangeError unless 0 < p < 1 (z(0) and z(1) are infinite; correct the rate first).
 */
export function inverseNormal(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`inverseNormal needs 0 < p < 1, got ${p}`);
  if (p > 0.5) return -inverseNormal(1 - p);
  let x = acklamLowerHalf(p);
  // Halley's method on Φ(x) − p = 0, with Φ'(x) = φ(x) and Φ''(x) = −x·φ(x).
  const error = lowerNormalCdf(x) - p;
  const u = error * SQRT_2PI * Math.exp(0.5 * x * x);
  // Deep in the tail (p below ~1e-300) φ(x) underflows; the unrefined value is then the best available.
  if (Number.isFinite(u)) x -= u / (1 + 0.5 * x * u);
  return x;
}

/**
 * d' = z(H) − z(F) (Green & Swets 1966): the distance between the means of the noise and signal distributions
 * in standard deviations, under the equal-variance Gaussian model. 0 is chance; negative means the trainee
 * inspects clean cases more often than threat cases.
 *
 * @throws RangeError when a rate is 0 or 1; pass corrected rates (see correctedRate).
 */
export function dPrime(hitRate: number, falseAlarmRate: number): number {
  return inverseNormal(hitRate) - inverseNormal(falseAlarmRate);
}

/**
 * A', the nonparametric sensitivity index of Pollack & Norman (1964) in Grier's (1971) computational form:
 *   H ≥ F: A' = 1/2 + ((H − F)(1 + H − F)) / (4H(1 − F))
 *   H < F: A' = 1/2 − ((F − H)(1 + F − H)) / (4F(1 − H))
 * The second branch (Aaronson & Watts 1987; see Stanislaw & Todorov 1999) mirrors the first for below-chance
 * performance; Grier's formula alone gives wrong values there. 0.5 is chance, 1 perfect. A' makes no assumption
 * about the shape of the distributions, which is why it is reported beside d'. H = F gives 0.5 (both branches
 * agree there, and the special case avoids 0/0 at H = F = 0 or 1).
 *
 * @throws RangeError unless both rates lie in [0, 1].
 */
export function aPrime(hitRate: number, falseAlarmRate: number): number {
  const h = hitRate;
  const f = falseAlarmRate;
  if (!(h >= 0 && h <= 1 && f >= 0 && f <= 1)) throw new RangeError(`aPrime needs rates in [0, 1], got H=${h} F=${f}`);
  if (h === f) return 0.5;
  // Neither denominator can be 0 here: H > F implies H > 0 and F < 1, and H < F implies F > 0 and H < 1.
  if (h > f) return 0.5 + ((h - f) * (1 + h - f)) / (4 * h * (1 - f));
  return 0.5 - ((f - h) * (1 + f - h)) / (4 * f * (1 - h));
}

/**
 * Scores a set of answers. The raw rates are reported as they are (they are what a trainee recognises:
 * "18 of 20"); d' and A' are computed from the corrected rates so that both describe the same point, and both
 * need threat and clean events alike (sensitivity is the difference between the two).
 */
export function score(answers: ScoredAnswer[]): DetectionScore {
  let hits = 0;
  let misses = 0;
  let falseAlarms = 0;
  let correctRejections = 0;
  let durationSum = 0;
  let durationCount = 0;
  for (const answer of answers) {
    switch (answer.outcome) {
      case 'hit':
        hits++;
        break;
      case 'miss':
        misses++;
        break;
      case 'false_alarm':
        falseAlarms++;
        break;
      case 'correct_rejection':
        correctRejections++;
        break;
      default: {
        const unknown: never = answer.outcome;
        throw new RangeError(`unknown outcome ${String(unknown)}`);
      }
    }
    if (answer.durationMs !== null && Number.isFinite(answer.durationMs)) {
      durationSum += answer.durationMs;
      durationCount++;
    }
  }
  const threatEvents = hits + misses;
  const cleanEvents = falseAlarms + correctRejections;
  let sensitivity: { dPrime: number; aPrime: number; corrected: boolean } | null = null;
  if (threatEvents > 0 && cleanEvents > 0) {
    const h = correctedRate(hits, threatEvents);
    const f = correctedRate(falseAlarms, cleanEvents);
    const corrected = isExtreme(hits, threatEvents) || isExtreme(falseAlarms, cleanEvents);
    sensitivity = { dPrime: dPrime(h, f), aPrime: aPrime(h, f), corrected };
  }
  return {
    threatEvents,
    cleanEvents,
    hits,
    misses,
    falseAlarms,
    correctRejections,
    hitRate: threatEvents > 0 ? hits / threatEvents : null,
    falseAlarmRate: cleanEvents > 0 ? falseAlarms / cleanEvents : null,
    dPrime: sensitivity?.dPrime ?? null,
    aPrime: sensitivity?.aPrime ?? null,
    corrected: sensitivity?.corrected ?? false,
    meanDecisionMs: durationCount > 0 ? durationSum / durationCount : null,
    reliable: threatEvents >= RELIABLE_THREAT_EVENTS,
  };
}

function isExtreme(count: number, total: number): boolean {
  return count === 0 || count === total;
}

/** The figures of one threat category. */
export interface CategoryScore extends DetectionScore {
  category: ThreatCategory;
}

/**
 * The figures per threat category, for finding what a trainee overlooks (say, narcotics in reefer walls).
 *
 * The threat events of a category are the answers on its threat cases (a case with several categories counts once
 * in each). A clean case has no category, so a false alarm cannot be given to one: the false-alarm rate of every
 * category is the trainee's overall one, and d' and A' per category pair the category's hit rate with it (the usual
 * practice for TIP scores per threat type). The mean decision time is that of the category's threat cases. Each
 * entry has its own reliable flag because a category's count is far smaller than the total. Sorted by category
 * name, for stable output.
 */
export function scoreByCategory(answers: ScoredAnswer[]): CategoryScore[] {
  const clean = answers.filter((answer) => answer.outcome === 'false_alarm' || answer.outcome === 'correct_rejection');
  const byCategory = new Map<ThreatCategory, ScoredAnswer[]>();
  for (const answer of answers) {
    if (answer.outcome !== 'hit' && answer.outcome !== 'miss') continue;
    for (const category of new Set(answer.categories)) byCategory.set(category, [...(byCategory.get(category) ?? []), answer]);
  }
  return [...byCategory.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([category, threats]) => ({ ...score([...threats, ...clean]), meanDecisionMs: score(threats).meanDecisionMs, category }));
}

/**
 * First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"): = + - @, and tab
 * and carriage return, which some spreadsheets strip before looking for those.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text fields that need quoting under RFC 4180: those holding a comma, a double quote or a line break. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Renders rows as CSV per RFC 4180: a header row, fields with a comma, double quote or line break quoted, quotes
 * inside doubled, every record ended by CRLF (the RFC allows the last one to end so; it keeps files concatenable).
 *
 * Values: null and undefined become an empty field; numbers, bigints and booleans are written as they are (a
 * negative number stays a number); a Date is written in ISO 8601; other objects as JSON.
 *
 * Text fields starting with = + - @ (or tab or CR) get a leading apostrophe: exported training results are
 * opened in spreadsheets, and a trainee-entered note such as `=HYPERLINK(...)` would otherwise run as a formula
 * (CSV/formula injection). The apostrophe is what spreadsheets themselves use to mark a cell as text.
 */
export function toCsv<T extends Record<string, unknown>>(
  columns: readonly (readonly [string, keyof T & string])[],
  rows: readonly T[],
): string {
  const records = [columns.map(([header]) => csvText(header))];
  for (const row of rows) records.push(columns.map(([, key]) => csvField(row[key])));
  return records.map((fields) => `${fields.join(',')}\r\n`).join('');
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return csvText(value);
  if (value instanceof Date) return csvText(value.toISOString());
  return csvText(JSON.stringify(value) ?? '');
}

function csvText(text: string): string {
  const guarded = FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}
