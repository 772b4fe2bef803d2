import type { DicosScan } from './dicos.writer.js';

/** Values that use the whole 16-bit range, so a byte-order or sign mistake in a round trip shows. */
export function ramp(width: number, height: number, seed: number): Uint16Array {
  const out = new Uint16Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = (i * 2654435761 + seed * 40503) % 65536;
  return out;
}

/** A small scan for the DICOS writer and adapter specs: a dual-energy top view and a single-energy side view. */
export const SAMPLE_DICOS_SCAN: DicosScan = {
  scanner: { vendor: 'Acme Security', model: 'AX-6', software: '4.2.1' },
  acquiredAt: '2026-03-01T10:20:30.250+02:00',
  views: [
    {
      id: 'top',
      width: 37,
      height: 21,
      pixelSpacingMm: { x: 5, y: 2.5 },
      airValue: 60000,
      planes: [
        { energy: 'high', data: ramp(37, 21, 1) },
        { energy: 'low', data: ramp(37, 21, 2) },
      ],
    },
    { id: 'side', width: 12, height: 9, pixelSpacingMm: null, airValue: 1234, planes: [{ energy: 'single', data: ramp(12, 9, 3) }] },
  ],
};
