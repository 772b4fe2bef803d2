import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import { Prng } from '../../libs/imaging/src/synthetic/prng.js';
import { traineeView } from './training-sessions.service.js';
import { archivedTruth, projectionsNeeded, shuffled } from './training-sets.service.js';
import type { ArchivedScanRow } from './training.repository.js';

const region = { view: 'top', x: 10, y: 20, width: 30, height: 40, category: 'narcotics' as const, note: '' };

function archived(verdict: { decision: 'clear' | 'inspect' | 'inconclusive'; regions?: unknown[] }, outcome: { found: boolean; categories?: string[] } | null): ArchivedScanRow {
  return {
    scan: {} as ArchivedScanRow['scan'],
    stationName: 'Valga road 1',
    verdict: { decision: verdict.decision, regions: verdict.regions ?? [] } as ArchivedScanRow['verdict'],
    outcome: outcome ? ({ found: outcome.found, categories: outcome.categories ?? [] } as ArchivedScanRow['outcome']) : null,
  };
}

describe('training set rules', () => {
  describe(projectionsNeeded.name, () => {
    it('takes an explicit count as it is', () => {
      expect(projectionsNeeded({ projectedCount: 3 }, 10, 2)).toBe(3);
    });

    it('fills the share of threats with projections, counting the archived threats first', () => {
      // 20 cases, 2 archived threats, 30 % wanted: round(6) − 2 = 4 projections
      expect(projectionsNeeded({ threatShare: 0.3 }, 20, 2)).toBe(4);
      // already above the share: none
      expect(projectionsNeeded({ threatShare: 0.1 }, 20, 5)).toBe(0);
      expect(projectionsNeeded({}, 20, 5)).toBe(0);
    });
  });

  describe(archivedTruth.name, () => {
    it('makes a found outcome a threat case with the inspect verdict’s regions as truth', () => {
      expect(archivedTruth(archived({ decision: 'inspect', regions: [region] }, { found: true, categories: ['narcotics'] }))).toEqual({
        threat: true,
        categories: ['narcotics'],
        regions: [region],
      });
    });

    it('keeps a found outcome the analyst cleared as a threat case without regions (any inspect is then a hit)', () => {
      expect(archivedTruth(archived({ decision: 'clear' }, { found: true, categories: ['tobacco'] }))).toEqual({ threat: true, categories: ['tobacco'], regions: [] });
    });

    it('takes the categories of the regions, or other, when the outcome names none', () => {
      expect(archivedTruth(archived({ decision: 'inspect', regions: [region] }, { found: true })).categories).toEqual(['narcotics']);
      expect(archivedTruth(archived({ decision: 'clear' }, { found: true })).categories).toEqual(['other']);
    });

    it('makes a clean outcome a clean case, whatever the analyst marked', () => {
      expect(archivedTruth(archived({ decision: 'inspect', regions: [region] }, { found: false }))).toEqual({ threat: false, categories: [], regions: [] });
    });
  });

  describe(shuffled.name, () => {
    it('is a permutation, the same for the same seed and different for another', () => {
      const ids = Array.from({ length: 20 }, (_, i) => `case-${i}`);
      const a = shuffled(ids, new Prng(1));
      expect([...a].sort()).toEqual([...ids].sort());
      expect(shuffled(ids, new Prng(1))).toEqual(a);
      expect(shuffled(ids, new Prng(2))).not.toEqual(a);
      expect(ids[0]).toBe('case-0');
    });
  });

  describe(traineeView.name, () => {
    const manifest = {
      format: 'niix-exchange',
      version: '1.1',
      scanId: 'scan-id',
      stationId: 'station-id',
      scanner: { vendor: 'Aurora', model: 'AX6', serial: 'SN-1' },
      acquiredAt: '2026-01-01T00:00:00Z',
      conveyance: { containers: [], licencePlates: ['ABC123'], declarations: ['25EE1'], fields: { reference: 'lane-1/7', declaredGoods: 'tiles' } },
      views: [{ id: 'top', width: 100, height: 50, pixelSpacingMm: null, airValue: 60000, planes: [{ energy: 'high', path: 'views/top/high.png', sha256: 'a'.repeat(64) }] }],
      provenance: { originals: [{ name: 'scan.raw', size: 1, sha256: 'b'.repeat(64), object: 'scans/x/original/0' }], adapter: { id: 'tip-projection', version: '1' }, convertedAt: '2026-01-01T00:00:00Z', warnings: [] },
      training: { purpose: 'training', sourceScanId: 'source', projectedThreats: [{ threatItemId: 'i', name: 'pistol', category: 'weapons', view: 'top', region: { x: 1, y: 1, width: 2, height: 2 }, placement: { x: 1, y: 1, scale: 1, rotationDeg: 0 } }] },
    } as Manifest;
    const metadata = { licencePlates: ['ABC123'], reference: 'lane-1/7', declaredGoods: 'tiles' };

    it('never carries ids, provenance or the training section', () => {
      const text = JSON.stringify(traineeView(manifest, metadata, false));
      for (const leak of ['scan-id', 'station-id', 'provenance', 'training', 'sourceScanId', 'pistol', 'tip-projection', 'sha256', 'SN-1']) expect(text).not.toContain(leak);
      expect(text).toContain('ABC123');
    });

    it('hides plates and the station’s reference when the set hides identities', () => {
      const view = traineeView(manifest, metadata, true);
      const text = JSON.stringify(view);
      expect(text).not.toContain('ABC123');
      expect(text).not.toContain('lane-1/7');
      expect(text).toContain('tiles');
    });
  });
});
