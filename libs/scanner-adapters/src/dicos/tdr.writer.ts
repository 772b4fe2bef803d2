import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import {
  THREAT_CATEGORIES,
  type Decision,
  type Region,
  type ThreatCategory,
  type VerdictRecord,
} from '../../../exchange-format/src/verdict.js';
import { DICOS_SOP_CLASS } from './dicom-uids.js';
import { element, writePart10, type DicomElement, type DicomItem } from './dicom-writer.js';
import { newUid } from './dicos.writer.js';

/**
 * Tags written into a DICOS Threat Detection Report. Numbers and VRs are those of the DICOM data dictionary
 * (PS3.6), as held by pydicom (src/pydicom/_dicom_dict.py) and dcmtk (dcmdata/data/dicom.dic); DICOS (NEMA IIC 1)
 * registers its group 4010 attributes there. Module placement and defined terms follow NEMA IIC 1 v03 as implemented
 * by Stratovan's SDICOS toolkit (Auxilia-tech/pyDICOS, stratovan/sdicos/include/SDICOS/*.h).
 */
export const TDR_TAG = {
  // dcmtk dicom.dic, group 0008/0018/0020/0040 (standard DICOM attributes)
  contentDate: 0x00080023, // DA ContentDate
  contentTime: 0x00080033, // TM ContentTime
  sopClassUid: 0x00080016, // UI SOPClassUID
  sopInstanceUid: 0x00080018, // UI SOPInstanceUID
  modality: 0x00080060, // CS Modality
  manufacturer: 0x00080070, // LO Manufacturer
  institutionName: 0x00080080, // LO InstitutionName (Person Identification Macro)
  codeValue: 0x00080100, // SH CodeValue
  codingSchemeDesignator: 0x00080102, // SH CodingSchemeDesignator
  codeMeaning: 0x00080104, // LO CodeMeaning
  longCodeValue: 0x00080119, // UC LongCodeValue (code values over 16 characters)
  timezoneOffsetFromUtc: 0x00080201, // SH TimezoneOffsetFromUTC
  stationName: 0x00081010, // SH StationName
  operatorsName: 0x00081070, // PN OperatorsName
  operatorIdentificationSequence: 0x00081072, // SQ OperatorIdentificationSequence
  referencedSeriesSequence: 0x00081115, // SQ ReferencedSeriesSequence
  referencedInstanceSequence: 0x0008114a, // SQ ReferencedInstanceSequence
  referencedSopClassUid: 0x00081150, // UI ReferencedSOPClassUID
  referencedSopInstanceUid: 0x00081155, // UI ReferencedSOPInstanceUID
  softwareVersions: 0x00181020, // LO SoftwareVersions
  studyInstanceUid: 0x0020000d, // UI StudyInstanceUID
  seriesInstanceUid: 0x0020000e, // UI SeriesInstanceUID
  seriesNumber: 0x00200011, // IS SeriesNumber
  instanceNumber: 0x00200013, // IS InstanceNumber
  personIdentificationCodeSequence: 0x00401101, // SQ PersonIdentificationCodeSequence
  // pydicom _dicom_dict.py, group 4010 (DICOS)
  threatRoiVoxelSequence: 0x40101001, // SQ Threat ROI Voxel Sequence
  threatRoiBase: 0x40101004, // FL 3 Threat ROI Base
  threatRoiExtents: 0x40101005, // FL 3 Threat ROI Extents
  threatRoiBitmap: 0x40101006, // OB Threat ROI Bitmap
  potentialThreatObjectId: 0x40101010, // US Potential Threat Object ID
  threatSequence: 0x40101011, // SQ Threat Sequence
  threatCategory: 0x40101012, // CS Threat Category
  threatCategoryDescription: 0x40101013, // LT Threat Category Description
  atdAbilityAssessment: 0x40101014, // CS ATD Ability Assessment
  atdAssessmentFlag: 0x40101015, // CS ATD Assessment Flag
  boundingPolygon: 0x4010101d, // FL 6-n Bounding Polygon
  abortFlag: 0x40101024, // CS Abort Flag
  tdrType: 0x40101027, // CS TDR Type
  alarmDecisionTime: 0x4010102b, // DT Alarm Decision Time
  alarmDecision: 0x40101031, // CS Alarm Decision
  numberOfTotalObjects: 0x40101033, // US Number of Total Objects
  numberOfAlarmObjects: 0x40101034, // US Number of Alarm Objects
  ptoRepresentationSequence: 0x40101037, // SQ PTO Representation Sequence
  atdAssessmentSequence: 0x40101038, // SQ ATD Assessment Sequence
  ptoLocationDescription: 0x40101078, // ST PTO Location Description
} as const;

