import { DEFAULT_BUNDLE_LIMITS, hasTarMagic } from '../../../exchange-format/src/bundle.js';
import type { Manifest } from '../../../exchange-format/src/manifest.js';
import { MANIFEST_PATH, PackageIntegrityError, parseManifest } from '../../../exchange-format/src/package.js';
import { ConversionError, type UploadedFileHead } from '../adapter.js';

/**
 * What the first bytes of a bundle show: its first tar header (the one of manifest.json, or sniff would not have
 * chosen this adapter) and, when the head holds it, manifest.json itself. Failures are worded as readBundle words
 * them. readBundle reads a whole file by path, so this reads the few header fields check needs from memory; its
 * header rules (ustar magic, checksum in either sign, octal size) must stay the same as readBundle's.
 */

const BLOCK = 512;

function malformed(name: string, reason: string): ConversionError {
  return new ConversionError('malformed_input', `${name}: ${reason}`);
}

/** An octal tar header field (NUL/space padded); undefined when it is not one. */
function octal(block: Uint8Array, offset: number, length: number): number | undefined {
  if (block[offset] & 0x80) return undefined;
  const text = Buffer.from(block.buffer, block.byteOffset + offset, length)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^[ ]+/, '');
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

/** The header checksum, bytes 148..155 counted as spaces, as unsigned and as signed bytes (old tars). */
function checksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

/**
 * Checks the first tar header of a bundle and returns manifest.json, parsed and validated, when the head holds all
 * of it; undefined when it does not (or when the first header is a pax or long-name record: left to convert).
 */
export function readBundleHead(file: UploadedFileHead): Manifest | undefined {
  const { name, size, head } = file;
  if (size < BLOCK) throw malformed(name, `the bundle is truncated: ${size} bytes cannot hold a tar header`);
  if (head.length < BLOCK) return undefined;
  const block = head.subarray(0, BLOCK);
  if (!hasTarMagic(block)) throw malformed(name, 'the file is not a tar (ustar) archive');
  const stored = octal(block, 148, 8);
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed) {
    throw malformed(name, `the tar header of ${MANIFEST_PATH} at byte 0 is damaged (checksum mismatch)`);
  }
  const type = String.fromCharCode(block[156] || 0x30);
  if (type !== '0' && type !== '7') return undefined;
  const entrySize = octal(block, 124, 12);
  if (entrySize === undefined) throw malformed(name, `entry ${MANIFEST_PATH} has an unreadable size`);
  if (BLOCK + entrySize > size) {
    throw malformed(
      name,
      `entry ${MANIFEST_PATH} claims ${entrySize} bytes but the file ends ${size - BLOCK} bytes later: the bundle is truncated or damaged`,
    );
  }
  if (entrySize > DEFAULT_BUNDLE_LIMITS.maxManifestBytes) {
    throw malformed(name, `${MANIFEST_PATH} is ${entrySize} bytes, more than the limit of ${DEFAULT_BUNDLE_LIMITS.maxManifestBytes}`);
  }
  if (BLOCK + entrySize > head.length) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(head.buffer, head.byteOffset + BLOCK, entrySize).toString('utf8'));
  } catch (error) {
    throw malformed(name, `${MANIFEST_PATH} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseManifest(json);
  } catch (error) {
    if (error instanceof PackageIntegrityError) throw malformed(name, `${MANIFEST_PATH}: ${error.message}`);
    throw error;
  }
}
