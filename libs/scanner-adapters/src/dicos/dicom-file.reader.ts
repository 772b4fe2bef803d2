import dicomParser from 'dicom-parser';
import type { DataSet, Element, ParseDicomOptions } from 'dicom-parser';
import { ConversionError, type ConversionLimits } from '../adapter.js';
import { codestreamSize, jpegScanCount, MAX_JPEG_SCANS, type CodestreamKind } from '../codestream-header.js';
import {
  CodecError,
  decodeJpeg2000,
  decodeJpegBaseline,
  decodeJpegLossless,
  decodeJpegLs,
  describeThrown,
  inflateDataSet,
  InflateLimitError,
  type DecodedFrame,
} from './pixel-codecs.js';
import { decodeJpegDct, JpegDctError } from './jpeg-dct.decoder.js';
import { decodeRle } from './rle.decoder.js';
import { NIIX_PRIVATE_CREATOR, TRANSFER_SYNTAX } from './dicom-uids.js';

/**
 * Reads one DICOM / DICOS Part 10 file: the attributes the adapter needs and, on demand, the stored pixel
 * values of every frame, whatever the transfer syntax. Every problem is a ConversionError with a sentence
 * that names the file.
 */

/** Stored values of one frame, one sample per pixel (colour is already reduced to luminance). */
export type StoredValues =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export interface StoredFrames {
  frames: StoredValues[];
  /** Significant bits of the integer values (after masking); undefined for floating point. */
  bits: number | undefined;
  signed: boolean;
  float: boolean;
  warnings: string[];
}

export interface DicomImage {
  fileName: string;
  transferSyntax: string;
  sopClassUid: string | undefined;
  rows: number;
  columns: number;
  frameCount: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  photometric: string;
  planarConfiguration: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Pixel Intensity Relationship Sign (0028,1041): +1 values grow with X-ray intensity, -1 they fall. */
  intensitySign: number | undefined;
  imageType: string[];
  kvp: number | undefined;
  viewPosition: string | undefined;
  studyUid: string | undefined;
  seriesUid: string | undefined;
  frameOfReferenceUid: string | undefined;
  seriesNumber: number | undefined;
  instanceNumber: number | undefined;
  manufacturer: string | undefined;
  model: string | undefined;
  software: string | undefined;
  serial: string | undefined;
  /** DICOM DA/TM/DT strings and the offset, as found. */
  acquisition: { date?: string; time?: string; dateTime?: string; tzOffset?: string };
  /** Row spacing \ column spacing in mm, when positive. */
  pixelSpacing: { row: number; column: number } | null;
  /** Written by niix's own DICOS writer (private block NIIX 1.0). */
  niix: { airValue?: number; viewId?: string; energy?: string };
  dataSet: DataSet;
}

/** DICOM parse errors come as strings, Errors or `{ exception, dataSet }` objects. */
function parseError(fileName: string, thrown: unknown): ConversionError {
  const reason = describeThrown(thrown);
  if (/DICM prefix not found/i.test(reason)) {
    return new ConversionError(
      'malformed_input',
      `${fileName} has no DICOM Part 10 header ('DICM' at byte 128 and a file meta group); a raw data set without it cannot be read safely`,
    );
  }
  if (/buffer overrun|beyond|outside|end of/i.test(reason)) {
    return new ConversionError('malformed_input', `${fileName} is truncated: the DICOM data set ends inside an element (${reason})`);
  }
  return new ConversionError('malformed_input', `${fileName} is not a readable DICOM file: ${reason}`);
}

const str = (ds: DataSet, tag: string): string | undefined => {
  const value = ds.string(tag);
  return value === undefined || value === '' ? undefined : value;
};
/**
 * Value `index` of a DS/IS attribute. Split here rather than with dicom-parser's floatString, which throws a TypeError
 * when the attribute has fewer values than asked for (a Pixel Spacing with one value).
 */
const num = (ds: DataSet, tag: string, index = 0): number | undefined => {
  const part = ds.string(tag)?.split('\\')[index];
  if (part === undefined) return undefined;
  const value = parseFloat(part);
  return Number.isNaN(value) ? undefined : value;
};

