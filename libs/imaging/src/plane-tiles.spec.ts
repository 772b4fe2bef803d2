import sharp from 'sharp';
import { buildDeepZoom, deepZoomLevelSize, deepZoomTileSize } from './deep-zoom.js';
import {
  cropPlane,
  decodePlaneTile,
  PlaneTileError,
  buildPlanePyramid,
  hasPlaneTile,
  planeDzi,
  planeTile,
  planeTileGeometry,
  planeTileGrid,
} from './plane-tiles.js';
import type { GreyPlane } from './raster.js';



/** 2 x 2 means rounded half up, the pixels that exist only on an odd edge: written out the slow, obvious way. */
function meanOf2x2(source: GreyPlane): GreyPlane {
  const width = Math.ceil(source.width / 2);
  const height = Math.ceil(source.height / 2);
  const data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const values: number[] = [];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const sx = 2 * x + dx;
        const sy = 2 * y + dy;
        if (sx < source.width && sy < source.height) values.push(source.data[sy * source.width + sx]);
      }
      data[y * width + x] = Math.floor(values.reduce((a, b) => a + b, 0) / values.length + 0.5);
    }
  }
  return { width, height, data };
}

/** A plane that uses the whole 16-bit range, with values whose high and low bytes both vary. */
function testPlane(width: number, height: number): GreyPlane {
  const data = new Uint16Array(width * height);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = i % 97 === 0 ? 65535 : i % 89 === 0 ? 0 : (state >>> 8) & 0xffff;
  }
  return { width, height, data };
}

