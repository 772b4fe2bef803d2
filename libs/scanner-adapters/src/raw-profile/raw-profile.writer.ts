import {
  fieldEnd,
  pixelBytes,
  sampleOffset,
  storageToImageIndex,
  toStoredValue,
  writeField,
  writeSample,
} from './raw-profile.codec.js';
import { magicBytesOf, type RawProfile } from './raw-profile.schema.js';

export type { ScanToWrite } from '../adapter.js';
import type { ScanToWrite } from '../adapter.js';

/**
 * Writes a scan as the raw files a scanner of this profile would produce, one file per view: the inverse of
 * RawProfileAdapter.convert, for tests, the demo and benchmarks. Lossless for 16-bit and float32 profiles;
 * 12-bit profiles keep `t >> 4` of each plane value and 8-bit ones `round(t / 257)`. Values the profile fixes
 * (air value, size) are not written; a scan that contradicts a fixed size is refused.
 */
export function writeRawProfile(profile: RawProfile, scan: ScanToWrite): { name: string; data: Buffer }[] {
  return scan.views.map((view, index) => {
    const { width, height } = view;
    if (typeof profile.width === 'number' && profile.width !== width) {
      throw new Error(`profile ${profile.id} has a fixed width of ${profile.width}, view ${view.id} is ${width} wide`);
    }
    if (typeof profile.height === 'number' && profile.height !== height) {
      throw new Error(`profile ${profile.id} has a fixed height of ${profile.height}, view ${view.id} is ${height} high`);
    }
    const headerLength = typeof profile.headerLength === 'number' ? profile.headerLength : minimalHeaderLength(profile);
    const file = Buffer.alloc(headerLength + pixelBytes(profile, width, height));
    const magic = magicBytesOf(profile.magic);
    magic.copy(file, profile.magic.offset);
    const e = profile.endianness;
    if (typeof profile.headerLength !== 'number') writeField(file, profile.headerLength, e, headerLength);
    if (typeof profile.width !== 'number') writeField(file, profile.width, e, width);
    if (typeof profile.height !== 'number') writeField(file, profile.height, e, height);
    if (typeof profile.air !== 'number') writeField(file, profile.air, e, toStoredValue(profile, view.airValue));
    if (profile.timestamp && scan.acquiredAt) {
      writeField(file, profile.timestamp, e, Math.round(Date.parse(scan.acquiredAt) / 1000));
    }
    if (profile.view && 'field' in profile.view) {
      const code = Object.entries(profile.view.values).find(([, id]) => id === view.id)?.[0];
      if (code === undefined) throw new Error(`profile ${profile.id} has no code for view ${view.id}`);
      writeField(file, profile.view.field, e, Number(code));
    }
    if (profile.serial && scan.scanner.serial) {
      file.write(scan.scanner.serial.slice(0, profile.serial.length), profile.serial.offset, 'latin1');
    }

    const n = width * height;
    const map = storageToImageIndex(profile, width, height);
    const pixels = new DataView(file.buffer, file.byteOffset + headerLength, file.length - headerLength);
    profile.planes.forEach((energy, p) => {
      const plane = view.planes.find((candidate) => candidate.energy === energy);
      if (!plane) throw new Error(`view ${view.id} has no ${energy} plane, which profile ${profile.id} stores`);
      for (let s = 0; s < n; s++) {
        writeSample(profile, pixels, sampleOffset(profile, n, p, s), toStoredValue(profile, plane.data[map[s]]));
      }
    });
    const name = scan.views.length === 1 ? `${profile.id}${profile.fileExtension}` : `${profile.id}-${index + 1}-${view.id}${profile.fileExtension}`;
    return { name, data: file };
  });
}

/** Smallest header holding every field, rounded up to 16 bytes (for profiles whose header length is a field). */
function minimalHeaderLength(profile: RawProfile): number {
  let end = profile.magic.offset + magicBytesOf(profile.magic).length;
  for (const f of [profile.headerLength, profile.width, profile.height, profile.air, profile.timestamp]) {
    if (f !== undefined && typeof f !== 'number') end = Math.max(end, fieldEnd(f));
  }
  if (profile.view && 'field' in profile.view) end = Math.max(end, fieldEnd(profile.view.field));
  if (profile.serial) end = Math.max(end, profile.serial.offset + profile.serial.length);
  return Math.ceil(end / 16) * 16;
}
