import { constants as bufferConstants } from 'node:buffer';
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

/**
 * Emscripten options, without console output. A fresh object for every instantiation: Emscripten makes the object it
 * is given the module itself, so a shared one would carry one instance's bindings into the next, and a codec reloaded
 * after a wasm abort would fail to register them again.
 */
const quiet = (): EmscriptenModuleOptions => ({ print: () => undefined, printErr: () => undefined });
const instances = new Map<WasmCodec, Promise<new () => CornerstoneDecoder>>();

function loadCodec(codec: WasmCodec): Promise<new () => CornerstoneDecoder> {
  let pending = instances.get(codec);
  if (!pending) {
    pending = (async () => {
      switch (codec) {
        case 'openjpeg':
          return (await (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(quiet())).J2KDecoder;
        case 'charls':
          return (await (await import('@cornerstonejs/codec-charls/decodewasmjs')).default(quiet())).JpegLSDecoder;
        case 'libjpeg-turbo':
          return (await (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs')).default(quiet()))
            .JPEGDecoder;
      }
    })();
    instances.set(codec, pending);
    pending.catch(() => instances.delete(codec));
  }
  return pending;
}

/** Forgets the loaded wasm codecs, as a wasm abort does for its codec: the next frame loads fresh instances (for tests). */
export function dropCodecInstances(): void {
  instances.clear();
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

/** What a frame may declare before its pixels are allocated. */
export interface FrameBudget {
  /** Largest width x height. */
  maxPixels: number;
  /** Most components (samples per pixel). */
  maxComponents: number;
}

/**
 * Lossless JPEG (processes 14 and 14 SV1) with jpeg-lossless-decoder-js (pure JS). The decoder allocates its output
 * from the frame and scan headers it parses itself (width x height x bytes per sample x components of the scan), and
 * its marker walk differs from a by-length one (unknown markers are stepped over two bytes at a time), so the budget
 * is checked on the headers exactly as it reads them: its header readers are wrapped to refuse a frame over `budget`,
 * a precision over 16 bits or a scan of more components, before anything is allocated.
 */
export async function decodeJpegLossless(bytes: Uint8Array, budget: FrameBudget): Promise<DecodedFrame> {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  try {
    const decoder = new Decoder();
    guardHeaders(decoder, budget);
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
    if (thrown instanceof CodecError) throw thrown;
    throw new CodecError(describeThrown(thrown));
  }
}

/** Wraps the decoder's frame and scan header readers with the budget (fails closed if the decoder's shape changed). */
function guardHeaders(decoder: LosslessDecoderInternals, budget: FrameBudget): void {
  const { frame, scan } = decoder;
  if (typeof frame?.read !== 'function' || typeof scan?.read !== 'function') {
    throw new CodecError('jpeg-lossless-decoder-js has no frame or scan header reader to guard (library changed?)');
  }
  const readFrame = frame.read.bind(frame);
  frame.read = (stream: unknown): number => {
    const result = readFrame(stream);
    if (!(frame.precision >= 2 && frame.precision <= 16)) throw new CodecError(`the frame header declares ${frame.precision}-bit samples`);
    if (!(frame.dimX * frame.dimY <= budget.maxPixels)) {
      throw new CodecError(`the frame header declares ${frame.dimX} x ${frame.dimY} pixels, more than the ${budget.maxPixels} expected`);
    }
    return result;
  };
  const readScan = scan.read.bind(scan);
  scan.read = (stream: unknown): number => {
    const result = readScan(stream);
    if (!(scan.numComp >= 1 && scan.numComp <= budget.maxComponents)) {
      throw new CodecError(`the scan header declares ${scan.numComp} components, more than the ${budget.maxComponents} expected`);
    }
    return result;
  };
}

/** Thrown when a deflated data set inflates to more bytes than allowed (a decompression bomb). */
export class InflateLimitError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the deflated data set inflates to more than ${maxBytes} bytes`);
    this.name = 'InflateLimitError';
  }
}

/**
 * Inflater for the Deflated Explicit VR Little Endian transfer syntax, in dicom-parser's callback shape. Inflation
 * stops at `maxBytes` of output (InflateLimitError) instead of following a small stream to gigabytes.
 */
export function inflateDataSet(byteArray: Uint8Array, position: number, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  const room = Math.max(1, maxBytes - position);
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(byteArray.subarray(position), { maxOutputLength: Math.min(room, bufferConstants.MAX_LENGTH) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new InflateLimitError(maxBytes);
    throw error;
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(byteArray.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}
