/**
 * Grey display mapping of a transmission plane (value ∝ transmitted intensity, air near `airValue`).
 *
 * Display value = 255 · (1 − A / A_MAX) with A = ln(airValue / value), the log-attenuation: equal steps of
 * thickness give equal steps of grey, so thin and thick cargo both stay readable. Air is white, A ≥ A_MAX
 * (≈ 1/1500 of the air signal, the practical penetration limit) black, as cargo analysts expect.
 */
export const DISPLAY_MAX_ATTENUATION = Math.log(1500);

/** Log-attenuation ln(airValue / v) of every 16-bit value (0 is read as 1), never negative. */
export function attenuationLut(airValue: number): Float32Array {
  const lut = new Float32Array(65536);
  for (let v = 0; v < 65536; v++) {
    const a = Math.log(airValue / Math.max(1, v));
    lut[v] = a > 0 ? a : 0;
  }
  return lut;
}

/** The 65,536-entry transmission → 8-bit grey table; non-decreasing in the transmission. */
export function greyLut(airValue: number): Uint8Array {
  const lut = new Uint8Array(65536);
  const scale = 255 / DISPLAY_MAX_ATTENUATION;
  for (let v = 0; v < 65536; v++) {
    const a = Math.log(airValue / Math.max(1, v));
    const g = 255 - a * scale;
    lut[v] = g >= 255 ? 255 : g <= 0 ? 0 : Math.round(g);
  }
  return lut;
}

/** Maps a 16-bit plane through a lookup table into an 8-bit buffer (a new one unless `out` is given). */
export function applyLut(data: Uint16Array, lut: Uint8Array, out: Uint8Array = new Uint8Array(data.length)): Uint8Array {
  if (out.length < data.length) throw new RangeError('output buffer too small');
  const n = data.length;
  for (let i = 0; i < n; i++) out[i] = lut[data[i]];
  return out;
}