function niixPrivate(ds: DataSet): DicomImage['niix'] {
  // Private creator (0009,00xx) = NIIX 1.0 reserves block xx: elements (0009,xx01) air value, xx02 view id, xx03 energy.
  for (let block = 0x10; block <= 0xff; block++) {
    const creatorTag = `x000900${block.toString(16).padStart(2, '0')}`;
    if (str(ds, creatorTag) !== NIIX_PRIVATE_CREATOR) continue;
    const prefix = `x0009${block.toString(16).padStart(2, '0')}`;
    const air = ds.elements[`${prefix}01`] ? ds.uint16(`${prefix}01`) : undefined;
    return { airValue: air, viewId: str(ds, `${prefix}02`), energy: str(ds, `${prefix}03`) };
  }
  return {};
}

/** Most frames read from one file (each frame becomes a view of its own). */
export const MAX_FRAMES_PER_FILE = 64;
/** The frames of one file together hold at most this many planes' worth of pixels (the per-plane limit). */
export const PLANES_PER_FILE = 4;
/** Attributes besides the pixels allowed in an inflated (deflated transfer syntax) data set. */
const INFLATED_ATTRIBUTE_BYTES = 16 * 1024 * 1024;

/**
 * Largest size a deflated data set may inflate to under these limits: the pixels of PLANES_PER_FILE planes, or of the
 * whole scan when that is less, at up to 4 bytes a sample, plus room for the other attributes. A small deflate stream
 * can expand a thousandfold; without this bound it would be followed to gigabytes before a single attribute is read.
 */
export function maxInflatedBytes(limits: ConversionLimits): number {
  return INFLATED_ATTRIBUTE_BYTES + 4 * maxPixelsPerFile(limits);
}

/** The most pixels one file may hold: PLANES_PER_FILE planes, and never more than the whole scan. */
function maxPixelsPerFile(limits: ConversionLimits): number {
  return Math.min(PLANES_PER_FILE * limits.maxPixelsPerPlane, limits.maxPixelsPerScan);
}

/**
 * Parses a whole Part 10 file. With `limits`, a deflated data set is inflated only up to maxInflatedBytes; a larger
 * one is refused as too_many_pixels.
 */
export function readDicomFile(fileName: string, bytes: Uint8Array, limits?: ConversionLimits): DicomImage {
  const maxBytes = limits ? maxInflatedBytes(limits) : undefined;
  let ds: DataSet;
  try {
    ds = parseDataSet(fileName, bytes, { inflater: (byteArray, position) => inflateDataSet(byteArray, position, maxBytes) });
  } catch (error) {
    if (error instanceof InflateLimitError && limits) {
      throw new ConversionError(
        'too_many_pixels',
        `${fileName}: its deflated data set inflates to more than ${error.maxBytes} bytes, more than a file of at most ${maxPixelsPerFile(limits)} pixels holds (${PLANES_PER_FILE} planes of at most ${limits.maxPixelsPerPlane} pixels, at most ${limits.maxPixelsPerScan} pixels per scan)`,
      );
    }
    throw error;
  }
  return describeDataSet(fileName, ds);
}

/**
 * Parses a Part 10 file (or its first bytes, with `untilTag`). Deflated data sets are inflated unless `inflater`
 * says otherwise. Parse failures become ConversionError (malformed_input); an InflateLimitError from the inflater is
 * passed on.
 */
export function parseDataSet(fileName: string, bytes: Uint8Array, options: ParseDicomOptions = {}): DataSet {
  try {
    return dicomParser.parseDicom(bytes, { inflater: (byteArray, position) => inflateDataSet(byteArray, position), ...options });
  } catch (thrown) {
    if (thrown instanceof InflateLimitError || thrown instanceof ConversionError) throw thrown;
    throw parseError(fileName, thrown);
  }
}

