import sharp from 'sharp';
import { verifyDeepZoom } from './deep-zoom.js';
import { decodeGrey } from './raster.js';
import { greyLut } from './display.js';
import { classifyColour, materialMap, type MaterialColourClass } from './material-map.js';
import { renderView, tileBytes, type PlaneSet } from './renditions.js';
import { generateScan } from './synthetic/generate-scan.js';

function viewOf(seed: number, kind: 'container' | 'truck', dualEnergy = true) {
  const scan = generateScan({ seed, kind, width: 800, height: 250, dualEnergy });
  const [v] = scan.views;
  const view: PlaneSet = { width: v.width, height: v.height, airValue: v.airValue, planes: v.planes };
  return { scan, view };
}

async function info(image: Buffer) {
  const m = await sharp(image).metadata();
  return { format: m.format, width: m.width, height: m.height, channels: m.channels };
}

describe(renderView.name, () => {
  it('renders display, thumbnail and tiles of a dual-energy view, grey and material', async () => {
    const { view } = viewOf(5, 'container');
    const r = await renderView(view);
    expect(await info(r.display)).toEqual({ format: 'jpeg', width: 800, height: 250, channels: 1 });
    expect(await info(r.thumbnail)).toEqual({ format: 'jpeg', width: 512, height: 160, channels: 1 });
    expect(r.tiles.dzi).toContain('<Size Width="800" Height="250"/>');
    expect(r.tiles.dzi).toContain('TileSize="254"');
    expect(r.tiles.maxLevel).toBe(10);
    const levels = [10, 9, 5, 0];
    expect(await verifyDeepZoom(r.tiles, 800, 250, { levels, channels: 1 })).toEqual([]);
    expect(r.material).not.toBeNull();
    const material = r.material!;
    expect(await info(material.display)).toEqual({ format: 'jpeg', width: 800, height: 250, channels: 3 });
    expect(await info(material.thumbnail)).toEqual({ format: 'jpeg', width: 512, height: 160, channels: 3 });
    expect(await verifyDeepZoom(material.tiles, 800, 250, { levels, channels: 3 })).toEqual([]);
    expect(tileBytes(r.tiles, 10, 0, 0)).not.toBeNull();
    expect(tileBytes(r.tiles, 10, 99, 0)).toBeNull();
  });

  it('caps the display and thumbnail sizes and honours the tile size', async () => {
    const { view } = viewOf(6, 'truck', false);
    const r = await renderView(view, { displayMaxSide: 400, thumbnailSize: 128, tileSize: 126, jpegQuality: 70 });
    expect(await info(r.display)).toMatchObject({ width: 400, height: 125 });
    expect(await info(r.thumbnail)).toMatchObject({ width: 128, height: 40 });
    expect(r.tiles.tileSize).toBe(126);
    expect(await verifyDeepZoom(r.tiles, 800, 250, { levels: [10], channels: 1 })).toEqual([]);
    expect(r.material).toBeNull();
  });

  it('shows more transmission brighter: air white, opaque black', async () => {
    const width = 256;
    const height = 16;
    const airValue = 50000;
    const data = new Uint16Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.round(airValue * Math.exp(-8 * (1 - x / (width - 1))));
    const r = await renderView({ width, height, airValue, planes: [{ energy: 'single', data }] });
    const { data: pixels } = await decodeGrey(r.display);
    const column = (x: number) => {
      let s = 0;
      for (let y = 0; y < height; y++) s += pixels[y * width + x];
      return s / height;
    };
    for (let x = 8; x < width; x += 8) expect(column(x)).toBeGreaterThanOrEqual(column(x - 8) - 2);
    expect(column(0)).toBeLessThan(8);
    expect(column(width - 1)).toBeGreaterThan(247);
  });

  it('colours organic cargo orange, aluminium and glass green, steel blue', () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const { scan, view } = viewOf(seed, seed % 2 ? 'container' : 'truck');
      const high = view.planes[0].data;
      const low = view.planes[1].data;
      const rgb = materialMap(high, low, view.airValue, greyLut(view.airValue));
      for (const o of scan.objects) {
        const votes: Record<MaterialColourClass, number> = { none: 0, organic: 0, mixed: 0, metal: 0 };
        for (let y = Math.round(o.y + o.height * 0.3); y < o.y + o.height * 0.7; y++) {
          for (let x = Math.round(o.x + o.width * 0.3); x < o.x + o.width * 0.7; x++) {
            const i = (y * view.width + x) * 3;
            votes[classifyColour(rgb[i], rgb[i + 1], rgb[i + 2])]++;
          }
        }
        const winner = (Object.keys(votes) as MaterialColourClass[]).reduce((a, b) => (votes[b] > votes[a] ? b : a));
        expect({ label: o.label, colour: winner }).toEqual({ label: o.label, colour: o.material });
        seen.add(o.material);
      }
    }
    expect(seen).toEqual(new Set(['organic', 'mixed', 'metal']));
  });

  it('refuses planes that do not match the view size', async () => {
    await expect(renderView({ width: 10, height: 10, airValue: 1000, planes: [{ energy: 'single', data: new Uint16Array(99) }] })).rejects.toThrow(
      RangeError,
    );
  });
});
