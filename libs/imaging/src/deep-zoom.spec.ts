import { buildDeepZoom, deepZoomLevelSize, deepZoomMaxLevel, DeepZoomError, indexTiles, tileBytes, verifyDeepZoom } from './deep-zoom.js';

describe('deep zoom', () => {
  const width = 700;
  const height = 300;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i % width) % 256;

  it('counts levels as Deep Zoom does: full size at maxLevel, halving down to 1 x 1 at 0', () => {
    expect(deepZoomMaxLevel(8000, 2500)).toBe(13);
    expect(deepZoomLevelSize(8000, 2500, 13)).toEqual({ width: 8000, height: 2500 });
    expect(deepZoomLevelSize(8000, 2500, 12)).toEqual({ width: 4000, height: 1250 });
    expect(deepZoomLevelSize(8000, 2500, 10)).toEqual({ width: 1000, height: 313 });
    expect(deepZoomLevelSize(8000, 2500, 0)).toEqual({ width: 1, height: 1 });
  });

  it('indexes every tile of every level as a slice of the one archive', async () => {
    const archive = await buildDeepZoom(pixels, width, height, 1, { tileSize: 254, overlap: 1, format: 'jpeg', quality: 80 });
    expect(archive.maxLevel).toBe(10);
    expect(archive.dzi).toContain('xmlns="http://schemas.microsoft.com/deepzoom/2008"');
    expect(archive.dzi).toContain('Format="jpeg" Overlap="1" TileSize="254"');
    expect(archive.dzi).toContain('<Size Width="700" Height="300"/>');
    expect(await verifyDeepZoom(archive, width, height, { channels: 1 })).toEqual([]);
    // 3 x 2 tiles at level 10, 2 x 1 at 9, then one per level.
    expect(Object.keys(archive.index)).toHaveLength(6 + 2 + 9);
    const [offset, length] = archive.index['10/0_0'];
    expect([archive.archive[offset], archive.archive[offset + 1]]).toEqual([0xff, 0xd8]);
    expect(offset + length).toBeLessThanOrEqual(archive.archive.length);
    expect(tileBytes(archive, 10, 3, 0)).toBeNull();
    expect(tileBytes(archive, 11, 0, 0)).toBeNull();
  });

  it('makes PNG tiles of an RGB image too', async () => {
    const rgb = new Uint8Array(width * height * 3).fill(200);
    const archive = await buildDeepZoom(rgb, width, height, 3, { tileSize: 512, overlap: 0, format: 'png', quality: 80 });
    expect(archive.dzi).toContain('Format="png" Overlap="0" TileSize="512"');
    expect(await verifyDeepZoom(archive, width, height, { channels: 3 })).toEqual([]);
  });

  it('rejects what is not a zip of stored tiles', () => {
    expect(() => indexTiles(Buffer.from('not a zip at all, not at all'), 'jpeg')).toThrow(DeepZoomError);
  });
});
