/**
 * Typed declarations for the untyped pixel codecs used by the DICOS adapter.
 * Only the members the adapter calls are declared.
 */

/** What every cornerstone wasm decoder reports about the decoded frame. */
interface CornerstoneFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The decoder object shared by the cornerstone wasm codecs (an embind class: call `delete()` when done). */
interface CornerstoneDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): CornerstoneFrameInfo;
  delete(): void;
}

/** Emscripten module options: `print`/`printErr` replace console output (OpenJPEG logs [INFO] lines). */
interface EmscriptenModuleOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<{ J2KDecoder: new () => CornerstoneDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<{ JpegLSDecoder: new () => CornerstoneDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<{ JPEGDecoder: new () => CornerstoneDecoder }>;
  export default factory;
}

/** The parts of a jpeg-lossless-decoder-js Decoder that pixel-codecs.ts guards (not in the library's typings). */
interface LosslessDecoderInternals {
  frame: { read(stream: unknown): number; dimX: number; dimY: number; precision: number };
  scan: { read(stream: unknown): number; numComp: number };
}

declare module 'jpeg-lossless-decoder-js' {
  /** Lossless JPEG (process 14) decoder; `decompress` returns 1 byte per sample up to 8 bits, else 2. */
  export class Decoder implements LosslessDecoderInternals {
    constructor();
    frame: LosslessDecoderInternals['frame'];
    scan: LosslessDecoderInternals['scan'];
    decompress(buffer: ArrayBuffer, offset: number, length: number): ArrayBuffer;
    xDim: number;
    yDim: number;
    numComp: number;
    numBytes: number;
    precision: number | undefined;
  }
}

/** What the cornerstone wasm encoders take: the frame to encode (tests build compressed fixtures with them). */
interface CornerstoneEncodeInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
  isUsingColorTransform?: boolean;
}

/** An encoder of the cornerstone wasm codecs: fill getDecodedBuffer(info), encode(), read getEncodedBuffer(). */
interface CornerstoneEncoder {
  getDecodedBuffer(info: CornerstoneEncodeInfo): Uint8Array;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}

declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<{ J2KEncoder: new () => CornerstoneEncoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-charls/wasmjs' {
  const factory: (options?: EmscriptenModuleOptions) => Promise<{ JpegLSEncoder: new () => CornerstoneEncoder }>;
  export default factory;
}
