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

declare module 'jpeg-lossless-decoder-js' {
  /** Lossless JPEG (process 14) decoder; `decompress` returns 1 byte per sample up to 8 bits, else 2. */
  export class Decoder {
    constructor();
    decompress(buffer: ArrayBuffer, offset: number, length: number): ArrayBuffer;
    xDim: number;
    yDim: number;
    numComp: number;
    numBytes: number;
    precision: number | undefined;
  }
}