/** The attributes of a parsed data set (pixel data may be present as an element header only). */
export function describeDataSet(fileName: string, ds: DataSet): DicomImage {
  const transferSyntax = str(ds, 'x00020010') ?? '';
  const rows = ds.uint16('x00280010');
  const columns = ds.uint16('x00280011');
  const hasPixels = ['x7fe00010', 'x7fe00008', 'x7fe00009'].some((tag) => ds.elements[tag] !== undefined);
  if (!hasPixels || rows === undefined || columns === undefined) {
    throw new ConversionError('malformed_input', `${fileName} carries no image: pixel data, Rows or Columns is missing`);
  }
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const spacing = [num(ds, 'x00280030', 0), num(ds, 'x00280030', 1)];
  const imagerSpacing = [num(ds, 'x00181164', 0), num(ds, 'x00181164', 1)];
  const pick = [spacing, imagerSpacing].find(([r, c]) => r !== undefined && c !== undefined && r > 0 && c > 0);
  return {
    fileName,
    transferSyntax,
    sopClassUid: str(ds, 'x00080016'),
    rows,
    columns,
    frameCount: Math.max(1, Math.trunc(num(ds, 'x00280008') ?? 1)),
    samplesPerPixel: ds.uint16('x00280002') ?? 1,
    bitsAllocated,
    bitsStored: ds.uint16('x00280101') ?? bitsAllocated,
    highBit: ds.uint16('x00280102') ?? (ds.uint16('x00280101') ?? bitsAllocated) - 1,
    pixelRepresentation: ds.uint16('x00280103') ?? 0,
    photometric: (str(ds, 'x00280004') ?? 'MONOCHROME2').trim().toUpperCase(),
    planarConfiguration: ds.uint16('x00280006') ?? 0,
    rescaleSlope: num(ds, 'x00281053') ?? 1,
    rescaleIntercept: num(ds, 'x00281052') ?? 0,
    intensitySign: ds.elements.x00281041 ? ds.int16('x00281041') : undefined,
    imageType: (ds.string('x00080008') ?? '').split('\\').map((v) => v.trim().toUpperCase()).filter(Boolean),
    kvp: num(ds, 'x00180060'),
    viewPosition: str(ds, 'x00185101')?.toUpperCase(),
    studyUid: str(ds, 'x0020000d'),
    seriesUid: str(ds, 'x0020000e'),
    frameOfReferenceUid: str(ds, 'x00200052'),
    seriesNumber: num(ds, 'x00200011'),
    instanceNumber: num(ds, 'x00200013'),
    manufacturer: str(ds, 'x00080070'),
    model: str(ds, 'x00081090'),
    software: ds.elements.x00181020 ? (ds.string('x00181020') ?? '').split('\\')[0] || undefined : undefined,
    serial: str(ds, 'x00181000'),
    acquisition: {
      dateTime: str(ds, 'x0008002a') ?? undefined,
      date: str(ds, 'x00080022') ?? str(ds, 'x00080023'),
      time: str(ds, 'x00080022') ? str(ds, 'x00080032') : str(ds, 'x00080033'),
      tzOffset: str(ds, 'x00080201'),
    },
    pixelSpacing: pick ? { row: pick[0] as number, column: pick[1] as number } : null,
    niix: niixPrivate(ds),
    dataSet: ds,
  };
}

/** Checks the declared pixel layout and says why niix does not read it, if it does not. */
export function assertReadableLayout(image: DicomImage): void {
  const { fileName, samplesPerPixel, photometric, bitsAllocated, bitsStored, highBit } = image;
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) {
    throw new ConversionError('unsupported_variant', `${fileName} has ${samplesPerPixel} samples per pixel; only greyscale (1) and colour (3) images are read`);
  }
  if (photometric === 'PALETTE COLOR') {
    throw new ConversionError('unsupported_variant', `${fileName} is a palette-colour image, which carries no X-ray intensities`);
  }
  if (samplesPerPixel === 1 && photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    throw new ConversionError('unsupported_variant', `${fileName} declares the photometric interpretation ${photometric} for a greyscale image`);
  }
  const float = image.dataSet.elements.x7fe00008 !== undefined || image.dataSet.elements.x7fe00009 !== undefined;
  if (!float && bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new ConversionError('unsupported_variant', `${fileName} has ${bitsAllocated} bits allocated per sample; 8, 16 and 32 are read`);
  }
  if (!float && (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated)) {
    throw new ConversionError('malformed_input', `${fileName} declares impossible bit depths (allocated ${bitsAllocated}, stored ${bitsStored}, high bit ${highBit})`);
  }
}

