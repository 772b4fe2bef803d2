import { readFileSync } from 'node:fs';
import { type TestService, startTestService } from './service.harness.js';

/** Every route of the OpenAPI document that names a record by id, called with ids that are not uuids. */
const ID_PARAMETER = /^(id|[a-z][A-Za-z]*Id)$/;
const SAMPLE: Record<string, string> = { view: 'top', plane: 'high', energy: 'high', level: '0', tile: '0_0.png', name: 'central' };
const NOT_IDS = ['not-a-uuid', '1', '00000000-0000-0000-0000-00000000000g', '%00', '..%2F..%2Fetc'];

const document = JSON.parse(readFileSync('docs/openapi.json', 'utf8')) as { paths: Record<string, Record<string, unknown>> };
const routes = Object.entries(document.paths).flatMap(([route, methods]) =>
  Object.keys(methods)
    .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map((method) => ({ method: method.toUpperCase(), route, ids: [...route.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).filter((name) => ID_PARAMETER.test(name)) })),
).filter((route) => route.ids.length > 0);

describe('id path parameters', () => {
  let service: TestService;
  let stationKey: string;

  beforeAll(async () => {
    service = await startTestService();
    stationKey = (await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Id checks', country: 'EE' } })).body.apiKey;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('covers the routes that take ids', () => {
    expect(routes.length).toBeGreaterThan(20);
  });

  it.each(routes.map((route) => [`${route.method} ${route.route}`, route] as const))('%s: a malformed id is 404 not_found, never a 5xx', async (_name, route) => {
    for (const notId of NOT_IDS) {
      const path = route.route.replace(/\{([^}]+)\}/g, (_match, name: string) => (ID_PARAMETER.test(name) ? notId : (SAMPLE[name] ?? 'x')));
      for (const token of [service.adminToken, stationKey]) {
        const answer = await service.request<{ error?: { code: string } }>(route.method, path, { token, ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { json: {} } : {}) });
        expect({ path, status: answer.status }).toEqual({ path, status: expect.any(Number) });
        expect(answer.status).toBeLessThan(500);
        if (answer.status === 401 || answer.status === 403) continue;
        expect({ path, status: answer.status, code: answer.body.error?.code }).toEqual({ path, status: 404, code: expect.stringMatching(/not_found$/) });
      }
    }
  });
});
