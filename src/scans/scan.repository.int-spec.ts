import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Database } from '../database/database.js';
import { stations } from '../database/schema.js';
import { createTestPostgres } from '../../test/postgres.js';
import { ScanRepository } from './scan.repository.js';

/** The same queries on both databases niix supports: PGlite (embedded) and PostgreSQL (production). */
describe.each(['pglite', 'postgres'] as const)(`${ScanRepository.name} on %s`, (kind) => {
  let database: Database;
  let scans: ScanRepository;
  let cleanup: () => Promise<void>;
  const stationId = randomUUID();

  beforeAll(async () => {
    if (kind === 'pglite') {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-repo-'));
      database = await Database.open({ kind: 'pglite', dir });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const server = await createTestPostgres();
      database = await Database.open({ kind: 'postgres', url: server.url });
      cleanup = server.drop;
    }
    scans = new ScanRepository(database);
    await database.db.insert(stations).values({ id: stationId, name: 'Lane 1', country: 'EE', apiKeyHash: randomUUID(), webhookSecret: 'x' });
  });

  afterAll(async () => {
    await database.close();
    await cleanup();
  });

  const scan = (overrides: { idempotencyKey?: string; contentSha256?: string } = {}) => ({
    id: randomUUID(),
    stationId,
    status: 'received' as const,
    idempotencyKey: overrides.idempotencyKey ?? null,
    contentSha256: overrides.contentSha256 ?? randomUUID(),
    metadata: {},
    adapterId: 'image',
    receivedAt: new Date(),
  });

  it('stores a scan with its files in one transaction and refuses the same content or key twice', async () => {
    const first = scan({ idempotencyKey: 'k-1', contentSha256: 'c-1' });
    expect(await scans.insertWithFiles(first, [{ scanId: first.id, position: 0, name: 'a.png', size: 10, sha256: 'f', objectKey: 'o' }])).toBe(true);
    const sameContent = scan({ contentSha256: 'c-1' });
    expect(await scans.insertWithFiles(sameContent, [{ scanId: sameContent.id, position: 0, name: 'b.png', size: 1, sha256: 'g', objectKey: 'p' }])).toBe(false);
    expect(await scans.findById(sameContent.id)).toBeUndefined();
    expect(await scans.files(sameContent.id)).toEqual([]);
    expect(await scans.insertWithFiles(scan({ idempotencyKey: 'k-1' }), [])).toBe(false);
    expect((await scans.findByIdempotencyKey(stationId, 'k-1'))?.id).toBe(first.id);
    expect((await scans.findByContent(stationId, 'c-1'))?.id).toBe(first.id);
    expect((await scans.files(first.id)).map((file) => file.name)).toEqual(['a.png']);
  });

  it('moves a scan only from the states a step allows', async () => {
    const row = scan();
    await scans.insertWithFiles(row, []);
    expect(await scans.transition(row.id, ['received'], { status: 'converting', convertingAt: new Date() })).toBe(true);
    expect(await scans.transition(row.id, ['received'], { status: 'failed' })).toBe(false);
    expect(await scans.transition(row.id, ['converting'], { status: 'queued', queuedAt: new Date() })).toBe(true);
    expect((await scans.findById(row.id))?.status).toBe('queued');
    const pending = await scans.idsWithStatus(['received', 'converting']);
    expect(pending.map((p) => p.id)).not.toContain(row.id);
  });
});
