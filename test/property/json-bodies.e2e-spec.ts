import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { isUuid } from '../../src/common/ids.js';
import { WorklistService } from '../../src/review/worklist.service.js';
import { ScanRepository } from '../../src/scans/scan.repository.js';
import { type TestService, startTestService } from '../service.harness.js';
import { breakingArbitraryFor, arbitraryFor } from './json-schema.arbitrary.js';
import { type JsonRoute, jsonRoutes, routeUrl } from './json-routes.js';
import { type TextSlot, poison, poisonArbitrary, storableText } from './text.arbitrary.js';

/*
 * Every route that takes a JSON body (found in the OpenAPI document the service serves, each with the zod schema
 * its handler parses with), called with a token that passes its auth:
 * - any body the schema accepts is never answered with a 5xx. Half the runs point the body's references (claims,
 *   scans, sessions, trainees) at real rows, so that it is stored, not only looked up; 4xx for a missing row is
 *   fine, `invalid_body` is not. Text niix cannot store (NUL, lone surrogates) put anywhere in the body is
 *   422 `invalid_text` naming where;
 * - a body that breaks the schema is 400 `invalid_body` in the `{ error: { code, message } }` shape, naming the first
 *   wrong field.
 * Path parameters are uuids or any text (missing rows: 4xx). On PGlite and PostgreSQL, one service per database.
 * NIIX_PROPERTY_RUNS and NIIX_PROPERTY_SEED change the number of runs and replay a failure.
 */

const RUNS = Number(process.env.NIIX_PROPERTY_RUNS ?? 30);
const SEED = process.env.NIIX_PROPERTY_SEED === undefined ? undefined : Number(process.env.NIIX_PROPERTY_SEED);
const PARAMETERS = { numRuns: RUNS, seed: SEED, endOnFailure: process.env.NIIX_PROPERTY_SHRINK !== '1' };

type Json = Record<string, unknown>;
interface ApiResponse {
  status: number;
  body: unknown;
}
interface Actor {
  id: string;
  token: string;
}
interface Claim {
  claimId: string;
  scan: { id: string };
}

/** The one view of the cases made here (see `seedQueuedScan`). */
const VIEW = { id: 'side', width: 800, height: 250 };

/** Regions moved inside a view, keeping their size where it fits: the same body, now about this case. */
function fitRegions(regions: unknown, view: { id: string; width: number; height: number }): unknown {
  if (!Array.isArray(regions)) return regions;
  return regions.map((region: { x: number; y: number; width: number; height: number }) => {
    const x = region.x % view.width;
    const y = region.y % view.height;
    return { ...region, view: view.id, x, y, width: 1 + ((region.width - 1) % (view.width - x)), height: 1 + ((region.height - 1) % (view.height - y)) };
  });
}

/** Path parameters that name nothing: uuids, or any text (a NUL too). */
const randomParameter: fc.Arbitrary<string> = fc.oneof(fc.uuid(), storableText({ minLength: 1, maxLength: 40 }), fc.constantFrom('\u0000', 'a\u0000b', 'not-a-uuid'));

/**
 * JSON the HTTP layer refuses before any schema sees it (400 `bad_request`, its guard against prototype
 * poisoning): a key `__proto__`, or a key `constructor` holding `prototype`. fast-check likes such keys.
 */
