import { join } from 'node:path';
import { describeGolden, syntheticScan } from '../raw-profile/synthetic-scan.testing.js';
import { ImageAdapter } from './image.adapter.js';
import { writeImages } from './image.writer.js';

const scan = () => syntheticScan({ width: 48, height: 24, views: [{ id: 'top', energies: ['single'] }] });

describe('image golden fixtures', () => {
  describeGolden(join(process.cwd(), 'libs/scanner-adapters/src/image/fixtures'), [
    { name: 'png16', adapter: new ImageAdapter(), make: () => writeImages(scan(), { format: 'png16' }) },
    { name: 'png8', adapter: new ImageAdapter(), make: () => writeImages(scan(), { format: 'png8' }) },
    { name: 'jpeg', adapter: new ImageAdapter(), make: () => writeImages(scan(), { format: 'jpeg', quality: 90 }) },
  ]);
});
