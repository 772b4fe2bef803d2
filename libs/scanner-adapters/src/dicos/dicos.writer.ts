import { randomUUID } from 'node:crypto';
import { element, writePart10, type DicomElement } from './dicom-writer.js';
import { DICOS_SOP_CLASS, NIIX_PRIVATE_CREATOR, UUID_UID_ROOT } from './dicom-uids.js';

/** What writeDicos needs of a scan: the fields of a Conversion, planes in the plane convention. */
export interface DicosScan {
  scanner: { vendor: string; model?: string; software?: string };
  acquiredAt: string | null;
  views: {
    id: string;
    width: number;
    height: number;
    pixelSpacingMm: { x: number; y: number } | null;
    airValue: number;
    planes: { energy: 'high' | 'low' | 'single'; data: Uint16Array }[];
  }[];
}

/**
 * TIP Type (4010,1039) CS, the one required attribute of the TIP Image Module of a DICOS image (pydicom
 * _dicom_dict.py 0x40101039 ('CS', '1', "TIP Type"); SDICOS TipImage.h, TIP_IMAGE_TYPE, NEMA IIC 1 v03 section 14.2.8,
 * table 94). Defined terms: CTI, a composite threat image (a threat image projected into a real scan, what niix's
 * training projections are), and FTI, a fictitious threat image.
 */
export const TIP_TYPE_TAG = 0x40101039;
export type TipType = 'CTI' | 'FTI';

export interface WriteDicosOptions {
  /** Study Instance UID of every image; a new one when absent. */
  studyUid?: string;
  /** Writes the TIP Image Module (TIP Type, see TIP_TYPE_TAG) into every image; a real scan has none. */
  tipType?: TipType;
}

/** One written image: a Part 10 file, with the UIDs a report needs to reference it. */
export interface DicosFile {
  /** `<view>-<energy>.dcm`. */
  name: string;
  data: Buffer;
  view: string;
  energy: 'high' | 'low' | 'single';
  /** DICOS DX For Processing (DICOS_SOP_CLASS.dxForProcessing). */
  sopClassUid: string;
  sopInstanceUid: string;
  /** Each image is a series of its own. */
  seriesInstanceUid: string;
}

/** niix's implementation class UID (2.25 + a fixed UUID) and version name. */
const IMPLEMENTATION_CLASS_UID = '2.25.160964839637931003212470587916458470245';
const IMPLEMENTATION_VERSION = 'NIIX_1';

