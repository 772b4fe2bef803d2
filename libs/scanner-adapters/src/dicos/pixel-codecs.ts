import { inflateRawSync } from 'node:zlib';

/**
 * Loads and calls the compressed-pixel codecs. The wasm codecs are loaded lazily with a dynamic `import()`,
 * which works both in the ESM build (Node imports the CommonJS factory as `default`) and under jest, where
 * swc turns it into `require` with the same `default` interop. One module instance per codec is kept; an
 * instance whose wasm aborted is dropped so the next file gets a fresh one.
 */

/** One decoded frame: interleaved samples, row-major, top-left first. */
export interface DecodedFrame {
  width: number;
  height: number;
  components: number;
  /** Bits per sample in the codestream (may differ from the dataset's BitsStored). */
  bitsPerSample: number;
  signed: boolean;
  samples: Uint8Array | Uint16Array | Int16Array;
}

/** Thrown for a codestream the codec cannot decode; the adapter maps it to `malformed_input`. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

type WasmCodec = 'openjpeg' | 'charls' | 'libjpeg-turbo';

const quiet = { print: () => undefined, printErr: () => undefined };
const instances = new Map<WasmCodec, Promise<new () => CornerstoneDecoder>>();

function loadCodec(codec: WasmCodec): Promise<new () => CornerstoneDecoder> {
  let pending = instances.get(codec);
  if (!pending) {
    pending = (async () => {
      switch (codec) {
        case 'openjpeg':
          return (await (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(quiet)).J2KDecoder;
        case 'charls':
          return (await (await import('@cornerstonejs/codec-charls/decodewasmjs')).default(quiet)).JpegLSDecoder;
        case 'libjpeg-turbo':
          return (await (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs')).default(quiet))
            .JPEGDecoder;
      }
    })();
    instances.set(codec, pending);
    pending.catch(() => instances.delete(codec));
  }
  return pending;
}

/** A readable sentence from whatever a codec threw: Error, string, wasm exception pointer (number), ... */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  if (typeof thrown === 'number') return `codec exception ${thrown}`;
  if (thrown && typeof thrown === 'object' && 'exception' in thrown) return describeThrown(thrown.exception);
  return String(thrown);
}

async function decodeWasm(codec: WasmCodec, bytes: Uint8Array): Promise<DecodedFrame> {
  const Decoder = await loadCodec(codec);
  let decoder: CornerstoneDecoder | undefined;
  try {
    decoder = new Decoder();
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const raw = decoder.getDecodedBuffer();
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    const signed = info.isSigned === true;
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    if (bytesPerSample === 2 && copy.length % 2 !== 0) throw new CodecError('odd decoded length for 16-bit samples');
    const samples =
      bytesPerSample === 1
        ? copy
        : signed
          ? new Int16Array(copy.buffer, 0, copy.length / 2)
          : new Uint16Array(copy.buffer, 0, copy.length / 2);
    return {
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bitsPerSample: info.bitsPerSample,
      signed,
      samples,
    };
  } catch (thrown) {
    if (thrown instanceof CodecError) throw thrown;
    // A wasm abort leaves the module unusable: load a fresh one next time.
    if (thrown instanceof WebAssembly.RuntimeError) instances.delete(codec);
    throw new CodecError(describeThrown(thrown));
  } finally {
    try {
      decoder?.delete();
    } catch {
      instances.delete(codec);
    }
  }
}

export const decodeJpeg2000 = (bytes: Uint8Array): Promise<DecodedFrame> => decodeWasm('openjpeg', bytes);
export const decodeJpegLs = (bytes: Uint8Array): Promise<DecodedFrame> => decodeWasm('charls', bytes);
/** JPEG baseline (8-bit DCT) only; libjpeg-turbo converts YCbCr to RGB. */
export const decodeJpegBaseline = (bytes: Uint8Array): Promise<DecodedFrame> => decodeWasm('libjpeg-turbo', bytes);

/** Lossless JPEG (processes 14 and 14 SV1) with jpeg-lossless-decoder-js (pure JS). */
export async function decodeJpegLossless(bytes: Uint8Array): Promise<DecodedFrame> {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  try {
    const decoder = new Decoder();
    const own = bytes.slice();
    const out = decoder.decompress(own.buffer, 0, own.length);
    const precision = decoder.precision ?? 8;
    const samples = decoder.numBytes === 1 ? new Uint8Array(out) : new Uint16Array(out);
    return {
      width: decoder.xDim,
      height: decoder.yDim,
      components: decoder.numComp,
      bitsPerSample: precision,
      signed: false,
      samples,
    };
  } catch (thrown) {
    throw new CodecError(describeThrown(thrown));
  }
}

/** Inflater for the Deflated Explicit VR Little Endian transfer syntax, in dicom-parser's callback shape. */
export function inflateDataSet(byteArray: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(byteArray.subarray(position));
  const full = new Uint8Array(position + inflated.length);
  full.set(byteArray.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}
