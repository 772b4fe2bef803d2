import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BundleError, looksLikeBundle, originalPartPath, readBundle, writeBundle, writeTar } from './bundle.js';
import type { Manifest } from './manifest.js';
import { buildPackage, type PackagePart, serialiseManifest, sha256Hex } from './package.js';
import { SAMPLE_ORIGINAL_BYTES, sampleBuildInput } from './sample-package.testing.js';

/** 95 characters: `originals/` and it make a path longer than the 100 bytes of a ustar name field. */
const LONG_NAME = `${'very-long-vendor-file-name-'.repeat(3)}${'x'.repeat(10)}.ax6`;

async function* slowly(parts: PackagePart[]): AsyncGenerator<PackagePart> {
  for (const part of parts) yield part;
}

/** Rewrites the name of the tar header at `offset` and its checksum (to forge hostile archives). */
function rename(tar: Buffer, offset: number, name: string): void {
  tar.fill(0, offset, offset + 100);
  tar.write(name, offset, 100, 'latin1');
  fixChecksum(tar, offset);
}

function fixChecksum(tar: Buffer, offset: number): void {
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[offset + i];
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 8, 'latin1');
}

describe('bundle', () => {
  let dir: string;
  let manifest: Manifest;
  let parts: PackagePart[];
  let bundlePath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'niix-bundle-'));
    const input = sampleBuildInput();
    input.originals.push({ ...input.originals[0], name: LONG_NAME });
    ({ manifest, parts } = await buildPackage(input));
    const originals = input.originals.map((o) => ({ path: originalPartPath(o.name), data: SAMPLE_ORIGINAL_BYTES }));
    bundlePath = join(dir, 'scan.niix.tar');
    await pipeline(writeBundle(manifest, slowly([...parts, ...originals])), createWriteStream(bundlePath));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a ustar archive that GNU tar lists and extracts, manifest.json first', async () => {
    const listing = execFileSync('tar', ['-tvf', bundlePath], { encoding: 'utf8' }).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).pop())).toEqual([
      'manifest.json',
      'views/top/high.png',
      'views/top/low.png',
      'views/side/single.png',
      'originals/scan-0042.ax6',
      `originals/${LONG_NAME}`,
    ]);
    expect(listing[0]).toMatch(/^-rw-r--r-- niix\/niix\s+\d+ 2026-11-20 /);
    const manifestJson = execFileSync('tar', ['-xOf', bundlePath, 'manifest.json']);
    expect(manifestJson.equals(serialiseManifest(manifest))).toBe(true);
    const plane = execFileSync('tar', ['-xOf', bundlePath, 'views/top/low.png']);
    expect(sha256Hex(plane)).toBe(manifest.views[0].planes[1].sha256);
    expect(looksLikeBundle((await readFile(bundlePath)).subarray(0, 4096))).toBe(true);
  });

  it('reads its own bundle back: manifest, entries and parts', async () => {
    const bundle = await readBundle(bundlePath);
    expect(bundle.manifest).toEqual(manifest);
    expect(bundle.entries.map((e) => e.path)).toHaveLength(6);
    expect((await bundle.readPart('views/side/single.png')).equals(parts[2].data)).toBe(true);
    expect((await bundle.readPart(`originals/${LONG_NAME}`)).equals(SAMPLE_ORIGINAL_BYTES)).toBe(true);
    await expect(bundle.readPart('views/front/high.png')).rejects.toThrow(BundleError);
  });

  it.each([['gnu'], ['posix'], ['ustar']])('reads a bundle made by tar -cf --format=%s with manifest.json first', async (format) => {
    const tree = join(dir, `tree-${format}`);
    for (const part of parts) {
      await mkdir(join(tree, part.path, '..'), { recursive: true });
      await writeFile(join(tree, part.path), part.data);
    }
    await mkdir(join(tree, 'originals'), { recursive: true });
    await writeFile(join(tree, 'originals', LONG_NAME), SAMPLE_ORIGINAL_BYTES);
    await writeFile(join(tree, 'manifest.json'), serialiseManifest(manifest));
    const tarPath = join(dir, `made-by-tar-${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '-cf', tarPath, '-C', tree, 'manifest.json', 'views', 'originals']);
    const bundle = await readBundle(tarPath);
    expect(bundle.manifest).toEqual(manifest);
    expect((await bundle.readPart('views/top/high.png')).equals(parts[0].data)).toBe(true);
    expect((await bundle.readPart(`originals/${LONG_NAME}`)).equals(SAMPLE_ORIGINAL_BYTES)).toBe(true);
  });

  async function forged(change: (tar: Buffer) => Buffer | void): Promise<string> {
    const tar = await readFile(bundlePath);
    const out = change(tar) ?? tar;
    const path = join(dir, `forged-${Math.random().toString(36).slice(2)}.tar`);
    await writeFile(path, out);
    return path;
  }

  const manifestBlocks = (): number => 512 + Math.ceil(serialiseManifest(manifest).length / 512) * 512;

  it.each<[string, (tar: Buffer) => Buffer | void, RegExp]>([
    ['a damaged header', (tar) => void (tar[5] ^= 1), /checksum mismatch/],
    ['a path leaving the bundle', (tar) => rename(tar, manifestBlocks(), '../../etc/cron.d/x'), /path that is not allowed/],
    ['an absolute path', (tar) => rename(tar, manifestBlocks(), '/etc/passwd'), /path that is not allowed/],
    ['another file first', (tar) => rename(tar, 0, 'readme.txt'), /first file of a bundle must be manifest.json/],
    ['a missing plane', (tar) => rename(tar, manifestBlocks(), 'views/top/extra.png'), /lacks part views\/top\/high.png/],
    ['a duplicated entry', (tar) => rename(tar, manifestBlocks(), 'manifest.json'), /appears twice/],
    [
      'an absurd size',
      (tar) => {
        tar.write('77777777777\0', manifestBlocks() + 124, 12, 'latin1');
        fixChecksum(tar, manifestBlocks());
      },
      /claims 8589934591 bytes/,
    ],
    [
      'a symbolic link',
      (tar) => {
        tar.write('2', manifestBlocks() + 156, 1, 'latin1');
        fixChecksum(tar, manifestBlocks());
      },
      /tar type "2"/,
    ],
    ['a truncated file', (tar) => tar.subarray(0, tar.length - 2048), /truncated/],
    ['no end-of-archive marker', (tar) => tar.subarray(0, tar.length - 1024), /end-of-archive marker is missing/],
    ['not a tar', () => Buffer.alloc(2048, 0x41), /not a tar/],
    ['a manifest that is not JSON', (tar) => void tar.write('{{', 512, 'latin1'), /manifest.json is not valid JSON/],
  ])('rejects %s with a BundleError', async (_what, change, message) => {
    const path = await forged(change);
    const error = await readBundle(path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects a manifest that is not a niix manifest', async () => {
    const bad = { ...manifest, format: 'other' } as unknown as Manifest;
    const path = join(dir, 'bad-manifest.tar');
    await expect(pipeline(writeBundle(bad, []), createWriteStream(path))).rejects.toThrow(/not a niix exchange manifest/);
  });

  it('refuses to write parts the manifest does not describe, damaged parts and missing planes', async () => {
    const sink = (): NodeJS.WritableStream => createWriteStream(join(dir, 'never.tar'));
    await expect(pipeline(writeBundle(manifest, [...parts, { path: 'notes.txt', data: Buffer.from('x') }]), sink())).rejects.toThrow(
      'part notes.txt is not described by the manifest',
    );
    const damaged = [{ ...parts[0], data: Buffer.from(parts[1].data) }, ...parts.slice(1)];
    await expect(pipeline(writeBundle(manifest, damaged), sink())).rejects.toThrow('does not match the sha-256');
    await expect(pipeline(writeBundle(manifest, parts.slice(0, 2)), sink())).rejects.toThrow(
      'plane views/side/single.png of the manifest was not given',
    );
    await expect(pipeline(writeBundle(manifest, [{ ...parts[0], path: '../x' }]), sink())).rejects.toThrow('is not allowed');
  });

  it('writes a plain tar of any files that GNU tar lists and extracts, and refuses unsafe or repeated paths', async () => {
    const tarPath = join(dir, 'files.tar');
    const files = [
      { path: 'top-high.dcm', data: Buffer.from('high energy image') },
      { path: 'truth/truth.dcs', data: Buffer.alloc(1000, 7) },
    ];
    await pipeline(writeTar(slowly(files), { mtime: new Date('2026-04-02T08:00:00Z') }), createWriteStream(tarPath));
    const listing = execFileSync('tar', ['-tvf', tarPath], { encoding: 'utf8' }).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).pop())).toEqual(['top-high.dcm', 'truth/truth.dcs']);
    expect(listing[0]).toMatch(/^-rw-r--r-- niix\/niix\s+17 2026-04-02 /);
    expect(execFileSync('tar', ['-xOf', tarPath, 'truth/truth.dcs']).equals(files[1].data)).toBe(true);
    expect((await readFile(tarPath)).length).toBe(512 * (1 + 1 + 1 + 2) + 1024);
    const sink = (): NodeJS.WritableStream => createWriteStream(join(dir, 'never.tar'));
    const mtime = new Date();
    await expect(pipeline(writeTar([{ path: '../x', data: Buffer.alloc(1) }], { mtime }), sink())).rejects.toThrow(BundleError);
    await expect(pipeline(writeTar([files[0], files[0]], { mtime }), sink())).rejects.toThrow('given twice');
  });

  it('makes uploaded names safe as original paths', () => {
    expect(originalPartPath('../../etc/passwd')).toBe('originals/___.._etc_passwd');
    expect(originalPartPath('.hidden')).toBe('originals/_hidden');
    expect(originalPartPath('scan 1.dcm')).toBe('originals/scan 1.dcm');
  });
});
