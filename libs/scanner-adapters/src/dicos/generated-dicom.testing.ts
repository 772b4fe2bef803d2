import { encodeGrey8 } from '../../../imaging/src/raster.js';
import { dicomFile, rleFrame } from '../hostile-files.testing.js';
import { element } from './dicom-writer.js';
import { TRANSFER_SYNTAX } from './dicom-uids.js';
import { ramp } from './sample-scan.testing.js';

/**
 * Small DICOM files in every transfer syntax and pixel layout the adapter reads, built in the test (test helper):
 * the fixtures are real files but large or few for some syntaxes; these are tiny, so thousands of mutated copies
 * decode quickly.
 */

/** A fresh options object per module: Emscripten turns the object it is given into the module. */
const quiet = (): EmscriptenModuleOptions => ({ print: () => undefined, printErr: () => undefined });

function bytesOf(samples: Uint16Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}

// One instance of each wasm module: a second instantiation fails to register its bindings.
let openjpeg: Promise<{ J2KEncoder: new () => CornerstoneEncoder }> | undefined;
let charls: Promise<{ JpegLSEncoder: new () => CornerstoneEncoder }> | undefined;

/** A JPEG 2000 codestream (lossless, OpenJPEG's encoder) of greyscale samples. */
export async function encodeJ2k(samples: Uint16Array, width: number, height: number, bitsPerSample: number): Promise<Buffer> {
  openjpeg ??= import('@cornerstonejs/codec-openjpeg/wasmjs').then((m) => m.default(quiet()));
  const { J2KEncoder } = await openjpeg;
  const encoder = new J2KEncoder();
  try {
    encoder.getDecodedBuffer({ width, height, bitsPerSample, componentCount: 1, isSigned: false, isUsingColorTransform: false }).set(bytesOf(samples));
    encoder.encode();
    return Buffer.from(encoder.getEncodedBuffer());
  } finally {
    encoder.delete();
  }
}

/** A JPEG-LS codestream (lossless, CharLS) of greyscale samples. */
export async function encodeJpegLs(samples: Uint16Array, width: number, height: number, bitsPerSample: number): Promise<Buffer> {
  charls ??= import('@cornerstonejs/codec-charls/wasmjs').then((m) => m.default(quiet()));
  const { JpegLSEncoder } = await charls;
  const encoder = new JpegLSEncoder();
  try {
    encoder.getDecodedBuffer({ width, height, bitsPerSample, componentCount: 1, isSigned: false }).set(bytesOf(samples));
    encoder.encode();
    return Buffer.from(encoder.getEncodedBuffer());
  } finally {
    encoder.delete();
  }
}

const masked = (samples: Uint16Array, bits: number): Uint16Array => samples.map((v) => v & ((1 << bits) - 1));

/** One small file per transfer syntax and layout; every one converts. */
export async function generatedDicomFiles(): Promise<{ name: string; data: Buffer }[]> {
  // OpenJPEG's encoder needs at least 32 pixels a side (five decomposition levels).
  const w = 64;
  const h = 48;
  const twelve = masked(ramp(w, h, 5), 12);
  const sixteen = ramp(w, h, 6);
  const j2k = await encodeJ2k(twelve, w, h, 12);
  const j2kSecond = await encodeJ2k(masked(ramp(w, h, 7), 12), w, h, 12);
  const jpegLs = await encodeJpegLs(sixteen, w, h, 16);
  const grey8 = Uint8Array.from(sixteen, (v) => v >> 8);
  const baseline = await encodeGrey8(w, h, grey8, 'jpeg', 90);
  const native = (samples: Uint16Array): Buffer => Buffer.from(bytesOf(samples));
  const rgb = Buffer.alloc(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) & 0xff;
  const floats = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i / 10) * 1000);
  const files: { name: string; data: Buffer }[] = [
    { name: 'j2k-lossless.dcm', data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.jpeg2000Lossless, rows: h, columns: w, bitsStored: 12, pixels: { fragments: [j2k] } }) },
    {
      name: 'j2k-two-frames.dcm',
      data: dicomFile({
        transferSyntax: TRANSFER_SYNTAX.jpeg2000,
        rows: h,
        columns: w,
        bitsStored: 12,
        frames: 2,
        pixels: { fragments: [j2k, j2kSecond], offsetTable: [0, j2k.length + (j2k.length % 2) + 8] },
      }),
    },
    { name: 'jpeg-ls.dcm', data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.jpegLs, rows: h, columns: w, pixels: { fragments: [jpegLs] } }) },
    {
      name: 'jpeg-baseline.dcm',
      data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.jpegBaseline, rows: h, columns: w, bitsAllocated: 8, pixels: { fragments: [baseline] } }),
    },
    { name: 'rle.dcm', data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.rle, rows: h, columns: w, pixels: { fragments: [rleFrame(sixteen)] } }) },
    { name: 'deflated.dcm', data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.deflatedExplicitLittle, rows: h, columns: w, pixels: { native: native(sixteen) } }) },
    {
      name: 'native-three-frames.dcm',
      data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: 12, columns: 10, frames: 3, pixels: { native: native(ramp(10, 36, 8)) } }),
    },
    {
      name: 'native-signed-rescaled.dcm',
      data: dicomFile({
        transferSyntax: TRANSFER_SYNTAX.explicitLittle,
        rows: h,
        columns: w,
        bitsStored: 12,
        pixelRepresentation: 1,
        photometric: 'MONOCHROME1',
        pixels: { native: native(twelve) },
        elements: [element(0x00281052, 'DS', '-1024'), element(0x00281053, 'DS', '2.5'), element(0x00280030, 'DS', ['0.5', '0.25'])],
      }),
    },
    {
      name: 'rgb-planar.dcm',
      data: dicomFile({
        transferSyntax: TRANSFER_SYNTAX.explicitLittle,
        rows: h,
        columns: w,
        bitsAllocated: 8,
        samplesPerPixel: 3,
        photometric: 'RGB',
        pixels: { native: rgb },
        elements: [element(0x00280006, 'US', 1)],
      }),
    },
    { name: 'float32.dcm', data: dicomFile({ transferSyntax: TRANSFER_SYNTAX.explicitLittle, rows: h, columns: w, bitsAllocated: 32, pixels: { native: Buffer.alloc(0) }, floatPixels: floats }) },
  ];
  return files;
}
