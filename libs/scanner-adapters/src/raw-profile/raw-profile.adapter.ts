import os from 'node:os';
import { open } from 'node:fs/promises';
import {
  assertPlaneSize,
  assertScanSize,
  ConversionError,
  type Conversion,
  type ConversionInput,
  type ConversionLimits,
  type ConvertedView,
  type DeclaredPlanes,
  type InputFile,
  type ScannerAdapter,
  type SniffResult,
  type UploadedFileHead,
} from '../adapter.js';
import {
  fieldEnd,
  pixelBytes,
  readField,
  bytesPerSample,
  readSample,
  sampleOffset,
  storageToImageIndex,
  toPlaneValue,
} from './raw-profile.codec.js';
import { FIELD_WINDOW, magicBytesOf, type HeaderField, type RawProfile } from './raw-profile.schema.js';

const ADAPTER_VERSION = '1.0.0';

/** The size one file's header declares, checked against the limits (before anything else of the header). */
interface RawSize {
  headerLength: number;
  width: number;
  height: number;
}

/** What one file's header says, checked against the file size and the limits. */
interface RawHeader extends RawSize {
  /** Exact file size: header + planes (equal to the file's size once read). */
  expected: number;
  /** Air in the plane convention. */
  airValue: number;
  acquiredAt: string | null;
  /** From the profile or the header; undefined when the view is given by the file's position (`view-N`). */
  viewId: string | undefined;
  serial: string | undefined;
}

/** Reads raw dual-energy files described by one declarative profile (see README.md). Id `raw:<profile id>`. */
export class RawProfileAdapter implements ScannerAdapter {
  readonly id: string;
  readonly version: string;
  readonly description: string;
  private readonly magic: Buffer;
  private lut: { lut: Uint16Array; lutClamped: Uint8Array } | undefined;

  /** `profile` must be validated (rawProfileSchema.parse or loadProfiles). */
  constructor(readonly profile: RawProfile) {
    this.id = `raw:${profile.id}`;
    this.version = `${ADAPTER_VERSION}+profile.${profile.revision}`;
    this.description = profile.description ?? `${profile.vendor} ${profile.model} raw dual-energy files`;
    this.magic = magicBytesOf(profile.magic);
  }

  sniff(head: Uint8Array, _fileName: string): SniffResult {
    const start = this.profile.magic.offset;
    if (head.length < start + this.magic.length) return null;
    for (let i = 0; i < this.magic.length; i++) if (head[start + i] !== this.magic[i]) return null;
    return 'primary';
  }

  /**
   * Every header as convert reads it: first each file's plane size against the per-plane limit and all of them against
   * the per-scan limit, then the rest (magic, fields, exact file size, air value, time, view) and no two files of one
   * view. A head shorter than the header window convert reads is left to it.
   */
  check(files: UploadedFileHead[], limits: ConversionLimits): void {
    try {
      this.assertSomeFiles(files.length);
      const windows: { file: UploadedFileHead; index: number; window: Buffer; size: RawSize }[] = [];
      for (const [index, file] of files.entries()) {
        const length = Math.min(file.size, FIELD_WINDOW);
        if (file.head.length < length) continue;
        const window = Buffer.from(file.head.buffer, file.head.byteOffset, length);
        windows.push({ file, index, window, size: this.readSize(window, file.size, file.name, limits) });
      }
      assertScanSize(windows.map(({ size }) => this.declaredPlanes(size)), limits);
      const views: string[] = [];
      for (const { file, index, window, size } of windows) {
        const header = this.readHeader(window, file.size, file.name, size);
        const viewId = header.viewId ?? positionalViewId(index);
        assertNewView(views, viewId, file.name);
        views.push(viewId);
      }
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      // Anything else means the head could not be judged: convert will.
    }
  }

