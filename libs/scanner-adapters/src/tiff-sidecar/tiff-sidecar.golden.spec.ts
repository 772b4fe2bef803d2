import { join } from 'node:path';
import { describeGolden, syntheticScan } from '../raw-profile/synthetic-scan.testing.js';
import { TiffSidecarAdapter } from './tiff-sidecar.adapter.js';
import { writeTiffSidecar } from './tiff-sidecar.writer.js';

const scan = () => {
  const s = syntheticScan({ width: 48, height: 24, views: [{ id: 'top', energies: ['high', 'low'] }] });
  s.views[0].planes[0].nominalEnergy = '6MV';
  s.views[0].planes[1].nominalEnergy = '4MV';
  return s;
};

describe('tiff-sidecar golden fixtures', () => {
  describeGolden(join(process.cwd(), 'libs/scanner-adapters/src/tiff-sidecar/fixtures'), [
    { name: 'json-per-plane', adapter: new TiffSidecarAdapter(), make: () => writeTiffSidecar(scan(), { sidecar: 'json' }) },
    {
      name: 'xml-multipage-attenuation',
      adapter: new TiffSidecarAdapter(),
      make: () => writeTiffSidecar(scan(), { sidecar: 'xml', multiPage: true, values: 'attenuation' }),
    },
  ]);
});
