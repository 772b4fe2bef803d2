import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The licences of niix's production dependencies, from package-lock.json (the exact versions an install takes),
 * written to docs/licences.md:
 *
 *   npm run docs:licences
 *
 * Packages only some platforms install (sharp's libvips builds, prebuilt argon2 modules ...) are listed once per
 * platform package, marked "platform". A test fails when the committed list no longer matches the lockfile.
 */

interface LockPackage {
  version?: string;
  license?: string;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
}

export interface Lockfile {
  packages: Record<string, LockPackage>;
}

export const LICENCES_DOC = 'docs/licences.md';

/** The Markdown document listing every production dependency of the lockfile with its licence. */
export function licenceReport(lock: Lockfile): string {
  const rows = Object.entries(lock.packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && !entry.dev)
    .map(([key, entry]) => ({
      name: key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: entry.version ?? '',
      licence: entry.license ?? 'UNKNOWN',
      platform: Boolean(entry.os || entry.cpu),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const unique = rows.filter((row, i) => i === 0 || row.name !== rows[i - 1].name || row.version !== rows[i - 1].version);
  const counts = new Map<string, number>();
  for (const row of unique) counts.set(row.licence, (counts.get(row.licence) ?? 0) + 1);
  const summary = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return [
    '# Licences of the production dependencies',
    '',
    `Generated from package-lock.json by \`npm run docs:licences\`; do not edit by hand. ${unique.length} packages, as`,
    'declared by each package. The service itself is Apache-2.0 (LICENSE, NOTICE). The LGPL-3.0 packages are',
    "libvips builds that sharp loads as a shared library (a separate, replaceable file in node_modules/@img).",
    '',
    '| licence | packages |',
    '|---|---|',
    ...summary.map(([licence, count]) => `| ${licence} | ${count} |`),
    '',
    '| package | version | licence | |',
    '|---|---|---|---|',
    ...unique.map((row) => `| ${row.name} | ${row.version} | ${row.licence} | ${row.platform ? 'platform' : ''} |`),
    '',
  ].join('\n');
}

if (process.argv.includes('--write')) {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Lockfile;
  writeFileSync(LICENCES_DOC, licenceReport(lock));
  console.log(`wrote ${LICENCES_DOC}`);
}
