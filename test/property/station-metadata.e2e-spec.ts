import fc from 'fast-check';
import { conveyanceFromMetadata, scanMetadataSchema } from '../../libs/exchange-format/src/metadata.js';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { type ScanBody, type TestService, scanForm, startTestService } from '../service.harness.js';
import { until } from '../until.js';
import { type MetadataValue, refusedMetadata, stationMetadata } from './metadata.arbitrary.js';
import { type Poison, type TextSlot, poison, poisonArbitrary, storableText } from './text.arbitrary.js';

/*
 * What the metadata schema accepts, the service stores (issue 9): any station metadata the schema
 * (libs/exchange-format/src/metadata.ts) accepts is uploaded with a small real scan and read back as the API
 * promises: the manifest's conveyance (GET /api/v1/scans/:id), the case an analyst claims (its metadata and risk
 * score, decimals kept) and the station's result (reference, declarations, containers, licence plates). Text niix
 * cannot store (NUL, lone surrogates) in the metadata or a file name is refused with 422 invalid_text naming
 * where it is, metadata the schema refuses with 422 invalid_metadata naming the field; neither leaves anything.
 *
 * On PGlite and PostgreSQL; one service per database for the file. NIIX_PROPERTY_RUNS and NIIX_PROPERTY_SEED
 * change the number of runs and replay a failure (fast-check prints the seed and path).
 */

const RUNS = Number(process.env.NIIX_PROPERTY_RUNS ?? 30);
const SEED = process.env.NIIX_PROPERTY_SEED === undefined ? undefined : Number(process.env.NIIX_PROPERTY_SEED);
const PARAMETERS = { numRuns: RUNS, seed: SEED, endOnFailure: process.env.NIIX_PROPERTY_SHRINK !== '1' };

interface ApiErrorBody {
  error: { code: string; message: string };
}
interface Claim {
  claimId: string;
  scan: { id: string; riskScore: number; metadata: unknown };
}
interface ResultPage {
  results: { scanId: string; reference: string | null; declarations: string[]; containers: string[]; licencePlates: string[] }[];
  next: string;
}

/** The metadata as niix keeps it: the JSON that was sent, its text trimmed. */
function trimmed(sent: MetadataValue): MetadataValue {
  const out: MetadataValue = {};
  for (const [key, value] of Object.entries(sent)) {
    if (typeof value === 'string') out[key] = value.trim();
    else if (Array.isArray(value)) out[key] = value.map((entry: string) => entry.trim());
    else if (key === 'fields') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, item]) => [name, typeof item === 'string' ? item.trim() : item]));
    } else out[key] = value;
  }
  return out;
}

/** How an error names a place in the metadata: `containers[2]`, `fields.lane`. */
function fieldText(path: (string | number)[]): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`)).join('');
}

/**
 * File names as stations send them. Not `/` or `\` (the multipart layer keeps the last path segment, as browsers
 * send it), nor `"`, CR, LF (FormData escapes them), nor a leading U+FEFF (the multipart parser decodes the header
 * with a UTF-8 decoder that drops a byte-order mark).
 */
const fileName = storableText({ minLength: 1, maxLength: 120 })
  .filter((name) => !/["\r\n/\\]|^\ufeff/.test(name))
  .map((name) => `${name}.png`);

type Input = { metadata: MetadataValue; fileName: string; poison: ({ into: 'metadata' } & Poison) | { into: 'fileName'; at: number } | null };

const inputs: fc.Arbitrary<Input> = fc.record({
  metadata: stationMetadata,
  fileName,
  poison: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: poisonArbitrary.map((choice) => ({ into: 'metadata' as const, ...choice })) },
    { weight: 1, arbitrary: fc.nat().map((at) => ({ into: 'fileName' as const, at })) },
  ),
});

