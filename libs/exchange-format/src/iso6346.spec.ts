import { iso6346CheckDigit, isValidContainerNumber } from './iso6346.js';

describe('iso6346', () => {
  it('computes the check digit of known container numbers', () => {
    expect(iso6346CheckDigit('CSQU305438')).toBe(3);
    expect(iso6346CheckDigit('MSKU907032')).toBe(3);
  });
  it('tells valid, wrong and non-ISO numbers apart', () => {
    expect(isValidContainerNumber('CSQU 305438-3')).toBe(true);
    expect(isValidContainerNumber('CSQU3054384')).toBe(false);
    expect(isValidContainerNumber('LV-AB-1234')).toBeNull();
  });
});