  async convert(input: ConversionInput): Promise<Conversion> {
    this.assertSomeFiles(input.files.length);
    // Every header first (each file's declared size, and their sum against the per-scan limit, before the rest), so
    // nothing is read past a header, let alone decoded, before all of them are known to be acceptable.
    const windows: { window: Buffer; size: number; declared: RawSize }[] = [];
    for (const file of input.files) {
      const { window, size } = await readWindow(file);
      windows.push({ window, size, declared: this.readSize(window, size, file.name, input.limits) });
      assertScanSize(windows.map(({ declared }) => this.declaredPlanes(declared)), input.limits);
    }
    const headers = windows.map(({ window, size, declared }, i) => this.readHeader(window, size, input.files[i].name, declared));
    const viewIds: string[] = [];
    for (const [index, header] of headers.entries()) {
      const viewId = header.viewId ?? positionalViewId(index);
      assertNewView(viewIds, viewId, input.files[index].name);
      viewIds.push(viewId);
    }
    // Then one file at a time: its planes are the only pixels read and decoded at once.
    const views: ConvertedView[] = [];
    const warnings: string[] = [];
    for (const [index, file] of input.files.entries()) {
      const result = await this.convertFile(file, headers[index], viewIds[index]);
      views.push(result.view);
      warnings.push(...result.warnings);
    }
    const scanner: Conversion['scanner'] = { vendor: this.profile.vendor, model: this.profile.model };
    if (this.profile.software) scanner.software = this.profile.software;
    const serial = headers.find((header) => header.serial)?.serial;
    if (serial) scanner.serial = serial;
    return { scanner, acquiredAt: headers.find((header) => header.acquiredAt)?.acquiredAt ?? null, views, warnings };
  }

  private assertSomeFiles(count: number): void {
    if (count === 0) {
      throw new ConversionError('incomplete_scan', `no ${this.profile.vendor} ${this.profile.model} file was sent`);
    }
  }

  /** The planes a file of this size holds: one per energy of the profile. */
  private declaredPlanes(size: RawSize): DeclaredPlanes {
    return { width: size.width, height: size.height, count: this.profile.planes.length };
  }

  /**
   * Reads and checks the size one file's header declares: magic, header length, width and height against the
   * per-plane limit. `window` holds its first min(size, FIELD_WINDOW) bytes.
   */
  private readSize(window: Buffer, size: number, fileName: string, limits: ConversionLimits): RawSize {
    const p = this.profile;
    const name = `${p.vendor} ${p.model} file ${fileName}`;
    const field = this.fieldReader(window, name);
    const magicEnd = p.magic.offset + this.magic.length;
    if (window.length < magicEnd || !window.subarray(p.magic.offset, magicEnd).equals(this.magic)) {
      throw new ConversionError('malformed_input', `${name} does not carry the magic ${describeMagic(p)} at offset ${p.magic.offset}`);
    }
    const headerLength = typeof p.headerLength === 'number' ? p.headerLength : field(p.headerLength, 'header length');
    if (!Number.isInteger(headerLength) || headerLength < magicEnd || headerLength > size) {
      throw new ConversionError('malformed_input', `${name} declares a header length of ${headerLength} bytes, impossible for a file of ${size} bytes`);
    }
    const width = typeof p.width === 'number' ? p.width : field(p.width, 'width');
    const height = typeof p.height === 'number' ? p.height : field(p.height, 'height');
    assertPlaneSize(width, height, limits);
    return { headerLength, width, height };
  }

  private fieldReader(window: Buffer, name: string): (f: HeaderField, what: string) => number {
    return (f, what) => {
      if (fieldEnd(f) > window.length) {
        throw new ConversionError('malformed_input', `${name} is too short to hold its ${what} (bytes ${f.offset}..${fieldEnd(f) - 1})`);
      }
      return readField(window, f, this.profile.endianness);
    };
  }