/** Alarm Decision (4010,1031) defined terms: ALARM, CLEAR, UNKNOWN (SDICOS ThreatDetectionReport.h). */
export const ALARM_DECISION_OF: Record<Decision, 'ALARM' | 'CLEAR' | 'UNKNOWN'> = {
  inspect: 'ALARM',
  clear: 'CLEAR',
  inconclusive: 'UNKNOWN',
};

/**
 * TDR Type (4010,1027) defined terms written by niix. SDICOS ThreatDetectionReport.h (TDR_TYPE, SetTdrType) lists
 * "MACHINE", "OPERATOR", "GROUND TRUTH", "AGGREGATE", "MOD_AGGREGATE", "UNDEFINED"; ThreatSequence.h (Originating
 * TDR Type) spells the ground truth term the same way, with a space.
 */
export const TDR_TYPE = {
  operator: 'OPERATOR',
  groundTruth: 'GROUND TRUTH',
} as const;
export type TdrType = (typeof TDR_TYPE)[keyof typeof TDR_TYPE];

/**
 * How a ground truth TDR labels a projected threat (threat image projection): this text leads the note part of the
 * PTO's Threat Category Description (4010,1013). DICOS has no PTO-level TIP attribute: TIP Type (4010,1039) (pydicom
 * _dicom_dict.py 0x40101039 CS "TIP Type"; SDICOS TagDefines.h TAG_TIP_TYPE) belongs to the TIP Image Module of an
 * image (SDICOS TipImage.h, NEMA IIC 1 v03 section 14.2.8, table 94; defined terms FTI, CTI) and is not part of the
 * Threat Sequence, ATD Assessment or PTO Representation items (SDICOS ThreatSequence.h, AssessmentSequence.h,
 * CommonSpecificTDR.h, BaggageSpecificTDR.h), so it is not written into a TDR; writeDicos writes it into the images
 * (option tipType) that a ground truth TDR of a projected case references.
 */
export const TIP_THREAT_DESCRIPTION = 'projected threat (TIP)';

/** ATD Assessment Flag (4010,1015) defined terms: HIGH_THREAT, THREAT, NO_THREAT, UNKNOWN (SDICOS AssessmentSequence.h). */
const ASSESSMENT_FLAG_OF: Record<Decision, 'THREAT' | 'NO_THREAT' | 'UNKNOWN'> = {
  inspect: 'THREAT',
  clear: 'NO_THREAT',
  inconclusive: 'UNKNOWN',
};

/**
 * Threat Category (4010,1012) defined terms: EXPLOSIVE, PI (prohibited item), CONTRABAND, ANOMALY, LAPTOP, OTHER,
 * PHARMACEUTICAL (SDICOS AssessmentSequence.h). The niix category itself goes into Threat Category Description.
 */
export const DICOS_THREAT_CATEGORY_OF: Record<ThreatCategory, 'EXPLOSIVE' | 'PI' | 'CONTRABAND' | 'ANOMALY' | 'OTHER'> = {
  weapons: 'PI',
  explosives: 'EXPLOSIVE',
  narcotics: 'CONTRABAND',
  tobacco: 'CONTRABAND',
  alcohol: 'CONTRABAND',
  currency: 'CONTRABAND',
  undeclared_goods: 'CONTRABAND',
  concealment: 'ANOMALY',
  other: 'OTHER',
};

/** General Series Modality of a TDR (SDICOS GeneralSeriesModule.h: "TDR"). */
const TDR_MODALITY = 'TDR';
/** Local coding scheme of analyst ids (PS3.3 8.2: private schemes begin with "99"). */
const ANALYST_CODING_SCHEME = '99NIIX';
/** DICOS CID DCS4 Identification Encoding Type "Text Encoding" (SDICOS IdentificationEncodingType.h). */
const TEXT_ENCODING = { value: '100001', scheme: 'DCS', meaning: 'Text Encoding' } as const;

