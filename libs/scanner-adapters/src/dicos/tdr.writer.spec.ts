import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import type { Decision, VerdictRecord } from '../../../exchange-format/src/verdict.js';
import { DICOS_SOP_CLASS } from './dicom-uids.js';
import {
  readThreatDetectionReport,
  TIP_THREAT_DESCRIPTION,
  writeGroundTruthReport,
  writeThreatDetectionReport,
  type GroundTruthRecord,
  type TdrScan,
} from './tdr.writer.js';

const STUDY = '2.25.11111111111111111111111111111111111';
const SERIES = '2.25.22222222222222222222222222222222222';
const TOP_SOP = '2.25.33333333333333333333333333333333333';

const scan: TdrScan = {
  scanId: 'scan-1',
  stationName: 'BORDER-NORTH-01',
  studyInstanceUid: STUDY,
  seriesInstanceUid: SERIES,
  views: [
    { id: 'top', width: 1200, height: 400, sopInstanceUid: TOP_SOP },
    { id: 'side', width: 1200, height: 300 },
  ],
};

const verdict = (decision: Decision, regions: VerdictRecord['regions'] = []): VerdictRecord => ({
  scanId: 'scan-1',
  decision,
  regions,
  comment: '',
  decidedAt: '2026-03-01T10:20:30.125+02:00',
  analysts: ['analyst-7', 'f2b0c6de-3c1a-4f43-9c55-0d1a3a0e8b11'],
});

const regions: VerdictRecord['regions'] = [
  { view: 'top', x: 100, y: 50, width: 200, height: 80, category: 'narcotics', note: 'dense block behind the pallets' },
  { view: 'side', x: 0, y: 10, width: 1200, height: 290, category: 'weapons', note: '' },
];

const parse = (file: Buffer): DataSet => dicomParser.parseDicom(new Uint8Array(file));
const first = (ds: DataSet | undefined, tag: string): DataSet | undefined => ds?.elements[tag]?.items?.[0]?.dataSet;

