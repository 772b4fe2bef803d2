/**
 * Order of the analyst work pool: risk first, then the SLA deadline, then arrival. BullMQ orders a queue by one
 * integer priority (1 is first, at most 2^21 - 1) and, within a priority, by arrival. The integer is made of
 * a risk band (4 bands of 2^19) and the deadline within the band, in steps of DEADLINE_STEP_SECONDS: deadlines
 * closer than one step are ordered by arrival, which for cases of one station is the same order. The deadline is
 * taken modulo 2^19 - 1 steps (about 97 days): cases whose deadlines fall on both sides of such a wrap (once every
 * 97 days, for as long as an SLA) are ordered by arrival for that moment instead of by deadline.
 */
export const RISK_BANDS = [
  { name: 'critical', from: 90 },
  { name: 'high', from: 70 },
  { name: 'elevated', from: 40 },
  { name: 'normal', from: 0 },
] as const;

const BAND_SPAN = 2 ** 19;
/** Deadlines are compared in steps of this many seconds; 1-second steps would wrap every 6 days. */
export const DEADLINE_STEP_SECONDS = 16;

export function riskBand(risk: number): number {
  const index = RISK_BANDS.findIndex((band) => risk >= band.from);
  return index === -1 ? RISK_BANDS.length - 1 : index;
}

/** The BullMQ priority of a case: lower is taken first. */
export function reviewPriority(risk: number, slaDeadline: Date): number {
  const steps = Math.floor(slaDeadline.getTime() / 1000 / DEADLINE_STEP_SECONDS);
  return 1 + riskBand(risk) * BAND_SPAN + (steps % (BAND_SPAN - 1));
}

/** A scan's risk: the higher of the station's risk level and the declaration's risk score (0..100). */
export function scanRisk(stationRiskLevel: number, declarationRiskScore: number | undefined): number {
  return Math.max(0, Math.min(100, Math.max(stationRiskLevel, declarationRiskScore ?? 0)));
}
