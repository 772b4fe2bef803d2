/**
 * A minimal writer of uncompressed, little-endian, multi-page 16-bit greyscale TIFF (one strip per page), as
 * some scanners write a dual-energy pair: high on page 0, low on page 1. Used by writeTiffSidecar; reading goes
 * through libs/imaging like every other TIFF.
 */
export function encodeMultiPageTiff16(pages: { width: number; height: number; data: Uint16Array }[]): Buffer {
  const TAGS = 11;
  const ifdSize = 2 + TAGS * 12 + 4;
  const total = 8 + pages.reduce((sum, p) => sum + p.width * p.height * 2 + ifdSize, 0);
  const out = Buffer.alloc(total);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  let offset = 8;
  let previousNext = 4; // where the offset of the next IFD is written
  for (const page of pages) {
    const stripOffset = offset;
    for (let i = 0; i < page.data.length; i++) out.writeUInt16LE(page.data[i], stripOffset + i * 2);
    offset += page.data.length * 2;
    out.writeUInt32LE(offset, previousNext);
    out.writeUInt16LE(TAGS, offset);
    const entries: [tag: number, type: 3 | 4, value: number][] = [
      [256, 4, page.width], // ImageWidth
      [257, 4, page.height], // ImageLength
      [258, 3, 16], // BitsPerSample
      [259, 3, 1], // Compression: none
      [262, 3, 1], // PhotometricInterpretation: BlackIsZero
      [273, 4, stripOffset], // StripOffsets
      [277, 3, 1], // SamplesPerPixel
      [278, 4, page.height], // RowsPerStrip
      [279, 4, page.data.length * 2], // StripByteCounts
      [284, 3, 1], // PlanarConfiguration: chunky
      [339, 3, 1], // SampleFormat: unsigned integer
    ];
    entries.forEach(([tag, type, value], i) => {
      const e = offset + 2 + i * 12;
      out.writeUInt16LE(tag, e);
      out.writeUInt16LE(type, e + 2);
      out.writeUInt32LE(1, e + 4);
      if (type === 3) out.writeUInt16LE(value, e + 8);
      else out.writeUInt32LE(value, e + 8);
    });
    previousNext = offset + 2 + TAGS * 12;
    offset += ifdSize;
  }
  out.writeUInt32LE(0, previousNext);
  return out;
}
