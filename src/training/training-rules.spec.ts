import type { Manifest } from '../../libs/exchange-format/src/manifest.js';
import { Prng } from '../../libs/imaging/src/synthetic/prng.js';
import { traineeView } from './training-sessions.service.js';
import { type ArchivedScanUse, archivedTruth, imagesToCompare, projectionsNeeded, shuffled, twoImagesError } from './training-sets.service.js';
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

  describe(imagesToCompare.name, () => {
    const use = (setName: string, role: ArchivedScanUse['role'], overrides: Partial<ArchivedScanUse> = {}): ArchivedScanUse => ({
      traineeId: 'trainee-1',
      trainee: 'tiit',
      setId: `set-${setName}`,
      setName,
      caseId: `case-${setName}-${role}`,
      archivedScanId: 'scan-1',
      role,
      threat: role === 'background',
      ...overrides,
    });

    it('lets a trainee meet an archived scan as itself in any number of sets: the same image every time', () => {
      expect(imagesToCompare([use('Monday', 'itself'), use('Tuesday', 'itself'), use('Friday', 'itself', { threat: true })])).toBeUndefined();
    });

    it('refuses a clean case and the background of a projection of one scan for one trainee, in either order', () => {
      const [clean, background] = [use('Monday', 'itself'), use('Tuesday', 'background')];
      expect(imagesToCompare([clean, background])).toEqual([clean, background]);
      expect(imagesToCompare([background, clean])).toEqual([background, clean]);
    });

    it('refuses two projections into one background for one trainee: they differ at both threats', () => {
      const [first, second] = [use('Monday', 'background'), use('Wednesday', 'background')];
      expect(imagesToCompare([first, second])).toEqual([first, second]);
    });

    it('takes the same case met again (a trainee assigned to the set already) as one image', () => {
      const projected = use('Monday', 'background');
      expect(imagesToCompare([projected, { ...projected }])).toBeUndefined();
    });

    it('keeps trainees and scans apart: another trainee, or another scan, may have the other image', () => {
      expect(imagesToCompare([use('Monday', 'itself'), use('Tuesday', 'background', { traineeId: 'trainee-2', trainee: 'tauno' })])).toBeUndefined();
      expect(imagesToCompare([use('Monday', 'itself'), use('Tuesday', 'background', { archivedScanId: 'scan-2' })])).toBeUndefined();
    });
  });

  describe(twoImagesError.name, () => {
    it('is a 409 naming the trainee, the scan, both roles and both sets', () => {
      const error = twoImagesError([
        { traineeId: 't', trainee: 'tiit', setId: 's1', setName: 'Monday', caseId: 'c1', archivedScanId: 'scan-1', role: 'itself', threat: false },
        { traineeId: 't', trainee: 'tiit', setId: 's2', setName: 'Tuesday', caseId: 'c2', archivedScanId: 'scan-1', role: 'background', threat: true },
      ]);
      expect(error.getStatus()).toBe(409);
      expect(error.getResponse()).toEqual({
        error: {
          code: 'archived_scan_in_two_roles',
          message:
            'tiit would see archived scan scan-1 as a clean case in set “Monday” and as the background of a projected threat in set “Tuesday”: the two images differ only where a threat was projected, so comparing them would show it. Leave the scan out, or give the set to other trainees.',
          details: { traineeId: 't', archivedScanId: 'scan-1', setIds: ['s1', 's2'] },
        },
      });
    });
  });
});