describe('16-bit plane tiles', () => {
  // Odd sizes on both axes so every level has odd edges somewhere; two full tiles plus a part across.
  const plane = testPlane(601, 259);
  const pyramid = buildPlanePyramid(plane);

  it('keeps every level as 16-bit values, the full level being the plane itself', () => {
    expect(pyramid.maxLevel).toBe(10);
    expect(pyramid.levels).toHaveLength(11);
    expect(pyramid.levels[10].data).toBe(plane.data);
    for (let level = 0; level <= pyramid.maxLevel; level++) {
      const { width, height, data } = pyramid.levels[level];
      expect(data).toBeInstanceOf(Uint16Array);
      expect({ width, height }).toEqual(deepZoomLevelSize(plane.width, plane.height, level));
    }
    expect(pyramid.levels[0]).toMatchObject({ width: 1, height: 1 });
    expect(pyramid.byteLength).toBe(pyramid.levels.reduce((sum, level) => sum + level.data.byteLength, 0));
  });

  it('averages 2 x 2 blocks of 16-bit values at each level below the full one', () => {
    for (let level = pyramid.maxLevel - 1; level >= 0; level--) {
      expect(pyramid.levels[level]).toEqual(meanOf2x2(pyramid.levels[level + 1]));
    }
  });

  it('encodes tiles that decode back to the exact 16-bit values at full resolution', async () => {
    const level = pyramid.maxLevel;
    const { cols, rows } = planeTileGrid(pyramid, level);
    expect([cols, rows]).toEqual([3, 2]);
    for (let col = 0; col < cols; col++) {
      for (let row = 0; row < rows; row++) {
        const png = await planeTile(pyramid, level, col, row);
        const meta = await sharp(png).metadata();
        expect(meta).toMatchObject({ format: 'png', channels: 3, depth: 'uchar', hasAlpha: false });
        const tile = await decodePlaneTile(png);
        expect({ width: tile.width, height: tile.height }).toEqual(deepZoomTileSize(pyramid, plane.width, plane.height, level, col, row));
        const left = Math.max(0, col * 254 - 1);
        const top = Math.max(0, row * 254 - 1);
        expect(tile.data).toEqual(cropPlane(plane, left, top, tile.width, tile.height));
      }
    }
  });

  it('encodes tiles of the lower levels with the 2 x 2 means', async () => {
    const half = meanOf2x2(plane);
    const tile = await decodePlaneTile(await planeTile(pyramid, pyramid.maxLevel - 1, 1, 0));
    expect([tile.width, tile.height]).toEqual([301 - 253, 130]);
    expect(tile.data).toEqual(cropPlane(half, 253, 0, 48, 130));
    const quarter = meanOf2x2(half);
    const whole = await decodePlaneTile(await planeTile(pyramid, pyramid.maxLevel - 2, 0, 0));
    expect(whole).toEqual(quarter);
    const single = await decodePlaneTile(await planeTile(pyramid, 0, 0, 0));
    expect(single.data).toEqual(pyramid.levels[0].data);
  });

  it('writes no colour profile or gamma chunk the browser could apply to the bytes', async () => {
    const png = await planeTile(pyramid, pyramid.maxLevel, 0, 0);
    const chunks: string[] = [];
    for (let p = 8; p < png.length; ) {
      const length = png.readUInt32BE(p);
      chunks.push(png.toString('latin1', p + 4, p + 8));
      p += 12 + length;
    }
    expect(chunks[0]).toBe('IHDR');
    expect(chunks.filter((chunk) => ['iCCP', 'sRGB', 'gAMA', 'cHRM', 'cICP', 'tRNS'].includes(chunk))).toEqual([]);
  });

  it('has the geometry of the 8-bit pyramid: same descriptor, same tiles, same tile sizes', async () => {
    const eight = await buildDeepZoom(new Uint8Array(plane.width * plane.height), plane.width, plane.height, 1, {
      tileSize: 254,
      overlap: 1,
      format: 'png',
      quality: 80,
    });
    expect(pyramid.dzi).toBe(eight.dzi);
    expect(planeDzi(planeTileGeometry(plane.width, plane.height))).toBe(eight.dzi);
    expect(pyramid.maxLevel).toBe(eight.maxLevel);
    const keys: string[] = [];
    for (let level = 0; level <= pyramid.maxLevel; level++) {
      const { cols, rows } = planeTileGrid(pyramid, level);
      for (let col = 0; col < cols; col++) for (let row = 0; row < rows; row++) keys.push(`${level}/${col}_${row}`);
    }
    expect(keys.sort()).toEqual(Object.keys(eight.index).sort());
    for (const key of ['10/2_1', '9/1_0', '8/0_0', '0/0_0']) {
      const [level, col, row] = key.split(/[/_]/).map(Number);
      const [offset, length] = eight.index[key];
      const eightMeta = await sharp(eight.archive.subarray(offset, offset + length)).metadata();
      const ours = await sharp(await planeTile(pyramid, level, col, row)).metadata();
      expect([ours.width, ours.height]).toEqual([eightMeta.width, eightMeta.height]);
    }
  });

  it('knows which tiles exist from the size alone', () => {
    const geometry = planeTileGeometry(601, 259);
    expect(hasPlaneTile(geometry, 10, 2, 1)).toBe(true);
    expect(hasPlaneTile(geometry, 10, 3, 0)).toBe(false);
    expect(hasPlaneTile(geometry, 10, 0, 2)).toBe(false);
    expect(hasPlaneTile(geometry, 11, 0, 0)).toBe(false);
    expect(hasPlaneTile(geometry, 9, 1, 0)).toBe(true);
    expect(hasPlaneTile(geometry, 9, 2, 0)).toBe(false);
    expect(hasPlaneTile(geometry, 0, 0, 0)).toBe(true);
    expect(hasPlaneTile(geometry, -1, 0, 0)).toBe(false);
    expect(hasPlaneTile(geometry, 1.5, 0, 0)).toBe(false);
  });

  it('refuses a tile the pyramid does not have and a plane whose data does not fit its size', async () => {
    await expect(planeTile(pyramid, 10, 3, 0)).rejects.toThrow(PlaneTileError);
    expect(() => buildPlanePyramid({ width: 3, height: 3, data: new Uint16Array(8) })).toThrow(PlaneTileError);
  });

  it('handles a 1 x 1 plane and a one-pixel-high strip', async () => {
    const dot = buildPlanePyramid({ width: 1, height: 1, data: Uint16Array.of(0xbeef) });
    expect(dot.maxLevel).toBe(0);
    expect((await decodePlaneTile(await planeTile(dot, 0, 0, 0))).data).toEqual(Uint16Array.of(0xbeef));
    const strip = buildPlanePyramid({ width: 5, height: 1, data: Uint16Array.of(1, 2, 3, 65535, 65534) });
    // 1.5 → 2, (3 + 65535) / 2, the odd last pixel alone; then 16385.5 → 16386; then 40960.
    expect(strip.levels.map((level) => Array.from(level.data))).toEqual([[40960], [16386, 65534], [2, 32769, 65534], [1, 2, 3, 65535, 65534]]);
  });
});
