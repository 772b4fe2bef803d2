import { checkOutcome, fuzzCheck, headOf, type FileBytes } from '../raw-profile/head-check.testing.js';
import { syntheticScan } from '../raw-profile/synthetic-scan.testing.js';
import { TiffSidecarAdapter } from './tiff-sidecar.adapter.js';
import { writeTiffSidecar } from './tiff-sidecar.writer.js';

const adapter = new TiffSidecarAdapter();
const limits = { maxPixelsPerPlane: 1_000_000, maxPixelsPerScan: 4_000_000 };
const scan = syntheticScan({ width: 300, height: 120, views: [{ id: 'top', energies: ['high', 'low'] }, { id: 'side', energies: ['high', 'low'] }] });

type Files = { name: string; data: Buffer }[];
const outcome = (files: FileBytes[], max = limits.maxPixelsPerPlane) => checkOutcome(adapter, files.map((f) => headOf(f)), { maxPixelsPerPlane: max, maxPixelsPerScan: limits.maxPixelsPerScan });
const replace = (files: Files, name: string, data: Buffer): Files => files.map((f) => (f.name === name ? { name, data } : f));
const sidecarOf = (files: Files): { name: string; data: Buffer } => files[files.length - 1];

/** A BigTIFF whose first directory declares width x height (LONG8 width, LONG height) and nothing else. */
function bigTiff(width: number, height: number): Buffer {
  const data = Buffer.alloc(16 + 8 + 2 * 20 + 8);
  data.write('II', 0, 'latin1');
  data.writeUInt16LE(43, 2);
  data.writeUInt16LE(8, 4);
  data.writeBigUInt64LE(16n, 8);
  data.writeBigUInt64LE(2n, 16);
  data.writeUInt16LE(256, 24);
  data.writeUInt16LE(16, 26);
  data.writeBigUInt64LE(1n, 28);
  data.writeBigUInt64LE(BigInt(width), 36);
  data.writeUInt16LE(257, 44);
  data.writeUInt16LE(4, 46);
  data.writeBigUInt64LE(1n, 48);
  data.writeUInt32LE(height, 56);
  return data;
}

describe('TiffSidecarAdapter.check', () => {
  let json: Files;
  let xml: Files;
  let multiPage: Files;
  beforeAll(async () => {
    json = await writeTiffSidecar(scan);
    xml = await writeTiffSidecar(scan, { sidecar: 'xml', values: 'attenuation' });
    multiPage = await writeTiffSidecar(scan, { sidecar: 'json', multiPage: true });
  });

  it('passes valid uploads (JSON, XML, multi-page)', () => {
    for (const files of [json, xml, multiPage]) expect(outcome(files)).toBeUndefined();
  });

  it('refuses TIFF files without a sidecar, or with two', () => {
    const error = outcome(json.filter((f) => f.name.endsWith('.tif')));
    expect(error?.code).toBe('incomplete_scan');
    expect(error?.message).toMatch(/top-high\.tif.* came without the sidecar/);
    expect(outcome([...json, { name: 'copy.json', data: sidecarOf(json).data }])?.code).toBe('incomplete_scan');
  });

  it('refuses a sidecar naming a file that was not sent, and a TIFF it does not name', () => {
    const error = outcome(json.filter((f) => f.name !== 'side-low.tif'));
    expect(error?.code).toBe('incomplete_scan');
    expect(error?.message).toBe('the sidecar sidecar.json describes side-low.tif, which was not sent');
    expect(outcome([...json, { name: 'extra.tif', data: json[0].data }])?.message).toMatch(/does not describe extra\.tif/);
  });

  it('refuses an invalid or unparsable sidecar as malformed_input', () => {
    const sidecar = JSON.parse(sidecarOf(json).data.toString('utf8')) as { files: { energy?: string }[] };
    sidecar.files[0].energy = 'medium';
    const invalid = outcome(replace(json, 'sidecar.json', Buffer.from(JSON.stringify(sidecar))));
    expect(invalid?.code).toBe('malformed_input');
    expect(invalid?.message).toMatch(/sidecar\.json is invalid: field "files\.0\.energy"/);
    const broken = outcome(replace(json, 'sidecar.json', Buffer.from('{ "kind": "tiff-sidecar", "files": [')));
    expect(broken?.code).toBe('malformed_input');
    expect(broken?.message).toMatch(/not valid JSON/);
    const xmlBroken = outcome(replace(xml, 'sidecar.xml', Buffer.from('<TiffSidecar version="1"><File name="a.tif"')));
    expect(xmlBroken?.code).toBe('malformed_input');
  });

  it('reads a sidecar longer than the head no further than its size', () => {
    const padded = Buffer.concat([sidecarOf(json).data, Buffer.alloc(70_000, 0x20)]);
    const files = replace(json, 'sidecar.json', padded);
    // Not parsed (the head holds only its start), but still counted as the one sidecar.
    expect(outcome(files.filter((f) => f.name !== 'side-low.tif'))).toBeUndefined();
    expect(outcome([...files, { name: 'copy.json', data: padded }])?.code).toBe('incomplete_scan');
  });

  it('refuses a truncated TIFF whose directory lies past the end of the file', () => {
    const tiff = json.find((f) => f.name === 'top-low.tif') as FileBytes;
    const error = outcome(replace(json, 'top-low.tif', Buffer.from(tiff.data.subarray(0, 60))));
    expect(error?.code).toBe('malformed_input');
    expect(error?.message).toMatch(/top-low\.tif is truncated or damaged: its first TIFF directory is at byte \d+, beyond the end of the file \(60 bytes\)/);
    const page = multiPage.find((f) => f.name === 'side.tif') as FileBytes;
    const cut = checkOutcome(
      adapter,
      multiPage.map((f) => (f.name === 'side.tif' ? headOf(f, 1000) : headOf(f))),
      limits,
    );
    expect(page.data.length).toBeGreaterThan(1000);
    expect(cut?.code).toBe('malformed_input');
  });

  it('refuses a first page over the limit with too_many_pixels, classic TIFF or BigTIFF', async () => {
    expect(outcome(json, 300 * 119)?.code).toBe('too_many_pixels');
    const small = syntheticScan({ width: 60, height: 40, views: [{ id: 'top', energies: ['high', 'low'] }] });
    const smallMultiPage = await writeTiffSidecar(small, { sidecar: 'xml', multiPage: true });
    expect(outcome(smallMultiPage)).toBeUndefined();
    expect(outcome(smallMultiPage, 60 * 39)?.code).toBe('too_many_pixels');
    const big = outcome(replace(json, 'top-high.tif', bigTiff(100_000, 100_000)));
    expect(big?.code).toBe('too_many_pixels');
    expect(big?.message).toMatch(/100000 x 100000/);
    expect(outcome(replace(json, 'top-high.tif', bigTiff(300, 120)))).toBeUndefined();
  });

  it('leaves a first directory beyond the head to convert', () => {
    // Uncompressed pages come first: the directory of this 300 x 120 page is at byte 72008.
    const side = multiPage.find((f) => f.name === 'side.tif') as FileBytes;
    expect(Buffer.from(side.data).readUInt32LE(4)).toBe(72008);
    expect(outcome(multiPage, 300 * 119)).toBeUndefined();
  });

  it('never throws anything but ConversionError on damaged heads', () => {
    expect(fuzzCheck(adapter, [json, xml, multiPage], limits)).toBeGreaterThan(0);
  });
});
