import { conversionFailure, syntheticScan, withInputFiles } from '../raw-profile/synthetic-scan.testing.js';
import { TiffSidecarAdapter } from './tiff-sidecar.adapter.js';
import { parseTiffSidecar } from './tiff-sidecar.schema.js';
import { writeTiffSidecar } from './tiff-sidecar.writer.js';

const adapter = new TiffSidecarAdapter();
const scan = syntheticScan({ width: 300, height: 120, views: [{ id: 'top', energies: ['high', 'low'] }, { id: 'side', energies: ['high', 'low'] }] });
scan.views.forEach((v) => {
  v.planes[0].nominalEnergy = '6MV';
  v.planes[1].nominalEnergy = '4MV';
});


describe(TiffSidecarAdapter.name, () => {
  it('sniffs TIFF as primary and both sidecar spellings as companion', async () => {
    const files = await writeTiffSidecar(scan, { sidecar: 'xml' });
    const json = await writeTiffSidecar(scan, { sidecar: 'json', multiPage: true });
    expect(adapter.sniff(files[0].data.subarray(0, 4096), 'top-high.tif')).toBe('primary');
    expect(adapter.sniff(json[0].data.subarray(0, 4096), 'top.tif')).toBe('primary');
    expect(adapter.sniff(files[files.length - 1].data, 'sidecar.xml')).toBe('companion');
    expect(adapter.sniff(json[json.length - 1].data, 'sidecar.json')).toBe('companion');
    expect(adapter.sniff(Buffer.from('{"kind": "other"}'), 'x.json')).toBeNull();
    expect(adapter.sniff(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'x.png')).toBeNull();
  });

  it.each([
    ['json, one TIFF per plane', { sidecar: 'json' as const }],
    ['xml, one TIFF per plane, attenuation', { sidecar: 'xml' as const, values: 'attenuation' as const }],
    ['xml, multi-page high/low', { sidecar: 'xml' as const, multiPage: true }],
    ['json, multi-page, attenuation', { sidecar: 'json' as const, multiPage: true, values: 'attenuation' as const }],
  ])('round-trips bit-exactly (%s)', async (_label, options) => {
    const files = await writeTiffSidecar(scan, options);
    const conversion = await withInputFiles(files, (input) => adapter.convert(input));
    expect(conversion.scanner).toEqual(scan.scanner);
    expect(conversion.acquiredAt).toBe(scan.acquiredAt);
    expect(conversion.warnings).toEqual([]);
    expect(conversion.views.map((v) => v.id)).toEqual(['top', 'side']);
    conversion.views.forEach((view, i) => {
      expect(view).toMatchObject({ width: 300, height: 120, airValue: 62000, pixelSpacingMm: { x: 4, y: 2.5 } });
      expect(view.planes.map((p) => [p.energy, p.nominalEnergy])).toEqual([
        ['high', '6MV'],
        ['low', '4MV'],
      ]);
      view.planes.forEach((plane, j) => expect(plane.data).toEqual(scan.views[i].planes[j].data));
    });
  });

  it('maps the XML and JSON spellings onto the same sidecar', async () => {
    const xml = await writeTiffSidecar(scan, { sidecar: 'xml', multiPage: true });
    const json = await writeTiffSidecar(scan, { sidecar: 'json', multiPage: true });
    const fromXml = parseTiffSidecar(xml[xml.length - 1].data.toString('utf8'));
    const fromJson = parseTiffSidecar(json[json.length - 1].data.toString('utf8'));
    expect(fromXml).toEqual(fromJson);
    expect(fromJson.files[0]).toEqual({
      name: 'top.tif',
      view: 'top',
      pages: [
        { index: 0, energy: 'high', nominalEnergy: '6MV' },
        { index: 1, energy: 'low', nominalEnergy: '4MV' },
      ],
    });
  });

  it('refuses a TIFF without a sidecar', async () => {
    const files = (await writeTiffSidecar(scan)).filter((f) => f.name.endsWith('.tif'));
    const error = await withInputFiles(files, (input) => conversionFailure(adapter.convert(input)));
    expect(error.code).toBe('incomplete_scan');
    expect(error.message).toMatch(/top-high\.tif.* came without the sidecar/);
  });

  it('refuses a sidecar naming a file that was not sent, and a TIFF the sidecar does not name', async () => {
    const files = await writeTiffSidecar(scan);
    const withoutOne = files.filter((f) => f.name !== 'side-low.tif');
    const error = await withInputFiles(withoutOne, (input) => conversionFailure(adapter.convert(input)));
    expect(error.code).toBe('incomplete_scan');
    expect(error.message).toBe('the sidecar sidecar.json describes side-low.tif, which was not sent');
    const extra = [...files, { name: 'extra.tif', data: files[0].data }];
    const error2 = await withInputFiles(extra, (input) => conversionFailure(adapter.convert(input)));
    expect(error2.code).toBe('incomplete_scan');
    expect(error2.message).toMatch(/does not describe extra\.tif/);
  });

  it('checks the declared size before decoding', async () => {
    const files = await writeTiffSidecar(scan);
    const error = await withInputFiles(files, (input) => conversionFailure(adapter.convert(input)), { maxPixelsPerPlane: 300 * 119, maxPixelsPerScan: 4 * 300 * 119 });
    expect(error.code).toBe('too_many_pixels');
  });

  it('reports an invalid sidecar with the field, and a corrupt TIFF as malformed_input', async () => {
    const files = await writeTiffSidecar(scan);
    const sidecar = JSON.parse(files[files.length - 1].data.toString('utf8')) as { files: { energy?: string }[] };
    sidecar.files[0].energy = 'medium';
    const bad = [...files.slice(0, -1), { name: 'sidecar.json', data: Buffer.from(JSON.stringify(sidecar)) }];
    const error = await withInputFiles(bad, (input) => conversionFailure(adapter.convert(input)));
    expect(error.code).toBe('malformed_input');
    expect(error.message).toMatch(/sidecar\.json is invalid: field "files\.0\.energy"/);

    const corrupt = files.map((f) => (f.name === 'top-low.tif' ? { name: f.name, data: f.data.subarray(0, 60) } : f));
    const error2 = await withInputFiles(corrupt, (input) => conversionFailure(adapter.convert(input)));
    expect(error2.code).toBe('malformed_input');
    expect(error2.message).toMatch(/top-low\.tif/);
  });

  it('refuses a page the TIFF does not have', async () => {
    const files = await writeTiffSidecar(scan, { sidecar: 'json', multiPage: true });
    const sidecar = JSON.parse(files[files.length - 1].data.toString('utf8')) as { files: { pages: { index: number }[] }[] };
    sidecar.files[1].pages[1].index = 2;
    const bad = [...files.slice(0, -1), { name: 'sidecar.json', data: Buffer.from(JSON.stringify(sidecar)) }];
    const error = await withInputFiles(bad, (input) => conversionFailure(adapter.convert(input)));
    expect(error.code).toBe('incomplete_scan');
    expect(error.message).toMatch(/page 2 of side\.tif, which has 2 page/);
  });
});