const NATIVE = new Set<string>([
  TRANSFER_SYNTAX.implicitLittle,
  TRANSFER_SYNTAX.explicitLittle,
  TRANSFER_SYNTAX.deflatedExplicitLittle,
  TRANSFER_SYNTAX.explicitBig,
]);

/** Human name of a transfer syntax for messages and warnings. */
export function transferSyntaxName(uid: string): string {
  const names: Record<string, string> = {
    [TRANSFER_SYNTAX.jpegBaseline]: 'JPEG baseline (lossy)',
    [TRANSFER_SYNTAX.jpegExtended]: 'JPEG extended 12-bit (lossy)',
    [TRANSFER_SYNTAX.jpegLossless]: 'JPEG lossless',
    [TRANSFER_SYNTAX.jpegLosslessSv1]: 'JPEG lossless SV1',
    [TRANSFER_SYNTAX.jpegLs]: 'JPEG-LS lossless',
    [TRANSFER_SYNTAX.jpegLsNear]: 'JPEG-LS near-lossless',
    [TRANSFER_SYNTAX.jpeg2000Lossless]: 'JPEG 2000 lossless',
    [TRANSFER_SYNTAX.jpeg2000]: 'JPEG 2000 (lossy)',
    [TRANSFER_SYNTAX.rle]: 'RLE lossless',
  };
  return names[uid] ?? `transfer syntax ${uid || '(none)'}`;
}

/** Warnings for sources whose pixels were compressed with loss. */
export function lossyWarning(uid: string): string | undefined {
  const lossy = [TRANSFER_SYNTAX.jpegBaseline, TRANSFER_SYNTAX.jpegExtended, TRANSFER_SYNTAX.jpeg2000, TRANSFER_SYNTAX.jpegLsNear];
  return (lossy as string[]).includes(uid) ? `${transferSyntaxName(uid)} source: pixel values are approximate` : undefined;
}

/** Decodes every frame into stored values (masked, sign-extended, colour reduced to luminance). */
export async function readStoredFrames(image: DicomImage): Promise<StoredFrames> {
  assertReadableLayout(image);
  const ds = image.dataSet;
  const floatElement = ds.elements.x7fe00008 ?? ds.elements.x7fe00009;
  if (floatElement && !ds.elements.x7fe00010) return readFloatFrames(image, floatElement);
  const pixelData = ds.elements.x7fe00010 as Element;
  const ts = image.transferSyntax;
  if (NATIVE.has(ts)) {
    if (pixelData.encapsulatedPixelData) {
      throw new ConversionError('malformed_input', `${image.fileName} has encapsulated pixel data under an uncompressed transfer syntax`);
    }
    return readNativeFrames(image, pixelData);
  }
  if (!pixelData.encapsulatedPixelData || !pixelData.fragments) {
    throw new ConversionError('malformed_input', `${image.fileName} declares ${transferSyntaxName(ts)} but its pixel data is not encapsulated`);
  }
  if (ds.warnings.some((w) => /x7fe00010/i.test(w))) {
    throw new ConversionError(
      'malformed_input',
      `${image.fileName} is truncated: its compressed pixel data ends without the sequence delimiter (${ds.warnings.join('; ')})`,
    );
  }
  const frames = splitFrames(image, pixelData);
  const decoded: StoredValues[] = [];
  let bits = image.bitsStored;
  const warnings: string[] = [];
  for (let index = 0; index < frames.length; index++) {
    const result = await decodeCompressedFrame(image, frames[index], index);
    bits = result.bits;
    decoded.push(result.values);
    for (const w of result.warnings) if (!warnings.includes(w)) warnings.push(w);
  }
  return { frames: decoded, bits, signed: image.pixelRepresentation === 1, float: false, warnings };
}