/** niix's implementation class UID and version name, as in dicos.writer.ts. */
const IMPLEMENTATION_CLASS_UID = '2.25.160964839637931003212470587916458470245';
const IMPLEMENTATION_VERSION = 'NIIX_1';

export interface TdrScan {
  scanId: string;
  stationName?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  views: {
    id: string;
    width: number;
    height: number;
    sopInstanceUid?: string;
    /** SOP class of the view's image; DICOS DX For Processing (what writeDicos writes) when absent. */
    sopClassUid?: string;
    /**
     * Every image of the view with its series, when the view has several: writeDicos writes one image per plane, each
     * a series of its own (the high and low energy images of a dual-energy view). Given, it takes the place of
     * sopInstanceUid, sopClassUid and the scan's seriesInstanceUid: each threat object on the view references all of
     * the view's images, and the Referenced Series Sequence lists every series.
     */
    images?: { sopInstanceUid: string; seriesInstanceUid: string; sopClassUid?: string }[];
  }[];
}

interface ReferencedImage {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string | undefined;
}

/** The images of a view a report references, each with its series (the scan's series for a view's one image). */
function imagesOf(view: TdrScan['views'][number], scan: TdrScan): ReferencedImage[] {
  if (view.images) {
    return view.images.map((image) => ({
      sopClassUid: image.sopClassUid ?? DICOS_SOP_CLASS.dxForProcessing,
      sopInstanceUid: image.sopInstanceUid,
      seriesInstanceUid: image.seriesInstanceUid,
    }));
  }
  if (!view.sopInstanceUid) return [];
  return [{ sopClassUid: view.sopClassUid ?? DICOS_SOP_CLASS.dxForProcessing, sopInstanceUid: view.sopInstanceUid, seriesInstanceUid: scan.seriesInstanceUid }];
}

/** One item of a Referenced Instance Sequence. */
const referenceItem = (image: ReferencedImage): DicomItem => [
  element(TDR_TAG.referencedSopClassUid, 'UI', image.sopClassUid),
  element(TDR_TAG.referencedSopInstanceUid, 'UI', image.sopInstanceUid),
];

export interface TdrOptions {
  manufacturer?: string;
  softwareVersion?: string;
  /** Organization accountable for the analysts (Institution Name in the operator identification); the manufacturer when absent. */
  institutionName?: string;
  /** Content Date/Time; now when absent. */
  now?: Date;
}

/** ISO 8601 with seconds and a zone to DICOM DT (YYYYMMDDHHMMSS[.FFFFFF]&ZZXX). */
export function isoToDicomDateTime(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) throw new RangeError(`not an ISO 8601 date-time with zone: ${iso}`);
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  return `${y}${mo}${d}${h}${mi}${s}${frac.slice(0, 7)}${zone === 'Z' ? '+0000' : zone.replace(':', '')}`;
}

