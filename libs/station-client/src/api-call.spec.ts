import { type CallOutcome, DEFAULT_RETRY, backoff, callApi } from './api-call.js';
import { StationApiError, StationNetworkError } from './station-api.error.js';

const URL = 'http://niix.test';
const noSleep = jest.fn(async (_ms: number) => undefined);

function answer(status: number, body?: unknown): CallOutcome<{ ok: true }> {
  const response = new Response(null, { status });
  return status < 400 ? { data: { ok: true }, response } : { error: body, response };
}

function refused(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
}

describe(callApi.name, () => {
  beforeEach(() => noSleep.mockClear());

  it('retries a network error and a 5xx, then returns the answer', async () => {
    const send = jest
      .fn<Promise<CallOutcome<{ ok: true }>>, []>()
      .mockRejectedValueOnce(refused())
      .mockResolvedValueOnce(answer(503, { error: { code: 'unavailable', message: 'later' } }))
      .mockResolvedValueOnce(answer(202));
    const result = await callApi(URL, send, DEFAULT_RETRY, noSleep);
    expect(result.response.status).toBe(202);
    expect(send).toHaveBeenCalledTimes(3);
    expect(noSleep).toHaveBeenCalledTimes(2);
  });

  it('never retries a 4xx and maps its body to StationApiError', async () => {
    const send = jest.fn(async () => answer(415, { error: { code: 'unsupported_format', message: 'no adapter' } }));
    const error = await callApi(URL, send, DEFAULT_RETRY, noSleep).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StationApiError);
    expect(error).toMatchObject({ status: 415, code: 'unsupported_format', message: 'no adapter' });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('gives up after the attempts with StationNetworkError naming the cause', async () => {
    const send = jest.fn(async (): Promise<CallOutcome<{ ok: true }>> => {
      throw refused();
    });
    const error = await callApi(URL, send, { ...DEFAULT_RETRY, attempts: 3 }, noSleep).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StationNetworkError);
    expect((error as Error).message).toBe('cannot reach niix at http://niix.test: connect ECONNREFUSED 127.0.0.1:9');
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('keeps the status of a 5xx that is not a niix error body', async () => {
    const send = jest.fn(async () => answer(502, '<html>Bad Gateway</html>'));
    const error = await callApi(URL, send, false, noSleep).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 502, code: 'http_502', message: '<html>Bad Gateway</html>' });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('lets other errors through at once', async () => {
    const send = jest.fn(async (): Promise<CallOutcome<{ ok: true }>> => {
      throw new SyntaxError('Unexpected token');
    });
    await expect(callApi(URL, send, DEFAULT_RETRY, noSleep)).rejects.toThrow(SyntaxError);
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe(backoff.name, () => {
  it('doubles up to the cap and honours Retry-After', () => {
    const retry = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoff(retry, 1)).toBeGreaterThanOrEqual(50);
    expect(backoff(retry, 1)).toBeLessThanOrEqual(100);
    expect(backoff(retry, 3)).toBeGreaterThanOrEqual(200);
    expect(backoff(retry, 10)).toBeLessThanOrEqual(1000);
    expect(backoff(retry, 1, '2')).toBe(1000);
    expect(backoff(retry, 1, '0.3')).toBe(300);
  });
});
