import { encodeGrey8 } from '../../imaging/src/raster.js';
import { j2kImageSize, jpegFrameSize, jpegScanCount, JpegScanCounter } from './codestream-header.js';
import { encodeJ2k } from './dicos/generated-dicom.testing.js';

describe('codestream headers', () => {
  it('reads the frame size of a JPEG and counts its scans, whole or fed a byte at a time', async () => {
    const jpeg = await encodeGrey8(37, 21, new Uint8Array(37 * 21).map((_, i) => i), 'jpeg');
    expect(jpegFrameSize(jpeg)).toEqual({ width: 37, height: 21, components: 1 });
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const triple = Buffer.concat([jpeg.subarray(0, -2), jpeg.subarray(sos, -2), jpeg.subarray(sos, -2), jpeg.subarray(-2)]);
    expect(jpegScanCount(jpeg)).toBe(1);
    expect(jpegScanCount(triple)).toBe(3);
    const counter = new JpegScanCounter();
    for (const byte of triple) counter.push(Uint8Array.of(byte));
    expect(counter.scans).toBe(3);
    expect(jpegScanCount(Buffer.from('not a jpeg'))).toBe(0);
  });

  it('reads the image area of a JPEG 2000 codestream', async () => {
    const j2k = await encodeJ2k(new Uint16Array(64 * 40), 64, 40, 12);
    expect(j2kImageSize(j2k)).toEqual({ width: 64, height: 40, components: 1 });
    expect(j2kImageSize(j2k.subarray(0, 20))).toBeUndefined();
  });
});
