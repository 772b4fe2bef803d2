/**
 * What a compressed image declares in its own headers, read before it is handed to a codec. The codecs allocate from
 * those headers, not from the DICOM Rows and Columns: a few hundred bytes claiming 60000 x 60000 pixels would make them
 * reserve gigabytes before failing. And a progressive JPEG is decoded in one pass over the whole image per scan, so
 * thousands of tiny scans make a small file take hours. Reading the headers first lets an adapter refuse such input with
 * a clear error, having allocated and decoded nothing.
 */

export interface CodestreamSize {
  width: number;
  height: number;
  components: number;
}

/** Which header a transfer syntax's frames carry. */
export type CodestreamKind = 'jpeg' | 'j2k';

/**
 * Width, height and component count from the frame header of a JPEG-family codestream (SOF0..SOF15 of ITU-T T.81,
 * SOF55 of JPEG-LS). Undefined when no frame header is found before the first scan or the end of the bytes.
 */
export function jpegFrameSize(bytes: Uint8Array): CodestreamSize | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 3 < bytes.length) {
    if (bytes[at] !== 0xff) {
      // Decoders skip stray bytes between marker segments (with a warning): so does this.
      at++;
      continue;
    }
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI, EOI.
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined;
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (isFrameHeader(marker)) {
      if (length < 8 || at + 10 > bytes.length) return undefined;
      return {
        height: (bytes[at + 5] << 8) | bytes[at + 6],
        width: (bytes[at + 7] << 8) | bytes[at + 8],
        components: bytes[at + 9],
      };
    }
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC); SOF55 (F7) of JPEG-LS. */
function isFrameHeader(marker: number): boolean {
  return marker === 0xf7 || (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc);
}

/** How far into a JP2 file the codestream's SIZ marker is looked for (the JP2 header boxes before it are small). */
const J2K_SEARCH_BYTES = 64 * 1024;

/**
 * Width, height and component count from the SIZ marker of a JPEG 2000 codestream (raw, or inside a JP2 file): the
 * image area Xsiz - XOsiz by Ysiz - YOsiz and Csiz. Undefined when no SOC + SIZ is found or SIZ is cut short.
 */
export function j2kImageSize(bytes: Uint8Array): CodestreamSize | undefined {
  const limit = Math.min(bytes.length - 4, J2K_SEARCH_BYTES);
  for (let at = 0; at <= limit; at++) {
    if (bytes[at] !== 0xff || bytes[at + 1] !== 0x4f || bytes[at + 2] !== 0xff || bytes[at + 3] !== 0x51) continue;
    const siz = at + 4;
    // Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz(4) YOsiz(4) XTsiz(4) YTsiz(4) XTOsiz(4) YTOsiz(4) Csiz(2)
    if (siz + 38 > bytes.length) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset + siz, 38);
    const xsiz = view.getUint32(4);
    const ysiz = view.getUint32(8);
    const xosiz = view.getUint32(12);
    const yosiz = view.getUint32(16);
    return { width: Math.max(0, xsiz - xosiz), height: Math.max(0, ysiz - yosiz), components: view.getUint16(36) };
  }
  return undefined;
}

/** The declared size of a frame of this kind, or undefined when its header cannot be found. */
export function codestreamSize(kind: CodestreamKind, bytes: Uint8Array): CodestreamSize | undefined {
  return kind === 'jpeg' ? jpegFrameSize(bytes) : j2kImageSize(bytes);
}

/**
 * Scans a decoder will make over the image: a progressive JPEG from a real encoder has about ten (libjpeg's default
 * progression: 6 for greyscale, 10 for colour), a sequential one one per component at most.
 */
export const MAX_JPEG_SCANS = 100;

/**
 * Counts the scans (SOS markers) of a JPEG codestream fed in chunks of any size, so a file need not be held in memory:
 * marker segments are skipped by their lengths, and the entropy-coded data after each SOS up to the next marker (FF
 * followed by anything but 00, a restart marker or fill). Stops at EOI.
 */
export class JpegScanCounter {
  scans = 0;
  private state: 'soi' | 'marker' | 'code' | 'length1' | 'length2' | 'skip' | 'entropy' | 'entropyFF' | 'done' = 'soi';
  private seen = 0;
  private code = 0;
  private length = 0;
  private skip = 0;

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length && this.state !== 'done'; i++) {
      const byte = chunk[i];
      switch (this.state) {
        case 'soi':
          // FF D8 first, or this is no JPEG.
          if ((this.seen === 0 && byte !== 0xff) || (this.seen === 1 && byte !== 0xd8)) this.state = 'done';
          else if (++this.seen === 2) this.state = 'marker';
          break;
        case 'marker':
          if (byte === 0xff) this.state = 'code';
          break;
        case 'code':
          if (byte === 0xff) break;
          if (byte === 0x00 || byte === 0x01 || (byte >= 0xd0 && byte <= 0xd8)) this.state = 'marker';
          else if (byte === 0xd9) this.state = 'done';
          else {
            this.code = byte;
            this.state = 'length1';
          }
          break;
        case 'length1':
          this.length = byte << 8;
          this.state = 'length2';
          break;
        case 'length2':
          this.length |= byte;
          if (this.length < 2) {
            this.state = 'done';
            break;
          }
          this.skip = this.length - 2;
          if (this.code === 0xda) this.scans++;
          this.state = this.skip > 0 ? 'skip' : this.code === 0xda ? 'entropy' : 'marker';
          break;
        case 'skip': {
          const n = Math.min(this.skip, chunk.length - i);
          this.skip -= n;
          i += n - 1;
          if (this.skip === 0) this.state = this.code === 0xda ? 'entropy' : 'marker';
          break;
        }
        case 'entropy':
          if (byte === 0xff) this.state = 'entropyFF';
          break;
        case 'entropyFF':
          if (byte === 0x00 || (byte >= 0xd0 && byte <= 0xd7)) this.state = 'entropy';
          else if (byte !== 0xff) {
            // A marker ends the scan: handle its code.
            this.state = 'code';
            i--;
          }
          break;
      }
    }
  }
}

/** Number of scans (SOS markers) in a JPEG codestream held in memory. */
export function jpegScanCount(bytes: Uint8Array): number {
  const counter = new JpegScanCounter();
  counter.push(bytes);
  return counter.scans;
}
