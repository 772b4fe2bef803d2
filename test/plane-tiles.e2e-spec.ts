import { cropPlane, decodePlaneTile } from '../libs/imaging/src/plane-tiles.js';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { type GreyPlane, decodePng16 } from '../libs/imaging/src/raster.js';
import { writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { type ScanBody, type TestService, scanForm, startTestService } from './service.harness.js';

interface CreatedStation {
  id: string;
  apiKey: string;
}



/** 2 x 2 means rounded half up (the plane here has even sides). */
function halve(plane: GreyPlane): GreyPlane {
  const width = plane.width / 2;
  const height = plane.height / 2;
  const data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 2 * y * plane.width + 2 * x;
      data[y * width + x] = Math.floor((plane.data[i] + plane.data[i + 1] + plane.data[i + plane.width] + plane.data[i + plane.width + 1]) / 4 + 0.5);
    }
  }
  return { width, height, data };
}

/**
 * Lossless 16-bit tiles for the WebGL viewer over HTTP: a dual-energy scan is uploaded and converted, then the
 * tiles of its high and low planes are read back and compared value for value with the lossless plane PNGs.
 */
describe('16-bit plane tiles end to end', () => {
  let service: TestService;
  let station: CreatedStation;
  let otherStation: CreatedStation;
  let analystToken: string;
  let scan: ScanBody;
  let base: string;

  beforeAll(async () => {
    service = await startTestService();
    const create = (name: string) => service.request<CreatedStation>('POST', '/api/v1/stations', { token: service.adminToken, json: { name, country: 'EE' } });
    station = (await create('Narva road 2')).body;
    otherStation = (await create('Koidula rail 1')).body;
    await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'ieva', password: 'analyst-password-1', roles: ['analyst'] } });
    analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'ieva', password: 'analyst-password-1' } })).body.token;

    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: 21, kind: 'container', width: 640, height: 200 }));
    const accepted = await service.request<{ id: string }>('POST', '/api/v1/scans', { token: station.apiKey, body: scanForm(files) });
    expect(accepted.status).toBe(202);
    scan = await service.waitForScan(accepted.body.id, station.apiKey);
    expect(scan.status).toBe('queued');
    base = `/api/v1/scans/${scan.id}/views/${scan.manifest!.views[0].id}`;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('describes each plane’s pyramid like the 8-bit one, as PNG', async () => {
    const eight = await service.request<string>('GET', `${base}/tiles.dzi`, { token: analystToken });
    for (const energy of ['high', 'low']) {
      const dzi = await service.request<string>('GET', `${base}/planes/${energy}/tiles.dzi`, { token: analystToken });
      expect(dzi.status).toBe(200);
      expect(dzi.headers.get('content-type')).toContain('application/xml');
      expect(dzi.headers.get('cache-control')).toBe('private, max-age=86400, immutable');
      expect(dzi.body).toContain('<Size Width="640" Height="200"/>');
      expect(dzi.body).toBe(eight.body.replace('Format="jpeg"', 'Format="png"'));
    }
  });

  it.each(['high', 'low'])('serves full-resolution tiles of the %s plane with exactly the values of the lossless plane', async (energy) => {
    const plane = await decodePng16((await service.bytes(`${base}/planes/${energy}.png`, station.apiKey)).data);
    expect([plane.width, plane.height]).toEqual([640, 200]);
    // level 10 is the full 640 x 200: tiles 0_0 (0..254), 1_0 (253..508, overlap both sides), 2_0 (507..639).
    for (const [col, left, width] of [
      [0, 0, 255],
      [1, 253, 256],
      [2, 507, 133],
    ]) {
      const response = await fetch(`${service.url}${base}/planes/${energy}/tiles_files/10/${col}_0.png`, { headers: { authorization: `Bearer ${analystToken}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('cache-control')).toBe('private, max-age=86400, immutable');
      const tile = await decodePlaneTile(Buffer.from(await response.arrayBuffer()));
      expect([tile.width, tile.height]).toEqual([width, 200]);
      expect(tile.data).toEqual(cropPlane(plane, left, 0, width, 200));
    }
  });

  it('serves lower levels as 2 x 2 means of the 16-bit values, and the station sees its own scan’s tiles', async () => {
    const plane = await decodePng16((await service.bytes(`${base}/planes/low.png`, station.apiKey)).data);
    const tile = await service.bytes(`${base}/planes/low/tiles_files/9/1_0.png`, station.apiKey);
    expect(tile.status).toBe(200);
    const values = await decodePlaneTile(tile.data);
    expect([values.width, values.height]).toEqual([320 - 253, 100]);
    expect(values.data).toEqual(cropPlane(halve(plane), 253, 0, 320 - 253, 100));
    const top = await decodePlaneTile((await service.bytes(`${base}/planes/low/tiles_files/0/0_0.png`, station.apiKey)).data);
    expect([top.width, top.height]).toEqual([1, 1]);
  });

  it.each([
    ['a level above the full size', 'high/tiles_files/11/0_0.png', 'tile_not_found'],
    ['a column past the edge', 'high/tiles_files/10/3_0.png', 'tile_not_found'],
    ['a row past the edge', 'low/tiles_files/10/0_1.png', 'tile_not_found'],
    ['another format', 'high/tiles_files/10/0_0.jpeg', 'tile_not_found'],
    ['a plane the view does not have', 'single/tiles_files/0/0_0.png', 'plane_not_found'],
    ['the descriptor of a plane the view does not have', 'single/tiles.dzi', 'plane_not_found'],
  ])('answers %s with 404', async (_what, route, code) => {
    const response = await service.request<{ error: { code: string; message: string } }>('GET', `${base}/planes/${route}`, { token: analystToken });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toEqual(expect.any(String));
  });

  it('answers another station with 404 scan_not_found, as for every image of the scan', async () => {
    for (const route of ['high/tiles.dzi', 'high/tiles_files/10/0_0.png', 'low/tiles_files/0/0_0.png']) {
      const response = await service.request<{ error: { code: string } }>('GET', `${base}/planes/${route}`, { token: otherStation.apiKey });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('scan_not_found');
    }
    const anonymous = await service.request('GET', `${base}/planes/high/tiles.dzi`);
    expect(anonymous.status).toBe(401);
  });
});