/** DICOM DT with seconds and offset back to an ISO 8601 instant (UTC, milliseconds), or undefined. */
export function dicomDateTimeToIso(dt: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{1,6})?([+-]\d{4})?$/.exec(dt.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', offset = '+0000'] = m;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${offset.slice(0, 3)}:${offset.slice(3)}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Text for a VR with a maximum length. */
const clip = (text: string, max: number): string => text.slice(0, max);
/** An analyst id as one PN value: no value, component or group delimiters. */
const personName = (id: string): string => clip(id.replace(/[\\^=]/g, '_'), 64);

function codeItem(value: string, scheme: string, meaning: string): DicomItem {
  return [
    value.length <= 16 ? element(TDR_TAG.codeValue, 'SH', value) : element(TDR_TAG.longCodeValue, 'UC', value),
    element(TDR_TAG.codingSchemeDesignator, 'SH', scheme),
    element(TDR_TAG.codeMeaning, 'LO', clip(meaning, 64)),
  ];
}

/** Manufacturer (and, for an OPERATOR report, default institution) of the TDR. */
const manufacturerOf = (options: TdrOptions | undefined): string => options?.manufacturer ?? 'niix';

/** A Threat Category Description: the niix category, then its details (TIP label, notes) when there are any. */
function describe(category: ThreatCategory, details: (string | undefined)[]): string {
  const parts = details.filter((detail): detail is string => Boolean(detail));
  return clip(parts.length > 0 ? `${category}: ${parts.join('; ')}` : category, 10240);
}

/** What a TDR states, whoever made it (an analyst's verdict, the truth of a training case). */
interface TdrContent {
  tdrType: TdrType;
  alarmDecision: 'ALARM' | 'CLEAR' | 'UNKNOWN';
  /** ISO 8601 with seconds and zone: the Alarm Decision Time. */
  decidedAt: string;
  numberOfAlarmObjects: number;
  /** One threat object per region, with its ATD Assessment Flag and Threat Category Description. */
  objects: { region: Region; assessmentFlag: 'THREAT' | 'NO_THREAT' | 'UNKNOWN'; description: string }[];
  /** Further top-level elements (the operator identification of an OPERATOR report). */
  extra: DicomElement[];
}

/**
 * The one TDR writer behind writeThreatDetectionReport and writeGroundTruthReport, explicit VR little endian.
 * The TDR joins the scan's study (its Study Instance UID when given) in a series of its own (a series holds one
 * modality); the scan's images are referenced by the Referenced Series Sequence and, per threat object, by the
 * Referenced Instance Sequence of its PTO representation. Each object becomes one Threat Sequence item: its box as
 * Threat ROI Base / Extents (x, y, 0 / width, height, 0 in the view's pixels, origin top-left) and as a four-corner
 * Bounding Polygon, its description in Threat Category Description, the DICOS term in Threat Category.
 */
function writeReport(content: TdrContent, scan: TdrScan, options: TdrOptions | undefined): Buffer {
  const views = new Map(scan.views.map((view) => [view.id, view]));
  const now = options?.now ?? new Date();
  const sopInstanceUid = newUid();
  const stamp = now.toISOString();
  if (content.objects.length > 0xffff) throw new RangeError(`too many regions: ${content.objects.length}`);

  const threats: DicomItem[] = content.objects.map(({ region, assessmentFlag, description }, index) => {
    const view = views.get(region.view);
    if (!view) throw new RangeError(`region ${index} marks view ${region.view}, which the scan does not have`);
    if (region.x + region.width > view.width || region.y + region.height > view.height) {
      throw new RangeError(`region ${index} runs outside view ${view.id} (${view.width} x ${view.height})`);
    }
    const { x, y, width, height } = region;
    const representation: DicomItem = [
      element(TDR_TAG.boundingPolygon, 'FL', [x, y, 0, x + width, y, 0, x + width, y + height, 0, x, y + height, 0]),
      element(TDR_TAG.threatRoiVoxelSequence, 'SQ', [
        [
          element(TDR_TAG.threatRoiBase, 'FL', [x, y, 0]),
          element(TDR_TAG.threatRoiExtents, 'FL', [width, height, 0]),
          // Type 2, empty: every pixel of the ROI belongs to the object.
          element(TDR_TAG.threatRoiBitmap, 'OB', new Uint8Array(0)),
        ],
      ]),
      element(TDR_TAG.ptoLocationDescription, 'ST', `view ${view.id}`),
    ];
    const images = imagesOf(view, scan);
    if (images.length > 0) representation.push(element(TDR_TAG.referencedInstanceSequence, 'SQ', images.map(referenceItem)));
    return [
      element(TDR_TAG.potentialThreatObjectId, 'US', index),
      element(TDR_TAG.atdAssessmentSequence, 'SQ', [
        [
          element(TDR_TAG.threatCategory, 'CS', DICOS_THREAT_CATEGORY_OF[region.category]),
          element(TDR_TAG.threatCategoryDescription, 'LT', description),
          element(TDR_TAG.atdAbilityAssessment, 'CS', 'NO_INTERFERENCE'),
          element(TDR_TAG.atdAssessmentFlag, 'CS', assessmentFlag),
        ],
      ]),
      element(TDR_TAG.ptoRepresentationSequence, 'SQ', [representation]),
    ];
  });

  const elements: DicomElement[] = [
    element(TDR_TAG.sopClassUid, 'UI', DICOS_SOP_CLASS.threatDetectionReport),
    element(TDR_TAG.sopInstanceUid, 'UI', sopInstanceUid),
    element(TDR_TAG.contentDate, 'DA', stamp.slice(0, 10).replace(/-/g, '')),
    element(TDR_TAG.contentTime, 'TM', stamp.slice(11, 19).replace(/:/g, '')),
    element(TDR_TAG.timezoneOffsetFromUtc, 'SH', '+0000'),
    element(TDR_TAG.modality, 'CS', TDR_MODALITY),
    element(TDR_TAG.manufacturer, 'LO', clip(manufacturerOf(options), 64)),
    element(TDR_TAG.studyInstanceUid, 'UI', scan.studyInstanceUid ?? newUid()),
    element(TDR_TAG.seriesInstanceUid, 'UI', newUid()),
    element(TDR_TAG.seriesNumber, 'IS', '1'),
    element(TDR_TAG.instanceNumber, 'IS', '1'),
    element(TDR_TAG.abortFlag, 'CS', 'SUCCESS'),
    element(TDR_TAG.tdrType, 'CS', content.tdrType),
    element(TDR_TAG.alarmDecisionTime, 'DT', isoToDicomDateTime(content.decidedAt)),
    element(TDR_TAG.alarmDecision, 'CS', content.alarmDecision),
    element(TDR_TAG.numberOfTotalObjects, 'US', content.objects.length),
    element(TDR_TAG.numberOfAlarmObjects, 'US', content.numberOfAlarmObjects),
    ...content.extra,
  ];
  if (threats.length > 0) elements.push(element(TDR_TAG.threatSequence, 'SQ', threats));
  if (scan.stationName) elements.push(element(TDR_TAG.stationName, 'SH', clip(scan.stationName, 16)));
  if (options?.softwareVersion) elements.push(element(TDR_TAG.softwareVersions, 'LO', clip(options.softwareVersion, 64)));

  // One Referenced Series Sequence item per series of the referenced images, in view order.
  const series = new Map<string, DicomItem[]>();
  for (const view of scan.views) {
    for (const image of imagesOf(view, scan)) {
      if (image.seriesInstanceUid) series.set(image.seriesInstanceUid, [...(series.get(image.seriesInstanceUid) ?? []), referenceItem(image)]);
    }
  }
  if (series.size > 0) {
    elements.push(
      element(
        TDR_TAG.referencedSeriesSequence,
        'SQ',
        [...series].map(([uid, instances]) => [
          element(TDR_TAG.seriesInstanceUid, 'UI', uid),
          element(TDR_TAG.referencedInstanceSequence, 'SQ', instances),
        ]),
      ),
    );
  }

  return writePart10(
    {
      sopClassUid: DICOS_SOP_CLASS.threatDetectionReport,
      sopInstanceUid,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersion: IMPLEMENTATION_VERSION,
    },
    elements,
  );
}

/** Operators' Name and the Operator Identification Sequence of the analysts who decided, first opinion first. */
function operatorElements(analysts: string[], options: TdrOptions | undefined): DicomElement[] {
  if (analysts.length === 0) return [];
  // Single item (SDICOS ThreatDetectionReport.h: required when TDR Type is OPERATOR): the analyst who decided last,
  // with the DICOS identification encoding type as second code item.
  const decider = analysts[analysts.length - 1];
  return [
    element(TDR_TAG.operatorsName, 'PN', analysts.map(personName)),
    element(TDR_TAG.operatorIdentificationSequence, 'SQ', [
      [
        element(TDR_TAG.personIdentificationCodeSequence, 'SQ', [
          codeItem(decider, ANALYST_CODING_SCHEME, decider),
          codeItem(TEXT_ENCODING.value, TEXT_ENCODING.scheme, TEXT_ENCODING.meaning),
        ]),
        element(TDR_TAG.institutionName, 'LO', clip(options?.institutionName ?? manufacturerOf(options), 64)),
      ],
    ]),
  ];
}

/**
 * Writes an analyst's verdict as a DICOS Threat Detection Report (TDR Type OPERATOR), explicit VR little endian.
 * Each region becomes one threat object (see writeReport), its niix category (and note) in Threat Category
 * Description; the deciding analyst is the operator.
 */
export function writeThreatDetectionReport(verdict: VerdictRecord, scan: TdrScan, options?: TdrOptions): Buffer {
  return writeReport(
    {
      tdrType: TDR_TYPE.operator,
      alarmDecision: ALARM_DECISION_OF[verdict.decision],
      decidedAt: verdict.decidedAt,
      numberOfAlarmObjects: verdict.decision === 'inspect' ? verdict.regions.length : 0,
      objects: verdict.regions.map((region) => ({
        region,
        assessmentFlag: ASSESSMENT_FLAG_OF[verdict.decision],
        description: describe(region.category, [region.note]),
      })),
      extra: operatorElements(verdict.analysts, options),
    },
    scan,
    options,
  );
}

/** The known truth of a training case: its threat regions, and whether they were projected into a clean scan (TIP). */
export interface GroundTruthRecord {
  scanId: string;
  /** The threats were inserted by threat image projection into a real clean scan. */
  projected: boolean;
  regions: Region[];
  /** When the truth was established (ISO 8601 with seconds and zone): the Alarm Decision Time. */
  recordedAt: string;
  /** Free text about the truth (e.g. the projected threat item), added to each object's Threat Category Description. */
  description?: string;
  /**
   * Whether the scan holds a threat. A find nobody marked (a station's outcome on a scan the analyst cleared) is a
   * threat without regions: ALARM with no objects. Default: whether there are regions.
   */
  threat?: boolean;
}

/**
 * Writes the truth of a training case as a DICOS Threat Detection Report of TDR Type "GROUND TRUTH": one threat
 * object per truth region (ATD Assessment Flag THREAT; Alarm Decision ALARM for a threat, else CLEAR). When the
 * threats were projected (TIP), each object's Threat Category Description reads
 * "<category>: projected threat (TIP)[; <note>][; <description>]" (see TIP_THREAT_DESCRIPTION). No operator is named.
 */
export function writeGroundTruthReport(truth: GroundTruthRecord, scan: TdrScan, options?: TdrOptions): Buffer {
  if (truth.projected && truth.regions.length === 0) {
    throw new RangeError(`the projected truth of scan ${truth.scanId} has no region to label as projected`);
  }
  return writeReport(
    {
      tdrType: TDR_TYPE.groundTruth,
      alarmDecision: (truth.threat ?? truth.regions.length > 0) ? 'ALARM' : 'CLEAR',
      decidedAt: truth.recordedAt,
      numberOfAlarmObjects: truth.regions.length,
      objects: truth.regions.map((region) => ({
        region,
        assessmentFlag: 'THREAT',
        description: describe(region.category, [
          truth.projected ? TIP_THREAT_DESCRIPTION : undefined,
          region.note,
          truth.description,
        ]),
      })),
      extra: [],
    },
    scan,
    options,
  );
}

/** A box in a view's pixels, origin top-left. */
export interface TdrBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TdrObject {
  id: number | undefined;
  /** The niix category when Threat Category Description carries one, else the DICOS Threat Category. */
  category: string | undefined;
  /** Threat Category (4010,1012), a DICOS defined term. */
  threatCategory: string | undefined;
  /** The rest of Threat Category Description, without the TIP label. */
  note: string;
  /**
   * TIP labelling: true when Threat Category Description carries TIP_THREAT_DESCRIPTION (a projected threat), false
   * for an unlabelled object of a GROUND TRUTH report, undefined otherwise (other TDR types do not say).
   */
  projected: boolean | undefined;
  assessmentFlag: string | undefined;
  /** From PTO Location Description ("view <id>") when written by niix. */
  view: string | undefined;
  referencedSopInstanceUid: string | undefined;
  /** From Threat ROI Base / Extents. */
  box: TdrBox | undefined;
}

export interface ThreatDetectionReport {
  sopClassUid: string | undefined;
  sopInstanceUid: string | undefined;
  studyInstanceUid: string | undefined;
  modality: string | undefined;
  /** TDR Type (4010,1027) as written, e.g. OPERATOR or GROUND TRUTH (TDR_TYPE). */
  tdrType: string | undefined;
  alarmDecision: string | undefined;
  /** Alarm Decision Time (4010,102B) as written (DICOM DT). */
  alarmDecisionTime: string | undefined;
  /** The same instant as ISO 8601 (UTC). */
  alarmDecidedAt: string | undefined;
  numberOfTotalObjects: number | undefined;
  numberOfAlarmObjects: number | undefined;
  operators: string[];
  objects: TdrObject[];
}

const key = (tag: number): string => `x${(tag >>> 0).toString(16).padStart(8, '0')}`;
const items = (ds: DataSet, tag: number): DataSet[] =>
  (ds.elements[key(tag)]?.items ?? []).flatMap((item) => (item.dataSet ? [item.dataSet] : []));

function readBox(roi: DataSet | undefined): TdrBox | undefined {
  if (!roi) return undefined;
  const [x, y, width, height] = [
    roi.float(key(TDR_TAG.threatRoiBase), 0),
    roi.float(key(TDR_TAG.threatRoiBase), 1),
    roi.float(key(TDR_TAG.threatRoiExtents), 0),
    roi.float(key(TDR_TAG.threatRoiExtents), 1),
  ];
  if (x === undefined || y === undefined || width === undefined || height === undefined) return undefined;
  return { x, y, width, height };
}

/** A note without the TIP label that may lead it (TIP_THREAT_DESCRIPTION, then "; " before further details). */
function splitTipLabel(note: string): { labelled: boolean; rest: string } {
  if (!note.startsWith(TIP_THREAT_DESCRIPTION)) return { labelled: false, rest: note };
  const rest = note.slice(TIP_THREAT_DESCRIPTION.length);
  return { labelled: true, rest: rest.startsWith('; ') ? rest.slice(2) : rest.trimStart() };
}

function readObject(threat: DataSet, tdrType: string | undefined): TdrObject {
  const assessment = items(threat, TDR_TAG.atdAssessmentSequence)[0];
  const representation = items(threat, TDR_TAG.ptoRepresentationSequence)[0];
  const threatCategory = assessment?.string(key(TDR_TAG.threatCategory));
  const description = assessment?.text(key(TDR_TAG.threatCategoryDescription)) ?? '';
  const split = description.indexOf(': ');
  const head = split < 0 ? description : description.slice(0, split);
  const known = (THREAT_CATEGORIES as readonly string[]).includes(head);
  const tip = splitTipLabel(known ? (split < 0 ? '' : description.slice(split + 2)) : description);
  const location = representation?.string(key(TDR_TAG.ptoLocationDescription));
  return {
    id: threat.uint16(key(TDR_TAG.potentialThreatObjectId)),
    category: known ? head : threatCategory,
    threatCategory,
    note: tip.rest,
    projected: tip.labelled ? true : tdrType === TDR_TYPE.groundTruth ? false : undefined,
    assessmentFlag: assessment?.string(key(TDR_TAG.atdAssessmentFlag)),
    view: location?.startsWith('view ') ? location.slice(5) : undefined,
    referencedSopInstanceUid: representation
      ? items(representation, TDR_TAG.referencedInstanceSequence)[0]?.string(key(TDR_TAG.referencedSopInstanceUid))
      : undefined,
    box: readBox(representation ? items(representation, TDR_TAG.threatRoiVoxelSequence)[0] : undefined),
  };
}

/** Reads the parts of a DICOS Threat Detection Report that niix writes (dicom-parser; throws on a malformed file). */
export function readThreatDetectionReport(buffer: Uint8Array): ThreatDetectionReport {
  const ds = dicomParser.parseDicom(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  const alarmDecisionTime = ds.string(key(TDR_TAG.alarmDecisionTime));
  const operators = (ds.string(key(TDR_TAG.operatorsName)) ?? '').split('\\').map((name) => name.trim()).filter(Boolean);
  const tdrType = ds.string(key(TDR_TAG.tdrType));
  return {
    sopClassUid: ds.string(key(TDR_TAG.sopClassUid)),
    sopInstanceUid: ds.string(key(TDR_TAG.sopInstanceUid)),
    studyInstanceUid: ds.string(key(TDR_TAG.studyInstanceUid)),
    modality: ds.string(key(TDR_TAG.modality)),
    tdrType,
    alarmDecision: ds.string(key(TDR_TAG.alarmDecision)),
    alarmDecisionTime,
    alarmDecidedAt: alarmDecisionTime === undefined ? undefined : dicomDateTimeToIso(alarmDecisionTime),
    numberOfTotalObjects: ds.uint16(key(TDR_TAG.numberOfTotalObjects)),
    numberOfAlarmObjects: ds.uint16(key(TDR_TAG.numberOfAlarmObjects)),
    operators,
    objects: items(ds, TDR_TAG.threatSequence).map((threat) => readObject(threat, tdrType)),
  };
}
