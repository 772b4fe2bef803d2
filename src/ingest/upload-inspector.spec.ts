import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UploadInspector, type UploadInspectorOptions } from './upload-inspector.js';

/** Streams `chunks` through an inspector into a sink; resolves with what reached the sink. */
async function run(inspector: UploadInspector, chunks: Buffer[]): Promise<Buffer> {
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks), inspector, sink);
  return Buffer.concat(received);
}

function inspector(options: Partial<UploadInspectorOptions> = {}): { inspector: UploadInspector; heads: Buffer[] } {
  const heads: Buffer[] = [];
  const created = new UploadInspector({
    judgeBytes: 16,
    keepBytes: 64,
    budget: () => Number.MAX_SAFE_INTEGER,
    judgeHead: (head) => {
      heads.push(Buffer.from(head));
      return null;
    },
    overBudget: () => new Error('over budget'),
    ...options,
  });
  return { inspector: created, heads };
}

const split = (data: Buffer, size: number) => Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));

describe(UploadInspector.name, () => {
  it('passes every byte through and counts and hashes exactly the data', async () => {
    const data = randomBytes(1000);
    const { inspector: subject } = inspector();
    const out = await run(subject, split(data, 7));
    expect(out).toEqual(data);
    expect(subject.bytes).toBe(1000);
    expect(subject.sha256()).toBe(createHash('sha256').update(data).digest('hex'));
    expect(subject.sha256()).toBe(subject.sha256());
  });

  it('judges once, on the first judgeBytes bytes, as soon as they have arrived', async () => {
    const data = randomBytes(100);
    const seen: { head: Buffer; bytes: number }[] = [];
    const subject: UploadInspector = inspector({
      judgeHead: (head) => {
        seen.push({ head: Buffer.from(head), bytes: subject.bytes });
        return null;
      },
    }).inspector;
    await run(subject, split(data, 5));
    // Four 5-byte chunks hold the 16 bytes: judged then, not at the end.
    expect(seen).toEqual([{ head: data.subarray(0, 16), bytes: 20 }]);
  });

  it('judges a file shorter than judgeBytes at its end', async () => {
    const data = randomBytes(10);
    const { inspector: subject, heads } = inspector();
    await run(subject, [data]);
    expect(heads).toEqual([data]);
  });

  it('judges an empty file', async () => {
    const { inspector: subject, heads } = inspector();
    await run(subject, []);
    expect(heads).toEqual([Buffer.alloc(0)]);
    expect(subject.bytes).toBe(0);
  });

  it('stops the stream with the judgement error before the rest goes through', async () => {
    const refused = new Error('not a scan');
    const { inspector: subject } = inspector({ judgeHead: () => refused });
    const chunks = split(randomBytes(1000), 10);
    await expect(run(subject, chunks)).rejects.toBe(refused);
    expect(subject.bytes).toBeLessThan(1000);
  });

  it('stops the stream when the budget is exceeded', async () => {
    const { inspector: subject } = inspector({ budget: () => 50, overBudget: () => new Error('too large') });
    await expect(run(subject, split(randomBytes(100), 10))).rejects.toThrow('too large');
    expect(subject.bytes).toBe(60);
  });

  it('keeps the first keepBytes bytes as the head, fewer for a short file', async () => {
    const data = randomBytes(500);
    const long = inspector();
    await run(long.inspector, split(data, 30));
    expect(long.inspector.head()).toEqual(data.subarray(0, 64));
    expect(long.inspector.head(20)).toEqual(data.subarray(0, 20));

    const short = inspector();
    await run(short.inspector, [data.subarray(0, 40)]);
    expect(short.inspector.head()).toEqual(data.subarray(0, 40));
  });
});
