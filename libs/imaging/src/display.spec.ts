import { applyLut, attenuationLut, DISPLAY_MAX_ATTENUATION, greyLut } from './display.js';

describe('display', () => {
  const air = 60000;
  const lut = greyLut(air);

  it('is non-decreasing in the transmission, air white and opaque black', () => {
    for (let v = 1; v < 65536; v++) expect(lut[v] >= lut[v - 1]).toBe(true);
    expect(lut[air]).toBe(255);
    expect(lut[65535]).toBe(255);
    expect(lut[Math.round(air * 0.995)]).toBe(255);
    expect(lut[0]).toBe(0);
    expect(lut[Math.floor(air / Math.exp(DISPLAY_MAX_ATTENUATION))]).toBe(0);
  });

  it('is linear in the log-attenuation, so thin and thick cargo both keep contrast', () => {
    const at = (a: number) => lut[Math.round(air * Math.exp(-a))];
    const step = (a: number) => at(a) - at(a + 0.5);
    expect(step(0.5)).toBeGreaterThan(10);
    expect(step(5)).toBeGreaterThan(10);
    expect(Math.abs(step(0.5) - step(5))).toBeLessThanOrEqual(2);
  });

  it('maps a plane into a given or a new buffer', () => {
    const plane = Uint16Array.from([0, 100, 30000, 60000]);
    const out = applyLut(plane, lut);
    expect(Array.from(out)).toEqual([lut[0], lut[100], lut[30000], 255]);
    const given = new Uint8Array(8);
    expect(applyLut(plane, lut, given)).toBe(given);
    expect(() => applyLut(plane, lut, new Uint8Array(2))).toThrow(RangeError);
  });

  it('gives the log-attenuation of each value, 0 at and above air', () => {
    const att = attenuationLut(air);
    expect(att[air]).toBe(0);
    expect(att[65535]).toBe(0);
    expect(att[air / 2]).toBeCloseTo(Math.LN2, 5);
  });
});
