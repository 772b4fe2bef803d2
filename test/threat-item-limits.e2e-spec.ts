import { encodeGrey8, encodePng16 } from '../libs/imaging/src/raster.js';
import { withMemoryWatch } from '../libs/scanner-adapters/src/fuzz.testing.js';
import { blackPng } from '../libs/scanner-adapters/src/hostile-files.testing.js';
import { type TestService, startTestService } from './service.harness.js';

/**
 * Threat-item uploads over HTTP: the planes' PNG headers are judged before anything is decoded. A 20000 x 20000 PNG
 * bomb (a few hundred KB of zlib zeros, 800 MB once decoded) is refused with 413 too_many_pixels while the service's
 * memory stays flat; planes of different sizes with 422; nothing is added to the library.
 */

const PASSWORD = 'threat-item-limits-password';
/** Far below one decoded 20000 x 20000 16-bit plane (800 MB). */
const MEMORY_BUDGET = 64 * 1024 * 1024;

interface ApiErrorBody {
  error: { code: string; message: string };
}

function itemForm(files: Record<string, Buffer>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries({ name: 'Bomb', category: 'other', pixelSpacingMm: '2', airValue: '60000' })) form.append(name, value);
  for (const [name, data] of Object.entries(files)) form.append(name, new Blob([new Uint8Array(data)], { type: 'image/png' }), `${name}.png`);
  return form;
}

describe('threat item limits over HTTP', () => {
  let service: TestService;
  let token: string;

  beforeAll(async () => {
    service = await startTestService();
    const created = await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'trainer', password: PASSWORD, roles: ['trainer'] } });
    expect(created.status).toBe(201);
    token = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'trainer', password: PASSWORD } })).body.token;
  });
  afterAll(async () => {
    await service?.close();
  });

  async function library(): Promise<number> {
    const response = await service.request<unknown[]>('GET', '/api/v1/training/threat-items?includeRetired=true', { token });
    expect(response.status).toBe(200);
    return response.body.length;
  }

  it('refuses a 20000 x 20000 PNG bomb with 413 too_many_pixels, memory flat, nothing kept', async () => {
    const before = await library();
    const bomb = blackPng(20_000, 20_000, 16);
    expect(bomb.length).toBeLessThan(1_000_000);
    const { result, growth } = await withMemoryWatch(() =>
      service.request<ApiErrorBody>('POST', '/api/v1/training/threat-items', { token, body: itemForm({ high: bomb, low: bomb }) }),
    );
    expect([result?.status, result?.body.error.code]).toEqual([413, 'too_many_pixels']);
    expect(result?.body.error.message).toMatch(/20000 x 20000 pixels; a threat item is at most 2048 x 2048/);
    expect(growth).toBeLessThan(MEMORY_BUDGET);
    expect(await library()).toBe(before);
  });

  it('refuses planes of different sizes with 422 and still takes a valid item', async () => {
    const plane = (width: number, height: number) => encodePng16({ width, height, data: new Uint16Array(width * height).fill(20_000) });
    const unequal = await service.request<ApiErrorBody>('POST', '/api/v1/training/threat-items', {
      token,
      body: itemForm({ high: await plane(40, 30), low: await plane(30, 30) }),
    });
    expect([unequal.status, unequal.body.error.code]).toEqual([422, 'invalid_threat_item']);
    const mask = await encodeGrey8(40, 30, new Uint8Array(1200).fill(1), 'png');
    const valid = await service.request('POST', '/api/v1/training/threat-items', { token, body: itemForm({ high: await plane(40, 30), low: await plane(40, 30), mask }) });
    expect(valid.status).toBe(201);
  });
});