function poisonsPrototypes(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(poisonsPrototypes);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(
    ([key, item]) => key === '__proto__' || (key === 'constructor' && typeof item === 'object' && item !== null && 'prototype' in item) || poisonsPrototypes(item),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function describeCall(route: JsonRoute, url: string, body: unknown, response: ApiResponse): string {
  return `${route.method} ${url} with ${JSON.stringify(body)} answered ${response.status} ${JSON.stringify(response.body)}`;
}

describe.each(['pglite', 'postgres'] as const)('JSON request bodies on %s', (database) => {
  let service: TestService;
  let routes: JsonRoute[];
  let station: { id: string; apiKey: string };
  let analyst: Actor;
  let supervisor: Actor;
  let trainer: Actor;
  let trainee: Actor;
  const archive: string[] = [];
  let setId: string | undefined;
  let sessionId: string | undefined;
  let pools = 0;

  async function person(username: string, role: string): Promise<Actor> {
    const created = await service.request<{ id: string }>('POST', '/api/v1/users', { token: service.adminToken, json: { username, password: 'password-of-tests', roles: [role] } });
    expect(created.status).toBe(201);
    const login = await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username, password: 'password-of-tests' } });
    return { id: created.body.id, token: login.body.token };
  }

  /** A queued case in the central pool, as the pipeline leaves it (without image files: the routes here do not read them). */
  async function seedQueuedScan(): Promise<void> {
    const scans = service.app.get(ScanRepository);
    const id = randomUUID();
    const now = new Date();
    await scans.insertWithFiles(
      { id, stationId: station.id, status: 'received', contentSha256: id, metadata: { reference: `seed-${id}` }, adapterId: 'image', riskScore: 0, pool: 'central', receivedAt: now, slaDeadline: new Date(now.getTime() + 600_000) },
      [],
    );
    const manifest = {
      format: 'niix-exchange',
      version: '1.0',
      scanId: id,
      stationId: station.id,
      scanner: { vendor: 'Property tests' },
      acquiredAt: null,
      conveyance: { containers: [], licencePlates: [], declarations: [], fields: {} },
      views: [{ ...VIEW, pixelSpacingMm: null, airValue: 60000, planes: [] }],
      provenance: { originals: [], adapter: { id: 'image', version: '1' }, convertedAt: now.toISOString(), warnings: [] },
    };
    await scans.transition(id, ['received'], { status: 'queued', queuedAt: now, manifest });
    await service.app.get(WorklistService).enqueue((await scans.findById(id))!);
  }

  /** A case the analyst holds now. */
  async function freshClaim(): Promise<Claim> {
    await seedQueuedScan();
    const claimed = await service.request<Claim>('POST', '/api/v1/worklist/claim', { token: analyst.token });
    expect(claimed.status).toBe(200);
    return claimed.body;
  }

  /** A scan with a final verdict (and, with `outcome`, the station's inspection outcome: an archived case). */
  async function decidedScan(outcome = false): Promise<string> {
    const claim = await freshClaim();
    const decided = await service.request('POST', `/api/v1/scans/${claim.scan.id}/verdict`, { token: analyst.token, json: { claimId: claim.claimId, decision: 'clear' } });
    expect(decided.status).toBe(201);
    if (outcome) {
      const reported = await service.request('POST', `/api/v1/scans/${claim.scan.id}/outcome`, { token: station.apiKey, json: { found: false } });
      expect(reported.status).toBe(201);
    }
    return claim.scan.id;
  }

  async function archived(): Promise<string[]> {
    while (archive.length < 3) archive.push(await decidedScan(true));
    return archive;
  }

  async function trainingSet(traineeIds: string[] = []): Promise<string> {
    const created = await service.request<{ id: string }>('POST', '/api/v1/training/sets', {
      token: trainer.token,
      json: { name: 'property set', mode: 'practice', archivedScanIds: await archived(), traineeIds },
    });
    expect(created.status).toBe(202);
    return created.body.id;
  }

  /** The case the trainee is shown now, in a session that has one (a new set when the last is done). */
  async function shownCase(): Promise<{ sessionId: string; caseId: string; view: { id: string; width: number; height: number } }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (sessionId) {
        const next = await service.request<{ case: { caseId: string; manifest: { views: { id: string; width: number; height: number }[] } } }>('POST', `/api/v1/training/sessions/${sessionId}/next`, { token: trainee.token });
        if (next.status === 200) return { sessionId, caseId: next.body.case.caseId, view: next.body.case.manifest.views[0] };
        expect(next.status).toBe(204);
      }
      const set = await trainingSet([trainee.id]);
      const mine = await service.request<{ id: string; setId: string }[]>('GET', '/api/v1/training/my/sessions', { token: trainee.token });
      sessionId = mine.body.find((session) => session.setId === set)!.id;
    }
    throw new Error('no training case to answer');
  }

  interface Prepared {
    params: Record<string, string>;
    body: unknown;
  }
  interface RouteFixture {
    /** A token that passes the route's auth (none: public). */
    token(): string | undefined;
    /** Path parameters, and the generated body with its references pointed at real rows. */
    real(body: Json): Promise<Prepared>;
  }

  /** One fixture per route that takes a JSON body; a new route fails the coverage test until it has one. */
  const FIXTURES: Record<string, RouteFixture> = {
    'POST /api/v1/auth/login': {
      token: () => undefined,
      real: async (body) => ({ params: {}, body: { ...body, username: 'analyst' } }),
    },
    'POST /api/v1/users': {
      token: () => service.adminToken,
      real: async (body) => ({ params: {}, body }),
    },
    'POST /api/v1/stations': {
      token: () => service.adminToken,
      real: async (body) => ({ params: {}, body: { ...body, pool: 'central' } }),
    },
    'PUT /api/v1/pools/{name}': {
      token: () => service.adminToken,
      real: async (body) => ({ params: { name: `property-${++pools}` }, body }),
    },
    'POST /api/v1/worklist/claims/{claimId}/reassign': {
      token: () => supervisor.token,
      real: async (body) => {
        const claim = await freshClaim();
        return { params: { claimId: claim.claimId }, body: body.toAnalystId === undefined ? body : { ...body, toAnalystId: analyst.id } };
      },
    },
    'POST /api/v1/scans/{id}/verdict': {
      token: () => analyst.token,
      real: async (body) => {
        const claim = await freshClaim();
        return { params: { id: claim.scan.id }, body: { ...body, claimId: claim.claimId, regions: fitRegions(body.regions ?? [], VIEW) } };
      },
    },
    'POST /api/v1/scans/{id}/outcome': {
      token: () => station.apiKey,
      real: async (body) => ({ params: { id: await decidedScan() }, body }),
    },
    'POST /api/v1/training/sets': {
      token: () => trainer.token,
      real: async (body) => {
        // Only archived cases: no projected threats to prepare (the threat library is empty here).
        const { threatShare: _share, projectedCount: _count, projections: _projections, threatItemIds: _items, ...rest } = body;
        return { params: {}, body: { ...rest, archivedScanIds: await archived(), traineeIds: [trainee.id] } };
      },
    },
    'POST /api/v1/training/sets/{id}/assignments': {
      token: () => trainer.token,
      real: async (body) => {
        setId ??= await trainingSet();
        return { params: { id: setId }, body: { ...body, traineeIds: [trainee.id] } };
      },
    },
    'PATCH /api/v1/training/threat-items/{id}': {
      token: () => trainer.token,
      real: async (body) => ({ params: { id: randomUUID() }, body }), // the library is empty: 404 is the deepest answer
    },
    'POST /api/v1/training/sessions/{id}/cases/{caseId}/answer': {
      token: () => trainee.token,
      real: async (body) => {
        const shown = await shownCase();
        return { params: { id: shown.sessionId, caseId: shown.caseId }, body: { ...body, regions: fitRegions(body.regions ?? [], shown.view) } };
      },
    },
  };

  function route(name: string): JsonRoute {
    const found = routes.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`${name} is not a JSON-body route of the OpenAPI document`);
    return found;
  }

  function call(target: JsonRoute, params: Record<string, string>, body: unknown): Promise<ApiResponse & { url: string }> {
    const url = routeUrl(target.path, params);
    return service.request(target.method, url, { token: FIXTURES[target.name].token(), json: body }).then((response) => ({ ...response, url }));
  }

  beforeAll(async () => {
    service = await startTestService({ database });
    const document = await service.request<Parameters<typeof jsonRoutes>[1]>('GET', '/api/docs');
    routes = jsonRoutes(service.app, document.body);
    const created = await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Property station', country: 'LT' } });
    station = created.body;
    analyst = await person('analyst', 'analyst');
    supervisor = await person('supervisor', 'supervisor');
    trainer = await person('trainer', 'trainer');
    trainee = await person('trainee', 'trainee');
  });

  afterAll(async () => {
    await service?.close();
  });

  it('has a fixture for every route that takes a JSON body, and nothing else', () => {
    expect(Object.keys(FIXTURES).sort()).toEqual(routes.map((candidate) => candidate.name));
  });

  it('answers a request without a body as the schema takes {} (no body is an empty object)', async () => {
    for (const target of routes) {
      const params = Object.fromEntries([...target.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name, randomUUID()]));
      const response = await call(target, params, undefined);
      const accepted = target.zod.safeParse({}).success;
      expect({ route: target.name, server: response.status >= 500, invalidBody: (response.body as { error?: { code: string } }).error?.code === 'invalid_body' }).toEqual({
        route: target.name,
        server: false,
        invalidBody: !accepted,
      });
    }
  });

  it.each(Object.keys(FIXTURES))('%s: never a 5xx for a body the schema accepts; unstorable text is 422 invalid_text', async (name) => {
    const target = route(name);
    const bodies = arbitraryFor(target.jsonSchema).filter((body) => !poisonsPrototypes(body) && target.zod.safeParse(body).success) as fc.Arbitrary<Json>;
    const params = fc.record(Object.fromEntries([...target.path.matchAll(/\{(\w+)\}/g)].map(([, param]) => [param, randomParameter])));
    const poisons = fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: poisonArbitrary });
    await fc.assert(
      fc.asyncProperty(bodies, fc.boolean(), params, poisons, async (generated, real, randomParams, choice) => {
        const prepared = real ? await FIXTURES[name].real(generated) : { params: randomParams, body: generated };
        const accepted = target.zod.safeParse(prepared.body);
        expect(accepted.error).toBeUndefined(); // pointing references at real rows keeps the body inside the schema
        let body = prepared.body;
        let slot: TextSlot | undefined;
        const poisoned = choice && poison(body, choice);
        if (poisoned) ({ value: body, slot } = poisoned);

        const response = await call(target, prepared.params, body);
        if (response.status >= 500) throw new Error(describeCall(target, response.url, body, response));
        const error = (response.body as { error?: { code: string; message: string } } | undefined)?.error;
        if (response.status >= 400) expect(response.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
        // A path parameter that is no id is refused before the body is read (404); real rows and uuids get that far.
        const reachesBody = real || Object.values(prepared.params).every((value) => isUuid(value));
        if (!reachesBody) return;
        if (slot) {
          const where = slot.path.join('.');
          const subject = slot.key !== undefined ? `a key of ${where || 'the body'}` : where || 'the body';
          expect({ status: response.status, ...error }).toEqual({ status: 422, code: 'invalid_text', message: expect.stringMatching(new RegExp(`^${escapeRegExp(subject)} has (a NUL character|a lone surrogate)`)) });
        } else {
          expect({ status: response.status, ...error }).not.toEqual(expect.objectContaining({ code: expect.stringMatching(/^(invalid_body|invalid_text|bad_request)$/) }));
        }
      }),
      PARAMETERS,
    );
  });

  it('holds the text rule for the text fields of a multipart upload too (a threat item)', async () => {
    const fields = fc.record({ name: storableText({ minLength: 1, maxLength: 120 }), description: storableText({ maxLength: 200 }) });
    // Only NUL: FormData sends text as UTF-8, so a lone surrogate arrives as U+FFFD, which is fine text.
    const poisons = fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: poisonArbitrary.map((choice) => ({ ...choice, character: '\u0000' })) });
    await fc.assert(
      fc.asyncProperty(fields, poisons, async (generated, choice) => {
        const poisoned = choice && poison(generated, choice);
        const sent = (poisoned ? poisoned.value : generated) as Record<string, string>;
        const form = new FormData();
        for (const [key, value] of Object.entries({ ...sent, category: 'weapons', pixelSpacingMm: '1', airValue: '60000' })) form.append(key, value);
        form.append('high', new Blob([new Uint8Array(8)]), 'high.png'); // never decoded: the fields are checked first
        form.append('low', new Blob([new Uint8Array(8)]), 'low.png');
        const response = await service.request<{ error: { code: string; message: string } }>('POST', '/api/v1/training/threat-items', { token: trainer.token, body: form });
        if (poisoned) {
          const subject = poisoned.slot.key === undefined ? `the field "${poisoned.slot.path[0]}"` : 'a field name';
          expect({ status: response.status, ...response.body.error }).toEqual({ status: 422, code: 'invalid_text', message: expect.stringMatching(new RegExp(`^${subject} has a NUL character`)) });
        } else {
          // Storable text goes on to the item's own checks: its fields (400; FormData turns a lone CR or LF into CRLF,
          // which can make a name too long) or its files, which are no PNG planes (422).
          expect({ status: response.status, code: response.body.error?.code }).toEqual({ status: response.status === 400 ? 400 : 422, code: 'invalid_threat_item' });
        }
      }),
      PARAMETERS,
    );
  });

  it.each(Object.keys(FIXTURES))('%s: a body that breaks the schema is 400 invalid_body naming the first wrong field', async (name) => {
    const target = route(name);
    const broken = breakingArbitraryFor(target.jsonSchema).filter((body) => !poisonsPrototypes(body) && !target.zod.safeParse(body).success);
    const params = Object.fromEntries([...target.path.matchAll(/\{(\w+)\}/g)].map(([, param]) => [param, randomUUID()]));
    await fc.assert(
      fc.asyncProperty(broken, async (body) => {
        const response = await call(target, params, body);
        const issue = target.zod.safeParse(body).error!.issues[0];
        const where = issue.path.length ? issue.path.join('.') : 'body';
        expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringMatching(new RegExp(`^${escapeRegExp(where)}: `)) } } });
      }),
      { ...PARAMETERS, numRuns: 3 * RUNS }, // cheap runs (refused before any lookup); many ways to break a body

    );
  });
});