  /**
   * Reads and checks the rest of one file's header, after its size (readSize, checked against the limits): the exact
   * file size, air value, time, view and serial. The plane size is checked before the file size, so a huge
   * declaration is reported as such.
   */
  private readHeader(window: Buffer, size: number, fileName: string, declared: RawSize): RawHeader {
    const p = this.profile;
    const name = `${p.vendor} ${p.model} file ${fileName}`;
    const field = this.fieldReader(window, name);
    const { headerLength, width, height } = declared;

    const expected = headerLength + pixelBytes(p, width, height);
    if (size !== expected) {
      throw new ConversionError(
        'malformed_input',
        `${name} should be ${expected} bytes (${headerLength}-byte header + ${p.planes.length} plane(s) of ${width} x ${height} ${p.sample}) but is ${size} bytes${size < expected ? ' (truncated)' : ' (too long)'}`,
      );
    }

    const rawAir = typeof p.air === 'number' ? p.air : field(p.air, 'air value');
    const air = toPlaneValue(p, rawAir);
    if (air.clamped) {
      throw new ConversionError('malformed_input', `${name} declares an air value of ${rawAir}, outside the ${p.sample} range`);
    }
    let acquiredAt: string | null = null;
    if (p.timestamp) {
      const seconds = field(p.timestamp, 'timestamp');
      if (Number.isFinite(seconds) && seconds > 0) {
        const date = new Date(seconds * 1000);
        if (Number.isNaN(date.getTime())) {
          throw new ConversionError('malformed_input', `${name} declares an impossible acquisition time ${seconds}`);
        }
        acquiredAt = date.toISOString();
      }
    }
    let viewId: string | undefined;
    if (p.view && 'fixed' in p.view) viewId = p.view.fixed;
    else if (p.view) {
      const code = field(p.view.field, 'view');
      const mapped = p.view.values[String(code)];
      if (!mapped) throw new ConversionError('malformed_input', `${name} declares an unknown view code ${code}`);
      viewId = mapped;
    }
    let serial: string | undefined;
    if (p.serial && p.serial.offset + p.serial.length <= window.length) {
      serial = window
        .subarray(p.serial.offset, p.serial.offset + p.serial.length)
        .toString('latin1')
        .replace(/[\0 ]+$/, '')
        .trim();
      if (!serial) serial = undefined;
    }
    return { headerLength, width, height, expected, airValue: air.value, acquiredAt, viewId, serial };
  }

  /** Reads and decodes the planes of one file whose header (read and checked by convert) is `header`. */
  private async convertFile(file: InputFile, header: RawHeader, viewId: string): Promise<{ view: ConvertedView; warnings: string[] }> {
    const p = this.profile;
    const { headerLength, width, height, expected, airValue } = header;
    const handle = await open(file.path, 'r');
    try {
      const name = `${p.vendor} ${p.model} file ${file.name}`;
      const pixels = Buffer.allocUnsafe(expected - headerLength);
      const { bytesRead } = await handle.read(pixels, 0, pixels.length, headerLength);
      if (bytesRead !== pixels.length) {
        throw new ConversionError('malformed_input', `${name} ended after ${headerLength + bytesRead} of ${expected} bytes while reading`);
      }
      const { planes, clamped } = this.decodePlanes(pixels, width, height);
      const warnings: string[] = [];
      if (clamped > 0) {
        warnings.push(`${file.name}: ${clamped} samples outside the ${p.sample} range were clamped`);
      }
      const view: ConvertedView = {
        id: viewId,
        width,
        height,
        pixelSpacingMm: p.pixelSpacingMm ? { ...p.pixelSpacingMm } : null,
        airValue,
        planes: p.planes.map((energy, i) => {
          const nominalEnergy = p.nominalEnergy?.[energy];
          return nominalEnergy ? { energy, data: planes[i], nominalEnergy } : { energy, data: planes[i] };
        }),
      };
      // High before low, whatever the file order.
      view.planes.sort((a, b) => order(a.energy) - order(b.energy));
      return { view, warnings };
    } finally {
      await handle.close();
    }
  }