describe.each(['pglite', 'postgres'] as const)('station metadata, stored and read back, on %s', (database) => {
  let service: TestService;
  let station: { id: string; apiKey: string };
  let analystToken: string;
  let resultCursor = '0';
  let uploads = 0;
  const base = generateScan({ seed: 5, kind: 'truck', width: 32, height: 16, views: ['side'], dualEnergy: false });

  /** A small real scan (a 16-bit PNG) whose bytes no earlier upload had: the same bytes would be a duplicate. */
  async function uniqueScanFile(name: string): Promise<{ name: string; data: Buffer }> {
    const n = ++uploads;
    const views = base.views.map((view) => ({
      ...view,
      planes: view.planes.map((plane) => {
        const data = plane.data.slice();
        data[0] = n & 0xffff;
        data[1] = (n >>> 16) & 0xffff;
        return { ...plane, data };
      }),
    }));
    const [file] = await writeScannerInput('png16', { ...base, views });
    return { name, data: file.data };
  }

  async function upload(metadata: unknown, name: string) {
    return service.request<{ id: string; status: string } & Partial<ApiErrorBody>>('POST', '/api/v1/scans', {
      token: station.apiKey,
      body: scanForm([await uniqueScanFile(name)], metadata),
    });
  }

  beforeAll(async () => {
    service = await startTestService({ database });
    const created = await service.request<{ id: string; apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Narva property lane', country: 'EE', riskLevel: 0 } });
    expect(created.status).toBe(201);
    station = created.body;
    expect((await service.request('POST', '/api/v1/users', { token: service.adminToken, json: { username: 'analyst', password: 'password-of-tests', roles: ['analyst'] } })).status).toBe(201);
    analystToken = (await service.request<{ token: string }>('POST', '/api/v1/auth/login', { json: { username: 'analyst', password: 'password-of-tests' } })).body.token;
  });

  afterAll(async () => {
    await service?.close();
  });

  /** The refusal: status, the `{ error: { code, message } }` shape, and nothing of the upload kept. */
  async function expectRefused(response: Awaited<ReturnType<typeof upload>>, status: number, code: string, folders: string[]): Promise<string> {
    expect({ status: response.status, code: response.body.error?.code }).toEqual({ status, code });
    expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(await service.storedScanFolders()).toEqual(folders);
    return response.body.error!.message;
  }

  it('stores any metadata the schema accepts and reads it back as promised; unstorable text is 422 invalid_text', async () => {
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        expect(scanMetadataSchema.safeParse(input.metadata).error).toBeUndefined(); // the arbitrary stays inside the schema
        const folders = await service.storedScanFolders();
        let metadata: unknown = input.metadata;
        let name = input.fileName;
        let slot: TextSlot | undefined;
        if (input.poison?.into === 'metadata') {
          const poisoned = poison(input.metadata, input.poison);
          if (poisoned) ({ value: metadata, slot } = poisoned);
        } else if (input.poison?.into === 'fileName') {
          const at = input.poison.at % (name.length + 1);
          name = `${name.slice(0, at)}\u0000${name.slice(at)}`;
        }
        const response = await upload(metadata, name);

        if (slot) {
          const message = await expectRefused(response, 422, 'invalid_text', folders);
          const where = slot.key !== undefined ? (slot.path.length ? `"${fieldText(slot.path)}" has a key` : 'has a field name') : `"${fieldText(slot.path)}"`;
          expect(message).toContain(where);
          expect(message).toMatch(/NUL character \(U\+0000\)|lone surrogate \(U\+D[89A-F][0-9A-F]{2}\)/);
          return;
        }
        if (name !== input.fileName) {
          const message = await expectRefused(response, 422, 'invalid_text', folders);
          expect(message).toMatch(/^the file name of file 1 has a NUL character \(U\+0000\) at position \d+/);
          return;
        }

        expect({ status: response.status, error: response.body.error }).toEqual({ status: 202, error: undefined });
        const sent = JSON.parse(JSON.stringify(input.metadata)) as MetadataValue; // what went over the wire
        const kept = trimmed(sent);
        const scan = await service.waitForScan(response.body.id, station.apiKey);
        expect({ status: scan.status, failure: scan.failure }).toEqual({ status: 'queued', failure: undefined });
        const manifest = scan.manifest as ScanBody['manifest'] & { conveyance: unknown; provenance: { originals: { name: string }[] } };
        expect(manifest.conveyance).toEqual(conveyanceFromMetadata(kept));
        expect(manifest.provenance.originals.map((original) => original.name)).toEqual([name]);

        // The scan is `queued` a moment before its case is in the pool: wait for the claim to find it.
        const claimed = await until(async () => {
          const response = await service.request<Claim>('POST', '/api/v1/worklist/claim', { token: analystToken });
          expect([200, 204]).toContain(response.status);
          return response.status === 200 ? response : null;
        }, `the case of scan ${scan.id} in the pool`);
        expect(claimed.body.scan.id).toBe(scan.id);
        expect(claimed.body.scan.metadata).toEqual(kept);
        expect(claimed.body.scan.riskScore).toBe(sent.riskScore ?? 0); // the station's risk level is 0: the score as sent, decimals and all

        const decided = await service.request('POST', `/api/v1/scans/${scan.id}/verdict`, { token: analystToken, json: { claimId: claimed.body.claimId, decision: 'clear' } });
        expect(decided.status).toBe(201);
        const page = await service.request<ResultPage>('GET', `/api/v1/station/results?after=${resultCursor}`, { token: station.apiKey });
        expect(page.status).toBe(200);
        expect(page.body.results.map((result) => result.scanId)).toEqual([scan.id]);
        resultCursor = page.body.next;
        const [result] = page.body.results;
        expect({ reference: result.reference, declarations: result.declarations, containers: result.containers, licencePlates: result.licencePlates }).toEqual({
          reference: kept.reference ?? null,
          declarations: kept.declarations ?? [],
          containers: kept.containers ?? [],
          licencePlates: kept.licencePlates ?? [],
        });
      }),
      PARAMETERS,
    );
  });

  it('refuses metadata the schema refuses with 422 invalid_metadata naming the field, keeping nothing', async () => {
    await fc.assert(
      fc.asyncProperty(refusedMetadata, async ({ metadata, field }) => {
        const folders = await service.storedScanFolders();
        const message = await expectRefused(await upload(metadata, 'refused.png'), 422, 'invalid_metadata', folders);
        expect(message).toContain(field === null ? 'metadata must be a JSON object' : `"${field}"`);
      }),
      PARAMETERS,
    );
  });
});