/** Byte ranges of each frame's fragments, joined. A frame may span several fragments. */
function splitFrames(image: DicomImage, pixelData: Element): Uint8Array[] {
  const bytes = image.dataSet.byteArray;
  const fragments = pixelData.fragments ?? [];
  const n = image.frameCount;
  for (const fragment of fragments) {
    if (fragment.position + fragment.length > bytes.length) {
      throw new ConversionError('malformed_input', `${image.fileName} is truncated: a pixel data fragment runs past the end of the file`);
    }
  }
  if (fragments.length === 0) throw new ConversionError('malformed_input', `${image.fileName} has no pixel data fragments`);
  const join = (start: number, end: number): Uint8Array => {
    const parts = fragments.slice(start, end);
    const out = new Uint8Array(parts.reduce((sum, f) => sum + f.length, 0));
    let at = 0;
    for (const f of parts) {
      out.set(bytes.subarray(f.position, f.position + f.length), at);
      at += f.length;
    }
    return out;
  };
  let starts: number[];
  const bot = pixelData.basicOffsetTable ?? [];
  if (bot.length === n && n > 0) {
    starts = bot.map((offset) => fragments.findIndex((f) => f.offset === offset));
    if (starts.some((s) => s < 0)) {
      throw new ConversionError('malformed_input', `${image.fileName} has a basic offset table that does not point at fragments`);
    }
  } else if (n === 1) {
    starts = [0];
  } else if (fragments.length === n) {
    starts = fragments.map((_, i) => i);
  } else {
    // No offset table and more fragments than frames: a frame starts where a codestream starts.
    starts = [];
    fragments.forEach((f, i) => {
      const b = bytes.subarray(f.position, f.position + 4);
      const jpeg = b[0] === 0xff && b[1] === 0xd8;
      const j2k = b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51;
      const jp2 = b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0x0c;
      if (jpeg || j2k || jp2) starts.push(i);
    });
    if (starts.length !== n || starts[0] !== 0) {
      throw new ConversionError('malformed_input', `${image.fileName} declares ${n} frames but its ${fragments.length} fragments hold ${starts.length} codestreams`);
    }
  }
  return starts.map((start, i) => join(start, i + 1 < starts.length ? starts[i + 1] : fragments.length));
}

/** Bit precision of a JPEG codestream from its SOF marker, or undefined. */
function jpegPrecision(bytes: Uint8Array): number | undefined {
  let i = 2;
  while (i + 4 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 4];
    i += 2 + length;
  }
  return undefined;
}

