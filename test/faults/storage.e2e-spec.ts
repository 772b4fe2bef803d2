import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateScan } from '../../libs/imaging/src/synthetic/index.js';
import { writeScannerInput } from '../../libs/scanner-adapters/src/scanner-input.writer.js';
import { DATABASE } from '../../src/database/database.module.js';
import type { Database } from '../../src/database/database.js';
import { scans } from '../../src/database/schema.js';
import { startS3rver, type TestS3 } from '../s3.js';
import { type TestService, scanForm, startTestService } from '../service.harness.js';

/**
 * Object storage faults during upload, caused for real: a read-only objects folder (the immutable attribute, which
 * binds root too), an S3 endpoint that refuses connections, and one that denies writes (a proxy in front of s3rver
 * answering AccessDenied as MinIO does for a read-only policy). Each upload in the fault is 503 storage_unavailable
 * with Retry-After, leaves no scan row and no object, and the next upload after the fault works without a restart.
 */

type ProxyMode = 'up' | 'down' | 'read-only';

/** An HTTP proxy before s3rver whose mode a test switches: forwarding, not listening, or denying writes. */
async function startS3Proxy(target: string): Promise<{ url: string; set(mode: ProxyMode): Promise<void>; close(): Promise<void> }> {
  let mode: ProxyMode = 'up';
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    if (mode === 'read-only' && request.method !== 'GET' && request.method !== 'HEAD') {
      request.resume();
      response.writeHead(403, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>');
      return;
    }
    const upstream = http.request(new URL(request.url ?? '/', target), { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    async set(next) {
      if (next === 'down' && mode !== 'down') await stop();
      if (next !== 'down' && mode === 'down') await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      mode = next;
    },
    close: () => (mode === 'down' ? Promise.resolve() : stop()),
  };
}

async function rowCount(service: TestService): Promise<number> {
  return (await service.app.get<Database>(DATABASE).db.select({ id: scans.id }).from(scans)).length;
}

describe('object storage faults during upload', () => {
  let seed = 100;
  async function upload(service: TestService, apiKey: string) {
    const files = await writeScannerInput('raw:aurora-ax6', generateScan({ seed: seed++, kind: 'truck', width: 320, height: 100 }));
    return service.request<{ id: string; error?: { code: string; message: string } }>('POST', '/api/v1/scans', { token: apiKey, body: scanForm(files) });
  }

  async function station(service: TestService): Promise<string> {
    const created = await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: `Storage faults ${seed++}`, country: 'LV' } });
    expect(created.status).toBe(201);
    return created.body.apiKey;
  }

  function expectUnavailable(answer: { status: number; body: { error?: { code: string } }; headers: Headers }) {
    expect([answer.status, answer.body.error?.code]).toEqual([503, 'storage_unavailable']);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  }

  describe('filesystem', () => {
    let service: TestService;
    let scansFolder: string;

    beforeAll(async () => {
      service = await startTestService();
      if (service.config.storage.kind !== 'filesystem') throw new Error('expected the filesystem driver');
      scansFolder = path.join(service.config.storage.dir, 'scans');
      mkdirSync(scansFolder, { recursive: true });
    });

    afterAll(async () => {
      execFileSync('chattr', ['-i', scansFolder]);
      await service?.close();
    });

    it('answers 503 while the objects folder is read-only, keeps nothing, and works again once it is writable', async () => {
      const apiKey = await station(service);
      const before = { rows: await rowCount(service), folders: readdirSync(scansFolder) };
      execFileSync('chattr', ['+i', scansFolder]);
      expectUnavailable(await upload(service, apiKey));
      expect({ rows: await rowCount(service), folders: readdirSync(scansFolder) }).toEqual(before);
      execFileSync('chattr', ['-i', scansFolder]);
      const after = await upload(service, apiKey);
      expect(after.status).toBe(202);
      expect((await service.waitForScan(after.body.id, apiKey)).status).toBe('queued');
    });
  });

  describe('S3', () => {
    let s3: TestS3;
    let proxy: Awaited<ReturnType<typeof startS3Proxy>>;
    let service: TestService;
    const dir = path.join(os.tmpdir(), `niix-s3-faults-${process.pid}`);

    beforeAll(async () => {
      s3 = await startS3rver(dir);
      proxy = await startS3Proxy(s3.settings.endpoint);
      service = await startTestService({
        env: { S3_ENDPOINT: proxy.url, S3_ACCESS_KEY: s3.settings.accessKey, S3_SECRET_KEY: s3.settings.secretKey, S3_BUCKET: s3.settings.bucket },
      });
    });

    afterAll(async () => {
      await service?.close();
      await proxy?.close();
      await s3?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function objectCount(): Promise<number> {
      const folder = path.join(dir, s3.settings.bucket);
      try {
        return readdirSync(folder, { recursive: true }).length;
      } catch {
        return 0;
      }
    }

    it.each(['down', 'read-only'] as const)('answers 503 while S3 is %s, keeps nothing, and works again when it is back', async (mode) => {
      const apiKey = await station(service);
      const before = { rows: await rowCount(service), objects: await objectCount() };
      await proxy.set(mode);
      expectUnavailable(await upload(service, apiKey));
      const ready = await service.request<{ checks: { storage: { ok: boolean } } }>('GET', '/health/ready');
      if (mode === 'down') expect([ready.status, ready.body.checks.storage.ok]).toEqual([503, false]);
      expect({ rows: await rowCount(service), objects: await objectCount() }).toEqual(before);
      await proxy.set('up');
      const after = await upload(service, apiKey);
      expect(after.status).toBe(202);
      expect((await service.waitForScan(after.body.id, apiKey)).status).toBe('queued');
    });
  });
});
