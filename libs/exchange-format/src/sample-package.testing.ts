import type { Conversion } from '../../scanner-adapters/src/adapter.js';
import { type BuildPackageInput, sha256Hex } from './package.js';

/** Test helpers for the exchange-format and niix-bundle specs (not used by production code): a small scan. */

/** A deterministic plane in the exchange convention: air near the top, a dense box, a ramp, every value distinct-ish. */
export function samplePlane(width: number, height: number, seed: number): Uint16Array {
  const data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dense = x > width / 4 && x < width / 2 && y > height / 4 && y < (3 * height) / 4;
      data[y * width + x] = (dense ? 9000 : 60000) + ((x * 31 + y * 17 + seed * 101) % 2000);
    }
  }
  return data;
}

/** A dual-energy top view and a single-energy side view. */
export function sampleConversion(): Conversion {
  return {
    scanner: { vendor: 'Acme Imaging', model: 'AX-6', software: '4.2.1', serial: 'SN-0042' },
    acquiredAt: '2026-11-20T08:15:30+02:00',
    views: [
      {
        id: 'top',
        width: 40,
        height: 24,
        pixelSpacingMm: { x: 5, y: 4.5 },
        airValue: 62000,
        planes: [
          { energy: 'high', data: samplePlane(40, 24, 1), nominalEnergy: '6 MV' },
          { energy: 'low', data: samplePlane(40, 24, 2), nominalEnergy: '4 MV' },
        ],
      },
      { id: 'side', width: 32, height: 16, pixelSpacingMm: null, airValue: 61000, planes: [{ energy: 'single', data: samplePlane(32, 16, 3) }] },
    ],
    warnings: ['8-bit source widened to 16 bits'],
    conveyance: { containers: [{ number: 'msku 907032-3', checkDigitValid: null }], licencePlates: ['LV AB 1234'] },
  };
}

export const SAMPLE_ORIGINAL_BYTES = Buffer.from('vendor file bytes, unchanged\n');

export function sampleBuildInput(overrides: Partial<BuildPackageInput> = {}): BuildPackageInput {
  return {
    scanId: 'scn_01HZX3',
    stationId: 'lv-terehova-1',
    conversion: sampleConversion(),
    adapter: { id: 'raw:acme-ax6', version: '1.0.0+profile.3' },
    originals: [
      {
        name: 'scan-0042.ax6',
        size: SAMPLE_ORIGINAL_BYTES.length,
        sha256: sha256Hex(SAMPLE_ORIGINAL_BYTES),
        object: 'originals/lv-terehova-1/scn_01HZX3/scan-0042.ax6',
      },
    ],
    metadata: { containers: ['CSQU3054383'], declarations: ['26LV000000001234A1'], riskScore: 72, reference: 'T1-0042' },
    convertedAt: new Date('2026-11-20T06:16:02.000Z'),
    ...overrides,
  };
}