async function decodeCompressedFrame(
  image: DicomImage,
  bytes: Uint8Array,
  index: number,
): Promise<{ values: StoredValues; bits: number; warnings: string[] }> {
  const { fileName, transferSyntax: ts, rows, columns, samplesPerPixel } = image;
  const pixels = rows * columns;
  const where = image.frameCount > 1 ? ` (frame ${index + 1})` : '';
  assertCodestreamSize(image, bytes, where);
  let frame: DecodedFrame;
  try {
    switch (ts) {
      case TRANSFER_SYNTAX.rle: {
        if (image.bitsAllocated !== 8 && image.bitsAllocated !== 16 && image.bitsAllocated !== 32) {
          throw new CodecError(`RLE with ${image.bitsAllocated} bits allocated`);
        }
        const samples = decodeRle(bytes, pixels, samplesPerPixel, image.bitsAllocated);
        return finishInteger(image, samples, samplesPerPixel, image.bitsStored, image.highBit, false, []);
      }
      case TRANSFER_SYNTAX.jpegBaseline:
      case TRANSFER_SYNTAX.jpegExtended: {
        const precision = jpegPrecision(bytes);
        if (precision === undefined || precision <= 8) {
          frame = await decodeJpegBaseline(bytes);
          break;
        }
        // libjpeg-turbo is built for 8 bits only: 12-bit DCT goes to niix's own sequential DCT decoder.
        try {
          const decoded = decodeJpegDct(bytes, { maxPixels: pixels });
          frame = { width: decoded.width, height: decoded.height, components: decoded.components, bitsPerSample: decoded.precision, signed: false, samples: decoded.samples };
        } catch (thrown) {
          if (thrown instanceof JpegDctError && thrown.unsupported) {
            throw new ConversionError(
              'unsupported_variant',
              `${fileName}${where} uses ${precision}-bit lossy JPEG (${ts}) in a form niix does not decode (${thrown.message}): ask the scanner to send uncompressed, lossless JPEG, JPEG-LS or JPEG 2000`,
            );
          }
          throw thrown;
        }
        break;
      }
      case TRANSFER_SYNTAX.jpegLossless:
      case TRANSFER_SYNTAX.jpegLosslessSv1:
        frame = await decodeJpegLossless(bytes, { maxPixels: pixels, maxComponents: samplesPerPixel });
        break;
      case TRANSFER_SYNTAX.jpegLs:
      case TRANSFER_SYNTAX.jpegLsNear:
        frame = await decodeJpegLs(bytes);
        break;
      case TRANSFER_SYNTAX.jpeg2000Lossless:
      case TRANSFER_SYNTAX.jpeg2000:
        frame = await decodeJpeg2000(bytes);
        break;
      default:
        throw new ConversionError('unsupported_variant', `${fileName} uses ${transferSyntaxName(ts)}, which niix does not decode`);
    }
  } catch (thrown) {
    if (thrown instanceof ConversionError) throw thrown;
    throw new ConversionError('malformed_input', `${fileName}${where}: the ${transferSyntaxName(ts)} codestream cannot be decoded (${describeThrown(thrown)})`);
  }
  if (frame.width !== columns || frame.height !== rows || frame.components !== samplesPerPixel || frame.samples.length !== pixels * samplesPerPixel) {
    throw new ConversionError(
      'malformed_input',
      `${fileName}${where}: the ${transferSyntaxName(ts)} codestream decodes to ${frame.width} x ${frame.height} x ${frame.components} (${frame.samples.length} samples) where the header declares ${columns} x ${rows} x ${samplesPerPixel}`,
    );
  }
  // Trust the codestream's precision when it says more than BitsStored (pydicom does the same).
  const bits = Math.max(image.bitsStored, frame.bitsPerSample);
  const warnings = bits > image.bitsStored ? [`the codestream holds ${bits}-bit samples where BitsStored says ${image.bitsStored}`] : [];
  const unsigned = frame.samples instanceof Int16Array ? new Uint16Array(frame.samples.buffer, frame.samples.byteOffset, frame.samples.length) : frame.samples;
  // Codecs that undo the colour transform (JPEG, JPEG-LS, JPEG 2000) give RGB whatever the header says.
  return finishInteger(image, unsigned, samplesPerPixel, bits, bits - 1, true, warnings);
}

/** The codestream header each compressed transfer syntax carries (RLE has none: it decodes into the declared size). */
const CODESTREAM_KIND: Record<string, CodestreamKind> = {
  [TRANSFER_SYNTAX.jpegBaseline]: 'jpeg',
  [TRANSFER_SYNTAX.jpegExtended]: 'jpeg',
  [TRANSFER_SYNTAX.jpegLossless]: 'jpeg',
  [TRANSFER_SYNTAX.jpegLosslessSv1]: 'jpeg',
  [TRANSFER_SYNTAX.jpegLs]: 'jpeg',
  [TRANSFER_SYNTAX.jpegLsNear]: 'jpeg',
  [TRANSFER_SYNTAX.jpeg2000Lossless]: 'j2k',
  [TRANSFER_SYNTAX.jpeg2000]: 'j2k',
};

/**
 * Before a codec sees a frame: its own header must declare the size the data set declares (the size already checked
 * against the limits). The codecs allocate what the codestream header says, so a frame claiming more is refused here.
 */