export function newUid(): string {
  return `${UUID_UID_ROOT}.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/** DS: at most 16 characters. */
function decimalString(n: number): string {
  for (let digits = 15; digits > 0; digits--) {
    const text = String(Number(n.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  return String(Math.round(n));
}

/** ISO 8601 with offset to DICOM DT (YYYYMMDDHHMMSS.FFF&ZZXX) and the offset alone (&ZZXX). */
function toDicomDateTime(iso: string): { dt: string; offset: string } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  const offset = zone === 'Z' ? '+0000' : zone.replace(':', '');
  return { dt: `${y}${mo}${d}${h}${mi}${s}${frac.slice(0, 7)}${offset}`, offset };
}

/**
 * Writes a scan as DICOS DX (For Processing) Part 10 files, one per plane: explicit VR little endian,
 * 16-bit unsigned MONOCHROME2 pixels with Pixel Intensity Relationship LIN and sign +1 (values grow with
 * transmitted intensity, the plane convention). High and low energy planes of a view share the Frame of
 * Reference and View Position and are marked by ImageType (HIGH ENERGY / LOW ENERGY); niix's private block
 * (0009,xx, creator NIIX 1.0) keeps the air value, view id and energy so that the DicosAdapter reads the scan
 * back exactly. With `tipType` every image also carries TIP Type (4010,1039), labelling it a threat image projection;
 * without options the files are those niix always wrote (dicos.writer.spec.ts pins their bytes).
 */
export function writeDicos(scan: DicosScan, options?: WriteDicosOptions): DicosFile[] {
  const studyUid = options?.studyUid ?? newUid();
  const when = scan.acquiredAt ? toDicomDateTime(scan.acquiredAt) : null;
  const files: DicosFile[] = [];
  let series = 0;
  scan.views.forEach((view) => {
    if (view.width > 0xffff || view.height > 0xffff) throw new RangeError(`view ${view.id} is too large for DICOM Rows/Columns`);
    const frameOfReferenceUid = newUid();
    for (const plane of view.planes) {
      if (plane.data.length !== view.width * view.height) {
        throw new RangeError(`plane ${view.id}/${plane.energy} holds ${plane.data.length} values, not ${view.width} x ${view.height}`);
      }
      series++;
      const sopInstanceUid = newUid();
      // Made here, in the order the writer always made its UIDs (SOP instance, then series).
      const seriesInstanceUid = newUid();
      const imageType = ['ORIGINAL', 'PRIMARY', ...(plane.energy === 'single' ? [] : [`${plane.energy.toUpperCase()} ENERGY`])];
      const elements: DicomElement[] = [
        element(0x00080008, 'CS', imageType),
        element(0x00080016, 'UI', DICOS_SOP_CLASS.dxForProcessing),
        element(0x00080018, 'UI', sopInstanceUid),
        element(0x00080060, 'CS', 'DX'),
        element(0x00080070, 'LO', scan.scanner.vendor),
        element(0x00090010, 'LO', NIIX_PRIVATE_CREATOR),
        element(0x00091001, 'US', Math.max(1, Math.min(65535, Math.round(view.airValue)))),
        element(0x00091002, 'LO', view.id),
        element(0x00091003, 'CS', plane.energy.toUpperCase()),
        element(0x0020000d, 'UI', studyUid),
        element(0x0020000e, 'UI', seriesInstanceUid),
        element(0x00200011, 'IS', String(series)),
        element(0x00200013, 'IS', '1'),
        element(0x00200052, 'UI', frameOfReferenceUid),
        element(0x00280002, 'US', 1),
        element(0x00280004, 'CS', 'MONOCHROME2'),
        element(0x00280010, 'US', view.height),
        element(0x00280011, 'US', view.width),
        element(0x00280100, 'US', 16),
        element(0x00280101, 'US', 16),
        element(0x00280102, 'US', 15),
        element(0x00280103, 'US', 0),
        element(0x00281040, 'CS', 'LIN'),
        element(0x00281041, 'SS', 1),
        element(0x7fe00010, 'OW', plane.data),
      ];
      if (scan.scanner.model) elements.push(element(0x00081090, 'LO', scan.scanner.model));
      if (scan.scanner.software) elements.push(element(0x00181020, 'LO', scan.scanner.software));
      if (when) elements.push(element(0x0008002a, 'DT', when.dt), element(0x00080201, 'SH', when.offset));
      if (view.id === 'top' || view.id === 'side') elements.push(element(0x00185101, 'CS', view.id.toUpperCase()));
      if (view.pixelSpacingMm) {
        elements.push(element(0x00280030, 'DS', [decimalString(view.pixelSpacingMm.y), decimalString(view.pixelSpacingMm.x)]));
      }
      if (options?.tipType) elements.push(element(TIP_TYPE_TAG, 'CS', options.tipType));
      const data = writePart10(
        {
          sopClassUid: DICOS_SOP_CLASS.dxForProcessing,
          sopInstanceUid,
          implementationClassUid: IMPLEMENTATION_CLASS_UID,
          implementationVersion: IMPLEMENTATION_VERSION,
        },
        elements,
      );
      files.push({
        name: `${view.id}-${plane.energy}.dcm`,
        data,
        view: view.id,
        energy: plane.energy,
        sopClassUid: DICOS_SOP_CLASS.dxForProcessing,
        sopInstanceUid,
        seriesInstanceUid,
      });
    }
  });
  return files;
}
