import { type TestService, startTestService } from '../service.harness.js';

/** Malformed multipart bodies are the client's fault: 400 with a code, never a 5xx, and nothing is kept. */
describe('malformed multipart uploads', () => {
  let service: TestService;
  let apiKey: string;

  beforeAll(async () => {
    service = await startTestService();
    apiKey = (await service.request<{ apiKey: string }>('POST', '/api/v1/stations', { token: service.adminToken, json: { name: 'Multipart', country: 'LT' } })).body.apiKey;
  });

  afterAll(async () => {
    await service?.close();
  });

  const cases: [string, string, string][] = [
    ['no boundary in the content type', 'multipart/form-data', '--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc\r\n--x--\r\n'],
    ['a body that stops inside a part', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabcdef'],
    ['a part without headers', 'multipart/form-data; boundary=x', '--x\r\n\r\nabc\r\n--x--\r\n'],
    ['a part header that is not a header', 'multipart/form-data; boundary=x', '--x\r\nthis is not a header\r\n\r\nabc\r\n--x--\r\n'],
    ['no closing boundary', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n'],
    ['garbage instead of parts', 'multipart/form-data; boundary=x', 'garbage'],
  ];

  it.each(cases)('%s: 400 with a code, nothing stored', async (_name, contentType, body) => {
    const before = await service.storedScanFolders();
    const answer = await service.request<{ error?: { code: string; message: string } }>('POST', '/api/v1/scans', { token: apiKey, body, headers: { 'content-type': contentType } });
    expect({ status: answer.status, code: answer.body.error?.code }).toEqual({ status: 400, code: expect.stringMatching(/^(malformed_multipart|no_files)$/) });
    expect(await service.storedScanFolders()).toEqual(before);
  });
});