function assertCodestreamSize(image: DicomImage, bytes: Uint8Array, where: string): void {
  const kind = CODESTREAM_KIND[image.transferSyntax];
  if (!kind) return;
  const { fileName, transferSyntax: ts, rows, columns, samplesPerPixel } = image;
  const size = codestreamSize(kind, bytes);
  if (!size) {
    throw new ConversionError(
      'malformed_input',
      `${fileName}${where}: the ${transferSyntaxName(ts)} codestream has no readable ${kind === 'jpeg' ? 'frame header (SOF)' : 'image size marker (SIZ)'}`,
    );
  }
  if (size.width !== columns || size.height !== rows || size.components !== samplesPerPixel) {
    throw new ConversionError(
      'malformed_input',
      `${fileName}${where}: the ${transferSyntaxName(ts)} codestream declares ${size.width} x ${size.height} x ${size.components} where the header declares ${columns} x ${rows} x ${samplesPerPixel}`,
    );
  }
  const scans = kind === 'jpeg' ? jpegScanCount(bytes) : 0;
  if (scans > MAX_JPEG_SCANS) {
    throw new ConversionError(
      'unsupported_variant',
      `${fileName}${where}: the ${transferSyntaxName(ts)} codestream has ${scans} scans; niix decodes at most ${MAX_JPEG_SCANS} (each is a pass over the whole image)`,
    );
  }
}

/** Native (uncompressed) frames, little or big endian. */
function readNativeFrames(image: DicomImage, pixelData: Element): StoredFrames {
  const { rows, columns, samplesPerPixel, bitsAllocated, frameCount, fileName } = image;
  const ds = image.dataSet;
  const bytesPerSample = bitsAllocated / 8;
  const frameBytes = rows * columns * samplesPerPixel * bytesPerSample;
  if (pixelData.length < frameBytes * frameCount || pixelData.dataOffset + frameBytes * frameCount > ds.byteArray.length) {
    throw new ConversionError(
      'malformed_input',
      `${fileName} is truncated: its pixel data holds ${Math.min(pixelData.length, ds.byteArray.length - pixelData.dataOffset)} bytes where ${frameBytes * frameCount} are needed`,
    );
  }
  const bigEndian = image.transferSyntax === TRANSFER_SYNTAX.explicitBig;
  const frames: StoredValues[] = [];
  let bits = image.bitsStored;
  const warnings: string[] = [];
  for (let f = 0; f < frameCount; f++) {
    const start = pixelData.dataOffset + f * frameBytes;
    const raw = ds.byteArray.slice(start, start + frameBytes);
    let samples: Uint8Array | Uint16Array | Uint32Array;
    if (bytesPerSample === 1) samples = raw;
    else {
      if (bigEndian) swapBytes(raw, bytesPerSample);
      samples = bytesPerSample === 2 ? new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2) : new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    }
    const planar = samplesPerPixel === 3 && image.planarConfiguration === 1;
    const result = finishInteger(image, planar ? interleave(samples, samplesPerPixel) : samples, samplesPerPixel, image.bitsStored, image.highBit, false, []);
    bits = result.bits;
    frames.push(result.values);
    for (const w of result.warnings) if (!warnings.includes(w)) warnings.push(w);
  }
  return { frames, bits, signed: image.pixelRepresentation === 1, float: false, warnings };
}