describe('writeThreatDetectionReport', () => {
  it('writes a Part 10 TDR that dicom-parser reads, with the verdict in it', () => {
    const file = writeThreatDetectionReport(verdict('inspect', regions), scan, { softwareVersion: '1.4.0' });
    const ds = parse(file);
    expect(ds.string('x00020002')).toBe(DICOS_SOP_CLASS.threatDetectionReport);
    expect(ds.string('x00020003')).toBe(ds.string('x00080018'));

    const tdr = readThreatDetectionReport(file);
    expect(tdr.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.501.3');
    expect(tdr.modality).toBe('TDR');
    expect(ds.string('x00080070')).toBe('niix');
    expect(tdr.tdrType).toBe('OPERATOR');
    expect(tdr.alarmDecision).toBe('ALARM');
    expect(tdr.alarmDecisionTime).toBe('20260301102030.125+0200');
    expect(tdr.alarmDecidedAt).toBe('2026-03-01T08:20:30.125Z');
    expect(tdr.numberOfTotalObjects).toBe(2);
    expect(tdr.numberOfAlarmObjects).toBe(2);
    expect(tdr.operators).toEqual(['analyst-7', 'f2b0c6de-3c1a-4f43-9c55-0d1a3a0e8b11']);
    expect(tdr.objects).toHaveLength(regions.length);
    expect(tdr.objects).toEqual([
      {
        id: 0,
        category: 'narcotics',
        threatCategory: 'CONTRABAND',
        note: 'dense block behind the pallets',
        assessmentFlag: 'THREAT',
        view: 'top',
        referencedSopInstanceUid: TOP_SOP,
        box: { x: 100, y: 50, width: 200, height: 80 },
      },
      {
        id: 1,
        category: 'weapons',
        threatCategory: 'PI',
        note: '',
        assessmentFlag: 'THREAT',
        view: 'side',
        referencedSopInstanceUid: undefined,
        box: { x: 0, y: 10, width: 1200, height: 290 },
      },
    ]);
  });

  it.each([
    ['inspect', 'ALARM', 1],
    ['clear', 'CLEAR', 0],
    ['inconclusive', 'UNKNOWN', 0],
  ] as const)('maps %s to Alarm Decision %s', (decision, term, alarmObjects) => {
    const tdr = readThreatDetectionReport(writeThreatDetectionReport(verdict(decision, regions.slice(0, 1)), scan));
    expect(tdr.alarmDecision).toBe(term);
    expect(tdr.numberOfTotalObjects).toBe(1);
    expect(tdr.numberOfAlarmObjects).toBe(alarmObjects);
  });

  it('joins the scan study, in a series of its own that references the scan series and images', () => {
    const ds = parse(writeThreatDetectionReport(verdict('inspect', regions), scan));
    expect(readThreatDetectionReport(writeThreatDetectionReport(verdict('clear'), scan)).studyInstanceUid).toBe(STUDY);
    expect(ds.string('x0020000d')).toBe(STUDY);
    expect(ds.string('x0020000e')).not.toBe(SERIES);
    const series = first(ds, 'x00081115');
    expect(series?.string('x0020000e')).toBe(SERIES);
    const instance = first(series, 'x0008114a');
    expect(instance?.string('x00081150')).toBe(DICOS_SOP_CLASS.dxForProcessing);
    expect(instance?.string('x00081155')).toBe(TOP_SOP);
  });

  it('references every image of a view, each in its own series, when the view lists its images', () => {
    const image = (n: number) => ({ sopInstanceUid: `2.25.${n}1`, seriesInstanceUid: `2.25.${n}2` });
    const file = writeThreatDetectionReport(verdict('inspect', regions), {
      scanId: 'scan-3',
      studyInstanceUid: STUDY,
      views: [
        { id: 'top', width: 1200, height: 400, images: [image(1), image(2)] },
        { id: 'side', width: 1200, height: 300, images: [image(3)] },
      ],
    });
    const ds = parse(file);
    const instances = (set: DataSet | undefined) =>
      (set?.elements.x0008114a?.items ?? []).map((item) => [item.dataSet?.string('x00081150'), item.dataSet?.string('x00081155')]);
    const dx = DICOS_SOP_CLASS.dxForProcessing;
    expect(
      (ds.elements.x00081115.items ?? []).map((item) => [item.dataSet?.string('x0020000e'), instances(item.dataSet)]),
    ).toEqual([
      ['2.25.12', [[dx, '2.25.11']]],
      ['2.25.22', [[dx, '2.25.21']]],
      ['2.25.32', [[dx, '2.25.31']]],
    ]);
    const representations = (ds.elements.x40101011.items ?? []).map((item) => first(item.dataSet, 'x40101037'));
    expect(representations.map(instances)).toEqual([
      [
        [dx, '2.25.11'],
        [dx, '2.25.21'],
      ],
      [[dx, '2.25.31']],
    ]);
    expect(readThreatDetectionReport(file).objects.map((object) => object.referencedSopInstanceUid)).toEqual(['2.25.11', '2.25.31']);
  });

  it('makes new study and series UIDs when the scan has none', () => {
    const ds = parse(writeThreatDetectionReport(verdict('clear'), { scanId: 'scan-2', views: [] }));
    expect(ds.string('x0020000d')).toMatch(/^2\.25\.\d+$/);
    expect(ds.string('x0020000e')).toMatch(/^2\.25\.\d+$/);
    expect(ds.elements.x00081115).toBeUndefined();
  });

  it('writes a clear verdict without regions', () => {
    const file = writeThreatDetectionReport(verdict('clear'), scan);
    const ds = parse(file);
    const tdr = readThreatDetectionReport(file);
    expect(tdr.alarmDecision).toBe('CLEAR');
    expect(tdr.numberOfTotalObjects).toBe(0);
    expect(tdr.numberOfAlarmObjects).toBe(0);
    expect(tdr.objects).toEqual([]);
    expect(ds.elements.x40101011).toBeUndefined();
  });

  it('identifies the deciding analyst as operator', () => {
    const ds = parse(writeThreatDetectionReport(verdict('inspect', regions), scan, { institutionName: 'Customs HQ' }));
    const operator = first(ds, 'x00081072');
    expect(operator?.string('x00080080')).toBe('Customs HQ');
    const codes = operator?.elements.x00401101?.items?.map((item) => item.dataSet);
    // A 36-character id does not fit Code Value (SH, 16): it goes to Long Code Value (UC).
    expect(codes?.[0]?.string('x00080119')).toBe('f2b0c6de-3c1a-4f43-9c55-0d1a3a0e8b11');
    expect(codes?.[0]?.string('x00080102')).toBe('99NIIX');
    expect(codes?.[1]?.string('x00080100')).toBe('100001');
    expect(codes?.[1]?.string('x00080102')).toBe('DCS');
  });

  it('refuses a region on a view the scan does not have, or outside its view', () => {
    const bad = { ...regions[0], view: 'front' };
    expect(() => writeThreatDetectionReport(verdict('inspect', [bad]), scan)).toThrow(RangeError);
    const outside = { ...regions[0], x: 1100 };
    expect(() => writeThreatDetectionReport(verdict('inspect', [outside]), scan)).toThrow(RangeError);
  });

  it('uses the registry tag numbers and VRs', () => {
    const ds = parse(writeThreatDetectionReport(verdict('inspect', regions), scan));
    const vr = (set: DataSet | undefined, tag: string): string | undefined => set?.elements[tag]?.vr;
    // Sources: PS3.6 data dictionary as in pydicom src/pydicom/_dicom_dict.py (group 4010, DICOS) and
    // dcmtk dcmdata/data/dicom.dic; nesting per NEMA IIC 1 v03 as in SDICOS (Auxilia-tech/pyDICOS,
    // stratovan/sdicos/include/SDICOS/ThreatDetectionReport.h, ThreatSequence.h, AssessmentSequence.h,
    // BaggageSpecificTDR.h, CommonSpecificTDR.h).
    expect(vr(ds, 'x40101027')).toBe('CS'); // 0x40101027 ('CS', '1', "TDR Type")
    expect(ds.string('x40101027')).toBe('OPERATOR');
    expect(vr(ds, 'x40101031')).toBe('CS'); // 0x40101031 ('CS', '1', "Alarm Decision")
    expect(vr(ds, 'x4010102b')).toBe('DT'); // 0x4010102B ('DT', '1', "Alarm Decision Time")
    expect(vr(ds, 'x40101024')).toBe('CS'); // 0x40101024 ('CS', '1', "Abort Flag")
    expect(ds.string('x40101024')).toBe('SUCCESS');
    expect(vr(ds, 'x40101033')).toBe('US'); // 0x40101033 ('US', '1', "Number of Total Objects")
    expect(ds.uint16('x40101033')).toBe(2);
    expect(vr(ds, 'x40101034')).toBe('US'); // 0x40101034 ('US', '1', "Number of Alarm Objects")
    expect(ds.uint16('x40101034')).toBe(2);
    expect(vr(ds, 'x40101011')).toBe('SQ'); // 0x40101011 ('SQ', '1', "Threat Sequence")
    expect(ds.elements.x40101011.items).toHaveLength(2);
    expect(vr(ds, 'x00081070')).toBe('PN'); // dcmtk (0008,1070) PN OperatorsName
    expect(vr(ds, 'x00081072')).toBe('SQ'); // dcmtk (0008,1072) SQ OperatorIdentificationSequence
    expect(ds.string('x00080060')).toBe('TDR'); // dcmtk (0008,0060) CS Modality; SDICOS GeneralSeriesModule.h "TDR"

    const threat = first(ds, 'x40101011');
    expect(vr(threat, 'x40101010')).toBe('US'); // 0x40101010 ('US', '1', "Potential Threat Object ID")
    expect(vr(threat, 'x40101038')).toBe('SQ'); // 0x40101038 ('SQ', '1', "ATD Assessment Sequence")
    expect(vr(threat, 'x40101037')).toBe('SQ'); // 0x40101037 ('SQ', '1', "PTO Representation Sequence")

    const assessment = first(threat, 'x40101038');
    expect(vr(assessment, 'x40101012')).toBe('CS'); // 0x40101012 ('CS', '1', "Threat Category")
    expect(assessment?.string('x40101012')).toBe('CONTRABAND');
    expect(vr(assessment, 'x40101013')).toBe('LT'); // 0x40101013 ('LT', '1', "Threat Category Description")
    expect(vr(assessment, 'x40101014')).toBe('CS'); // 0x40101014 ('CS', '1', "ATD Ability Assessment")
    expect(assessment?.string('x40101014')).toBe('NO_INTERFERENCE');
    expect(vr(assessment, 'x40101015')).toBe('CS'); // 0x40101015 ('CS', '1', "ATD Assessment Flag")

    const representation = first(threat, 'x40101037');
    expect(vr(representation, 'x0008114a')).toBe('SQ'); // dcmtk (0008,114A) SQ ReferencedInstanceSequence
    expect(first(representation, 'x0008114a')?.string('x00081155')).toBe(TOP_SOP); // dcmtk (0008,1155) UI
    expect(vr(representation, 'x4010101d')).toBe('FL'); // 0x4010101D ('FL', '6-n', "Bounding Polygon")
    const polygon = Array.from({ length: 12 }, (_, i) => representation?.float('x4010101d', i));
    expect(polygon).toEqual([100, 50, 0, 300, 50, 0, 300, 130, 0, 100, 130, 0]);
    expect(vr(representation, 'x40101078')).toBe('ST'); // 0x40101078 ('ST', '1', "PTO Location Description")
    expect(vr(representation, 'x40101001')).toBe('SQ'); // 0x40101001 ('SQ', '1', "Threat ROI Voxel Sequence")

    const roi = first(representation, 'x40101001');
    expect(vr(roi, 'x40101004')).toBe('FL'); // 0x40101004 ('FL', '3', "Threat ROI Base")
    expect([0, 1, 2].map((i) => roi?.float('x40101004', i))).toEqual([100, 50, 0]);
    expect(vr(roi, 'x40101005')).toBe('FL'); // 0x40101005 ('FL', '3', "Threat ROI Extents")
    expect([0, 1, 2].map((i) => roi?.float('x40101005', i))).toEqual([200, 80, 0]);
    expect(vr(roi, 'x40101006')).toBe('OB'); // 0x40101006 ('OB', '1', "Threat ROI Bitmap"), type 2, empty
    expect(roi?.elements.x40101006.length).toBe(0);
  });
});

describe('writeGroundTruthReport', () => {
  const truth = (projected: boolean, truthRegions: GroundTruthRecord['regions'] = regions): GroundTruthRecord => ({
    scanId: 'scan-1',
    projected,
    regions: truthRegions,
    recordedAt: '2026-03-02T09:00:00Z',
    description: 'starter item: pistol',
  });
  const polygonOf = (threat: DataSet): (number | undefined)[] => {
    const representation = first(threat, 'x40101037');
    return Array.from({ length: 12 }, (_, i) => representation?.float('x4010101d', i));
  };

  it('writes a projected threat as a GROUND TRUTH TDR whose every PTO carries the TIP label', () => {
    const file = writeGroundTruthReport(truth(true), scan, { softwareVersion: '1.4.0' });
    const ds = parse(file);
    expect(ds.string('x00020002')).toBe(DICOS_SOP_CLASS.threatDetectionReport);
    expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.501.3');

    const tdr = readThreatDetectionReport(file);
    expect(tdr.sopClassUid).toBe(DICOS_SOP_CLASS.threatDetectionReport);
    expect(tdr.modality).toBe('TDR');
    // SDICOS ThreatDetectionReport.h, TDR_TYPE / SetTdrType: "GROUND TRUTH"
    expect(tdr.tdrType).toBe('GROUND TRUTH');
    expect(tdr.alarmDecision).toBe('ALARM');
    expect(tdr.alarmDecisionTime).toBe('20260302090000+0000');
    expect(tdr.alarmDecidedAt).toBe('2026-03-02T09:00:00.000Z');
    expect(tdr.numberOfTotalObjects).toBe(2);
    expect(tdr.numberOfAlarmObjects).toBe(2);
    expect(tdr.operators).toEqual([]);
    expect(tdr.objects).toEqual([
      {
        id: 0,
        category: 'narcotics',
        threatCategory: 'CONTRABAND',
        note: 'dense block behind the pallets; starter item: pistol',
        projected: true,
        assessmentFlag: 'THREAT',
        view: 'top',
        referencedSopInstanceUid: TOP_SOP,
        box: { x: 100, y: 50, width: 200, height: 80 },
      },
      {
        id: 1,
        category: 'weapons',
        threatCategory: 'PI',
        note: 'starter item: pistol',
        projected: true,
        assessmentFlag: 'THREAT',
        view: 'side',
        referencedSopInstanceUid: undefined,
        box: { x: 0, y: 10, width: 1200, height: 290 },
      },
    ]);

    // The TIP label on every PTO, in Threat Category Description (4010,1013, LT) of its ATD Assessment item.
    const threats = (ds.elements.x40101011.items ?? []).map((item) => item.dataSet as DataSet);
    expect(threats).toHaveLength(2);
    const descriptions = threats.map((threat) => first(threat, 'x40101038')?.text('x40101013'));
    expect(descriptions).toEqual([
      `narcotics: ${TIP_THREAT_DESCRIPTION}; dense block behind the pallets; starter item: pistol`,
      `weapons: ${TIP_THREAT_DESCRIPTION}; starter item: pistol`,
    ]);
    expect(TIP_THREAT_DESCRIPTION).toBe('projected threat (TIP)');
    for (const threat of threats) {
      expect(first(threat, 'x40101038')?.elements.x40101013.vr).toBe('LT');
      // TIP Type (4010,1039) belongs to the TIP Image Module of an image (SDICOS TipImage.h), not to a PTO.
      expect(threat.elements.x40101039).toBeUndefined();
      expect(first(threat, 'x40101038')?.elements.x40101039).toBeUndefined();
      expect(first(threat, 'x40101037')?.elements.x40101039).toBeUndefined();
    }
    expect(ds.elements.x40101039).toBeUndefined();

    // Bounding polygons: the four corners of each truth region, z = 0.
    expect(threats.map(polygonOf)).toEqual([
      [100, 50, 0, 300, 50, 0, 300, 130, 0, 100, 130, 0],
      [0, 10, 0, 1200, 10, 0, 1200, 300, 0, 0, 300, 0],
    ]);
    expect(ds.elements.x4010101d).toBeUndefined();
  });

  it('names no operator and joins the scan study like the OPERATOR report', () => {
    const ds = parse(writeGroundTruthReport(truth(true), scan));
    expect(ds.elements.x00081070).toBeUndefined();
    expect(ds.elements.x00081072).toBeUndefined();
    expect(ds.string('x0020000d')).toBe(STUDY);
    expect(first(ds, 'x00081115')?.string('x0020000e')).toBe(SERIES);
    expect(ds.string('x40101027')).toBe('GROUND TRUTH');
    expect(ds.elements.x40101027.vr).toBe('CS');
  });

  it('leaves the TIP label off a truth that was not projected', () => {
    const file = writeGroundTruthReport({ ...truth(false), description: undefined }, scan);
    const tdr = readThreatDetectionReport(file);
    expect(tdr.tdrType).toBe('GROUND TRUTH');
    expect(tdr.objects.map((object) => [object.projected, object.note])).toEqual([
      [false, 'dense block behind the pallets'],
      [false, ''],
    ]);
    const descriptions = (parse(file).elements.x40101011.items ?? []).map((item) =>
      first(item.dataSet, 'x40101038')?.text('x40101013'),
    );
    expect(descriptions).toEqual(['narcotics: dense block behind the pallets', 'weapons']);
  });

  it('writes a clean truth without regions as CLEAR, and refuses a projected truth without regions', () => {
    const tdr = readThreatDetectionReport(writeGroundTruthReport(truth(false, []), scan));
    expect([tdr.alarmDecision, tdr.numberOfTotalObjects, tdr.numberOfAlarmObjects, tdr.objects]).toEqual(['CLEAR', 0, 0, []]);
    expect(() => writeGroundTruthReport(truth(true, []), scan)).toThrow(RangeError);
  });

  it('writes a find nobody marked (a threat without regions) as ALARM with no objects', () => {
    const tdr = readThreatDetectionReport(writeGroundTruthReport({ ...truth(false, []), threat: true }, scan));
    expect([tdr.alarmDecision, tdr.numberOfAlarmObjects, tdr.objects]).toEqual(['ALARM', 0, []]);
  });

  it('refuses a truth region on a view the scan does not have, or outside its view', () => {
    expect(() => writeGroundTruthReport(truth(true, [{ ...regions[0], view: 'front' }]), scan)).toThrow(RangeError);
    expect(() => writeGroundTruthReport(truth(true, [{ ...regions[0], y: 390 }]), scan)).toThrow(RangeError);
  });

  it('does not call the objects of an OPERATOR report projected or not', () => {
    const tdr = readThreatDetectionReport(writeThreatDetectionReport(verdict('inspect', regions), scan));
    expect(tdr.objects.map((object) => object.projected)).toEqual([undefined, undefined]);
  });
});
