import { CodecError } from './pixel-codecs.js';

/**
 * DICOM RLE Lossless (PS3.5 Annex G). A frame starts with a 64-byte header: the number of segments, then up
 * to 15 segment offsets (uint32 little endian, from the start of the header). Each segment is one byte plane
 * compressed with PackBits; for each sample (R, G, B or the single grey sample) come its byte planes, most
 * significant first. The result is returned interleaved, one value per sample.
 */
export function decodeRle(
  frame: Uint8Array,
  pixels: number,
  samplesPerPixel: number,
  bitsAllocated: 8 | 16 | 32,
): Uint8Array | Uint16Array | Uint32Array {
  if (frame.length < 64) throw new CodecError('the RLE frame is shorter than its 64-byte header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segmentCount = view.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  const expected = samplesPerPixel * bytesPerSample;
  if (segmentCount !== expected) {
    throw new CodecError(`the RLE frame has ${segmentCount} segments where ${expected} were expected`);
  }
  const offsets: number[] = [];
  for (let i = 0; i < segmentCount; i++) offsets.push(view.getUint32(4 + 4 * i, true));
  const out =
    bitsAllocated === 8
      ? new Uint8Array(pixels * samplesPerPixel)
      : bitsAllocated === 16
        ? new Uint16Array(pixels * samplesPerPixel)
        : new Uint32Array(pixels * samplesPerPixel);
  const plane = new Uint8Array(pixels);
  for (let segment = 0; segment < segmentCount; segment++) {
    const start = offsets[segment];
    const end = segment + 1 < segmentCount ? offsets[segment + 1] : frame.length;
    if (start < 64 || end > frame.length || end < start) throw new CodecError(`RLE segment ${segment + 1} lies outside the frame`);
    unpackBits(frame, start, end, plane, segment + 1);
    const sample = Math.floor(segment / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (segment % bytesPerSample));
    for (let p = 0, o = sample; p < pixels; p++, o += samplesPerPixel) out[o] += (plane[p] << shift) >>> 0;
  }
  return out;
}

/** PackBits into `target`; throws when the segment decodes to fewer bytes than the plane needs. */
function unpackBits(source: Uint8Array, start: number, end: number, target: Uint8Array, segment: number): void {
  let s = start;
  let t = 0;
  const size = target.length;
  while (t < size && s < end) {
    const header = source[s++];
    if (header < 128) {
      const count = header + 1;
      if (s + count > end) throw new CodecError(`RLE segment ${segment} ends inside a literal run`);
      const n = Math.min(count, size - t);
      target.set(source.subarray(s, s + n), t);
      t += n;
      s += count;
    } else if (header > 128) {
      if (s >= end) throw new CodecError(`RLE segment ${segment} ends inside a repeat run`);
      const count = 257 - header;
      const value = source[s++];
      const n = Math.min(count, size - t);
      target.fill(value, t, t + n);
      t += n;
    }
    // header 128 (-128) is a no-op
  }
  if (t < size) throw new CodecError(`RLE segment ${segment} holds ${t} bytes where ${size} were expected`);
}