function readFloatFrames(image: DicomImage, element: Element): StoredFrames {
  const { rows, columns, samplesPerPixel, frameCount, fileName } = image;
  if (samplesPerPixel !== 1) throw new ConversionError('unsupported_variant', `${fileName} has floating-point colour pixels`);
  const double = element.tag === 'x7fe00009';
  const bytesPerSample = double ? 8 : 4;
  const frameBytes = rows * columns * bytesPerSample;
  if (element.length < frameBytes * frameCount || element.dataOffset + frameBytes * frameCount > image.dataSet.byteArray.length) {
    throw new ConversionError('malformed_input', `${fileName} is truncated: its floating-point pixel data is shorter than ${frameBytes * frameCount} bytes`);
  }
  const bigEndian = image.transferSyntax === TRANSFER_SYNTAX.explicitBig;
  const frames: StoredValues[] = [];
  for (let f = 0; f < frameCount; f++) {
    const start = element.dataOffset + f * frameBytes;
    const raw = image.dataSet.byteArray.slice(start, start + frameBytes);
    if (bigEndian) swapBytes(raw, bytesPerSample);
    frames.push(double ? new Float64Array(raw.buffer, raw.byteOffset, rows * columns) : new Float32Array(raw.buffer, raw.byteOffset, rows * columns));
  }
  return { frames, bits: undefined, signed: true, float: true, warnings: [`${double ? '64' : '32'}-bit floating-point pixels normalised to 16 bits`] };
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Planar (RRR..GGG..BBB) to interleaved (RGBRGB..). */
function interleave<T extends Uint8Array | Uint16Array | Uint32Array>(planar: T, components: number): T {
  const out = planar.slice() as T;
  const pixels = planar.length / components;
  for (let c = 0; c < components; c++) for (let p = 0; p < pixels; p++) out[p * components + c] = planar[c * pixels + p];
  return out;
}

/**
 * From raw sample bit patterns to stored values: colour to luminance, bits outside BitsStored removed,
 * sign extended when PixelRepresentation is 1.
 */
function finishInteger(
  image: DicomImage,
  samples: Uint8Array | Uint16Array | Uint32Array,
  components: number,
  bitsStored: number,
  highBit: number,
  colourTransformed: boolean,
  warnings: string[],
): { values: StoredValues; bits: number; warnings: string[] } {
  let grey: Uint8Array | Uint16Array | Uint32Array = samples;
  if (components === 3) {
    const pixels = samples.length / 3;
    const out = samples instanceof Uint8Array ? new Uint8Array(pixels) : samples instanceof Uint16Array ? new Uint16Array(pixels) : new Uint32Array(pixels);
    const ybr = image.photometric.startsWith('YBR') && !colourTransformed;
    if (image.photometric.startsWith('YBR') && image.photometric !== 'YBR_FULL' && !colourTransformed) {
      throw new ConversionError('unsupported_variant', `${image.fileName} uses the colour model ${image.photometric} without compression, which niix does not read`);
    }
    for (let p = 0; p < pixels; p++) {
      out[p] = ybr ? samples[3 * p] : Math.round(0.299 * samples[3 * p] + 0.587 * samples[3 * p + 1] + 0.114 * samples[3 * p + 2]);
    }
    grey = out;
    warnings = [...warnings, `colour image (${image.photometric}) reduced to its luminance`];
  }
  const containerBits = grey instanceof Uint8Array ? 8 : grey instanceof Uint16Array ? 16 : 32;
  const signed = image.pixelRepresentation === 1;
  const shift = highBit - bitsStored + 1;
  if (bitsStored === containerBits && shift === 0) {
    if (!signed) return { values: grey, bits: bitsStored, warnings };
    const values =
      grey instanceof Uint8Array
        ? new Int8Array(grey.buffer, grey.byteOffset, grey.length)
        : grey instanceof Uint16Array
          ? new Int16Array(grey.buffer, grey.byteOffset, grey.length)
          : new Int32Array(grey.buffer, grey.byteOffset, grey.length);
    return { values, bits: bitsStored, warnings };
  }
  const mask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  if (!signed) {
    for (let i = 0; i < grey.length; i++) grey[i] = (grey[i] >>> shift) & mask;
    return { values: grey, bits: bitsStored, warnings };
  }
  const out = new Int32Array(grey.length);
  const signBit = 2 ** (bitsStored - 1);
  const range = 2 ** bitsStored;
  for (let i = 0; i < grey.length; i++) {
    const v = (grey[i] >>> shift) & mask;
    out[i] = v >= signBit ? v - range : v;
  }
  return { values: out, bits: bitsStored, warnings };
}
