import { open, stat } from 'node:fs/promises';
import {
  assertPlaneSize,
  ConversionError,
  type Conversion,
  type ConversionInput,
  type ConvertedView,
  type InputFile,
  type ScannerAdapter,
  type SniffResult,
} from '../adapter.js';
import {
  fieldEnd,
  pixelBytes,
  readField,
  readSample,
  sampleOffset,
  storageToImageIndex,
  toPlaneValue,
} from './raw-profile.codec.js';
import { FIELD_WINDOW, magicBytesOf, type HeaderField, type RawProfile } from './raw-profile.schema.js';

const ADAPTER_VERSION = '1.0.0';

/** Reads raw dual-energy files described by one declarative profile (see README.md). Id `raw:<profile id>`. */
export class RawProfileAdapter implements ScannerAdapter {
  readonly id: string;
  readonly version: string;
  readonly description: string;
  private readonly magic: Buffer;

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

  async convert(input: ConversionInput): Promise<Conversion> {
    if (input.files.length === 0) {
      throw new ConversionError('incomplete_scan', `no ${this.profile.vendor} ${this.profile.model} file was sent`);
    }
    const views: ConvertedView[] = [];
    const warnings: string[] = [];
    let acquiredAt: string | null = null;
    let serial: string | undefined;
    for (const [index, file] of input.files.entries()) {
      const result = await this.convertFile(file, index, input);
      if (views.some((v) => v.id === result.view.id)) {
        throw new ConversionError('incomplete_scan', `two files carry view ${result.view.id}: ${file.name} is a duplicate`);
      }
      views.push(result.view);
      warnings.push(...result.warnings);
      acquiredAt ??= result.acquiredAt;
      serial ??= result.serial;
    }
    const scanner: Conversion['scanner'] = { vendor: this.profile.vendor, model: this.profile.model };
    if (this.profile.software) scanner.software = this.profile.software;
    if (serial) scanner.serial = serial;
    return { scanner, acquiredAt, views, warnings };
  }

  private async convertFile(
    file: InputFile,
    index: number,
    input: ConversionInput,
  ): Promise<{ view: ConvertedView; warnings: string[]; acquiredAt: string | null; serial?: string }> {
    const p = this.profile;
    const size = (await stat(file.path)).size;
    const handle = await open(file.path, 'r');
    try {
      const window = Buffer.alloc(Math.min(size, FIELD_WINDOW));
      await handle.read(window, 0, window.length, 0);
      const name = `${p.vendor} ${p.model} file ${file.name}`;
      const field = (f: HeaderField, what: string): number => {
        if (fieldEnd(f) > window.length) {
          throw new ConversionError('malformed_input', `${name} is too short to hold its ${what} (bytes ${f.offset}..${fieldEnd(f) - 1})`);
        }
        return readField(window, f, p.endianness);
      };
      const magicEnd = p.magic.offset + this.magic.length;
      if (window.length < magicEnd || !window.subarray(p.magic.offset, magicEnd).equals(this.magic)) {
        throw new ConversionError(
          'malformed_input',
          `${name} does not carry the magic ${describeMagic(p)} at offset ${p.magic.offset}`,
        );
      }
      const headerLength = typeof p.headerLength === 'number' ? p.headerLength : field(p.headerLength, 'header length');
      if (!Number.isInteger(headerLength) || headerLength < magicEnd || headerLength > size) {
        throw new ConversionError('malformed_input', `${name} declares a header length of ${headerLength} bytes, impossible for a file of ${size} bytes`);
      }
      const width = typeof p.width === 'number' ? p.width : field(p.width, 'width');
      const height = typeof p.height === 'number' ? p.height : field(p.height, 'height');
      assertPlaneSize(width, height, input.limits);

      const expected = headerLength + pixelBytes(p, width, height);
      if (size !== expected) {
        throw new ConversionError(
          'malformed_input',
          `${name} should be ${expected} bytes (${headerLength}-byte header + ${p.planes.length} plane(s) of ${width} x ${height} ${p.sample}) but is ${size} bytes${size < expected ? ' (truncated)' : ''}`,
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
      let viewId = `view-${index + 1}`;
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
        airValue: air.value,
        planes: p.planes.map((energy, i) => {
          const nominalEnergy = p.nominalEnergy?.[energy];
          return nominalEnergy ? { energy, data: planes[i], nominalEnergy } : { energy, data: planes[i] };
        }),
      };
      // High before low, whatever the file order.
      view.planes.sort((a, b) => order(a.energy) - order(b.energy));
      return { view, warnings, acquiredAt, serial };
    } finally {
      await handle.close();
    }
  }

  private decodePlanes(pixels: Buffer, width: number, height: number): { planes: Uint16Array[]; clamped: number } {
    const p = this.profile;
    const n = width * height;
    const map = storageToImageIndex(p, width, height);
    const view = new DataView(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    let clamped = 0;
    const integer = p.sample !== 'float32';
    // Integer samples go through a lookup table of every possible stored value.
    const lut = integer ? new Uint16Array(65536) : undefined;
    const lutClamped = integer ? new Uint8Array(65536) : undefined;
    if (lut && lutClamped) {
      const top = p.sample === 'uint8' ? 255 : 65535;
      for (let v = 0; v <= top; v++) {
        const r = toPlaneValue(p, v);
        lut[v] = r.value;
        lutClamped[v] = r.clamped ? 1 : 0;
      }
    }
    const planes = p.planes.map((_, plane) => {
      const out = new Uint16Array(n);
      for (let s = 0; s < n; s++) {
        const stored = readSample(p, view, sampleOffset(p, n, plane, s));
        if (lut && lutClamped) {
          out[map[s]] = lut[stored];
          clamped += lutClamped[stored];
        } else {
          const r = toPlaneValue(p, stored);
          out[map[s]] = r.value;
          if (r.clamped) clamped++;
        }
      }
      return out;
    });
    return { planes, clamped };
  }
}

function order(energy: string): number {
  return energy === 'high' ? 0 : energy === 'low' ? 1 : 2;
}

function describeMagic(p: RawProfile): string {
  return p.magic.ascii !== undefined ? `'${p.magic.ascii}'` : `0x${p.magic.hex}`;
}
