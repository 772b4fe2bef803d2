import { readFileSync } from 'node:fs';
import { LICENCES_DOC, type Lockfile, licenceReport } from '../tools/licences.js';

describe('docs/licences.md', () => {
  it('lists the licences of exactly the production dependencies of package-lock.json (else: npm run docs:licences)', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Lockfile;
    expect(readFileSync(LICENCES_DOC, 'utf8')).toBe(licenceReport(lock));
  });

  it('leaves out development dependencies and marks platform packages', () => {
    const report = licenceReport({
      packages: {
        '': {},
        'node_modules/a': { version: '1.0.0', license: 'MIT' },
        'node_modules/a/node_modules/b': { version: '2.0.0', license: 'ISC' },
        'node_modules/jest': { version: '30.0.0', license: 'MIT', dev: true },
        'node_modules/@img/sharp-linux-x64': { version: '0.35.5', license: 'Apache-2.0', optional: true, os: ['linux'], cpu: ['x64'] },
      },
    });
    expect(report).toContain('| a | 1.0.0 | MIT |  |');
    expect(report).toContain('| b | 2.0.0 | ISC |  |');
    expect(report).toContain('| @img/sharp-linux-x64 | 0.35.5 | Apache-2.0 | platform |');
    expect(report).not.toContain('jest');
    expect(report).toContain('| MIT | 1 |');
  });
});