  private decodePlanes(pixels: Buffer, width: number, height: number): { planes: Uint16Array[]; clamped: number } {
    const p = this.profile;
    const n = width * height;
    const { storage, flipHorizontal, flipVertical } = p.orientation;
    // Row storage without flips keeps file order; otherwise each stored sample is moved to its image index.
    const map = storage === 'rows' && !flipHorizontal && !flipVertical ? null : storageToImageIndex(p, width, height);
    let clamped = 0;
    if (p.sample === 'float32') {
      const view = new DataView(pixels.buffer, pixels.byteOffset, pixels.byteLength);
      const planes = p.planes.map((_, plane) => {
        const out = new Uint16Array(n);
        for (let s = 0; s < n; s++) {
          const r = toPlaneValue(p, readSample(p, view, sampleOffset(p, n, plane, s)));
          out[map ? map[s] : s] = r.value;
          if (r.clamped) clamped++;
        }
        return out;
      });
      return { planes, clamped };
    }
    // Integer samples: read all of them at once in host order, then map each through a lookup table of every
    // possible stored value (range check, attenuation inversion and widening in one step).
    const samples = this.integerSamples(pixels);
    const { lut, lutClamped } = this.lookupTable();
    const planar = p.interleave === 'planar';
    const stride = planar ? 1 : p.planes.length;
    const planes = p.planes.map((_, plane) => {
      const out = new Uint16Array(n);
      let i = planar ? plane * n : plane;
      for (let s = 0; s < n; s++, i += stride) {
        const stored = samples[i];
        out[map ? map[s] : s] = lut[stored];
        clamped += lutClamped[stored];
      }
      return out;
    });
    return { planes, clamped };
  }

  /** Plane value and out-of-range flag of every possible stored integer value; built once per adapter. */
  private lookupTable(): { lut: Uint16Array; lutClamped: Uint8Array } {
    if (!this.lut) {
      const lut = new Uint16Array(65536);
      const lutClamped = new Uint8Array(65536);
      const top = this.profile.sample === 'uint8' ? 255 : 65535;
      for (let v = 0; v <= top; v++) {
        const r = toPlaneValue(this.profile, v);
        lut[v] = r.value;
        lutClamped[v] = r.clamped ? 1 : 0;
      }
      this.lut = { lut, lutClamped };
    }
    return this.lut;
  }

  /** Every stored integer sample as a number array in host byte order (one copy, native byte swap). */
  private integerSamples(pixels: Buffer): Uint8Array | Uint16Array {
    if (bytesPerSample(this.profile) === 1) return pixels;
    const samples = new Uint16Array(pixels.byteLength / 2);
    const bytes = Buffer.from(samples.buffer);
    pixels.copy(bytes);
    if ((this.profile.endianness === 'little') !== (os.endianness() === 'LE')) bytes.swap16();
    return samples;
  }
}

/** The first min(size, FIELD_WINDOW) bytes of a file, where every header field lies, and the file's size. */
async function readWindow(file: InputFile): Promise<{ window: Buffer; size: number }> {
  const handle = await open(file.path, 'r');
  try {
    const size = (await handle.stat()).size;
    const window = Buffer.alloc(Math.min(size, FIELD_WINDOW));
    await handle.read(window, 0, window.length, 0);
    return { window, size };
  } finally {
    await handle.close();
  }
}

function positionalViewId(index: number): string {
  return `view-${index + 1}`;
}

function assertNewView(seen: string[], viewId: string, fileName: string): void {
  if (seen.includes(viewId)) {
    throw new ConversionError('incomplete_scan', `two files carry view ${viewId}: ${fileName} is a duplicate`);
  }
}

function order(energy: string): number {
  return energy === 'high' ? 0 : energy === 'low' ? 1 : 2;
}

function describeMagic(p: RawProfile): string {
  return p.magic.ascii !== undefined ? `'${p.magic.ascii}'` : `0x${p.magic.hex}`;
}
