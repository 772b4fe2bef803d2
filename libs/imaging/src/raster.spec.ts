import { decodeGrey, decodePng16, encodeGrey8, encodePng16, encodeTiff16, readRasterInfo } from './raster.js';

describe('raster', () => {
  const width = 37;
  const height = 11;
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * 997) % 65536;

  it('keeps every 16-bit value through PNG', async () => {
    const png = await encodePng16({ width, height, data });
    expect(await readRasterInfo(png)).toMatchObject({ format: 'png', width, height, bitDepth: 16, channels: 1 });
    const back = await decodePng16(png);
    expect(back.width).toBe(width);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('keeps every 16-bit value through TIFF', async () => {
    const tiff = await encodeTiff16({ width, height, data });
    const back = await decodeGrey(tiff);
    expect(back.bitDepth).toBe(16);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('reads 8-bit images as 0..255 values', async () => {
    const eight = Uint8Array.from(data, (v) => v >> 8);
    const png = await encodeGrey8(width, height, eight, 'png');
    const back = await decodeGrey(png);
    expect(back.bitDepth).toBe(8);
    expect(Array.from(back.data)).toEqual(Array.from(eight));
  });

  it('rejects bytes that are no image', async () => {
    await expect(readRasterInfo(Buffer.from('not an image at all'))).rejects.toThrow('not a readable image');
  });
});
