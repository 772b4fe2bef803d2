import { join } from 'node:path';
import { RawProfileAdapter } from './raw-profile.adapter.js';
import { loadProfiles } from './raw-profile.loader.js';
import { writeRawProfile } from './raw-profile.writer.js';
import { describeGolden, syntheticScan } from './synthetic-scan.testing.js';

const root = join(process.cwd(), 'libs/scanner-adapters');
const [aurora, borealis] = loadProfiles([join(root, 'profiles')]);
const scan = (views: string[]) => syntheticScan({ width: 48, height: 24, views: views.map((id) => ({ id, energies: ['high', 'low'] })) });

describe('raw-profile golden fixtures', () => {
  describeGolden(join(root, 'src/raw-profile/fixtures'), [
    { name: 'aurora-ax6-top-side', adapter: new RawProfileAdapter(aurora), make: async () => writeRawProfile(aurora, scan(['top', 'side'])) },
    { name: 'borealis-de-side', adapter: new RawProfileAdapter(borealis), make: async () => writeRawProfile(borealis, scan(['side'])) },
  ]);
});
