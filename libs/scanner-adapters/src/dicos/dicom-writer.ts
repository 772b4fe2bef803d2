/**
 * A minimal DICOM data set writer: explicit VR little endian, defined lengths everywhere (sequences and items
 * included), values padded to even length by the VR rules (UI and OB with NUL, text with a space). Enough to
 * write DICOS images and, later, a DICOS Threat Detection Report.
 */

export type Vr =
  | 'AE' | 'AS' | 'AT' | 'CS' | 'DA' | 'DS' | 'DT' | 'FD' | 'FL' | 'IS' | 'LO' | 'LT' | 'OB' | 'OD' | 'OF' | 'OL'
  | 'OW' | 'PN' | 'SH' | 'SL' | 'SQ' | 'SS' | 'ST' | 'TM' | 'UC' | 'UI' | 'UL' | 'UN' | 'UR' | 'US' | 'UT';

export type ElementValue = string | string[] | number | number[] | Uint8Array | Uint16Array | DicomItem[];

/** One item of a sequence: a data set. */
export type DicomItem = DicomElement[];

export interface DicomElement {
  /** Group in the high 16 bits, element in the low 16 bits, e.g. 0x00280010. */
  tag: number;
  vr: Vr;
  value: ElementValue;
}

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2). */
const LONG_VRS = new Set<Vr>(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const TEXT_VRS = new Set<Vr>(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UR', 'UT']);

export const element = (tag: number, vr: Vr, value: ElementValue): DicomElement => ({ tag, vr, value });

function valueBytes(el: DicomElement): Buffer {
  const { vr, value } = el;
  if (vr === 'SQ') {
    if (!Array.isArray(value) || value.some((item) => !Array.isArray(item))) throw new Error(`SQ ${hex(el.tag)} needs items`);
    return Buffer.concat((value as DicomItem[]).map(encodeItem));
  }
  if (TEXT_VRS.has(vr) || vr === 'UI') {
    const text = Array.isArray(value) ? value.join('\\') : String(value);
    const bytes = Buffer.from(text, 'latin1');
    return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
  }
  if (value instanceof Uint8Array && (vr === 'OB' || vr === 'UN')) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from([0])]);
  }
  if (value instanceof Uint16Array && vr === 'OW') {
    const out = Buffer.alloc(value.length * 2);
    for (let i = 0; i < value.length; i++) out.writeUInt16LE(value[i], 2 * i);
    return out;
  }
  const numbers = typeof value === 'number' ? [value] : Array.isArray(value) ? value : undefined;
  if (!numbers || numbers.some((n) => typeof n !== 'number')) throw new Error(`value of ${hex(el.tag)} does not suit VR ${vr}`);
  const nums = numbers as number[];
  const width: Partial<Record<Vr, number>> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, AT: 4 };
  const size = width[vr];
  if (!size) throw new Error(`VR ${vr} of ${hex(el.tag)} cannot hold numbers`);
  const out = Buffer.alloc(nums.length * size);
  nums.forEach((n, i) => {
    const at = i * size;
    if (vr === 'US') out.writeUInt16LE(n, at);
    else if (vr === 'SS') out.writeInt16LE(n, at);
    else if (vr === 'UL') out.writeUInt32LE(n, at);
    else if (vr === 'SL') out.writeInt32LE(n, at);
    else if (vr === 'FL') out.writeFloatLE(n, at);
    else if (vr === 'FD') out.writeDoubleLE(n, at);
    else {
      out.writeUInt16LE(n >>> 16, at);
      out.writeUInt16LE(n & 0xffff, at + 2);
    }
  });
  return out;
}

function hex(tag: number): string {
  return `(${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`;
}

function tagBytes(tag: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16LE(tag >>> 16, 0);
  out.writeUInt16LE(tag & 0xffff, 2);
  return out;
}

function encodeItem(item: DicomItem): Buffer {
  const body = encodeDataSet(item);
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(0xe000, 2);
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** One element, explicit VR little endian. */
export function encodeElement(el: DicomElement): Buffer {
  const data = valueBytes(el);
  if (LONG_VRS.has(el.vr)) {
    const header = Buffer.alloc(12);
    tagBytes(el.tag).copy(header, 0);
    header.write(el.vr, 4, 'latin1');
    header.writeUInt32LE(data.length, 8);
    return Buffer.concat([header, data]);
  }
  if (data.length > 0xffff) throw new Error(`value of ${hex(el.tag)} is too long for VR ${el.vr}`);
  const header = Buffer.alloc(8);
  tagBytes(el.tag).copy(header, 0);
  header.write(el.vr, 4, 'latin1');
  header.writeUInt16LE(data.length, 6);
  return Buffer.concat([header, data]);
}

/** Elements sorted by tag, as DICOM requires. */
export function encodeDataSet(elements: DicomElement[]): Buffer {
  const sorted = [...elements].sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
  return Buffer.concat(sorted.map(encodeElement));
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** A Part 10 file: 128-byte preamble, `DICM`, file meta group (with its group length), then the data set. */
export function writePart10(
  meta: { sopClassUid: string; sopInstanceUid: string; implementationClassUid: string; implementationVersion?: string },
  dataSet: DicomElement[],
): Buffer {
  const metaElements = encodeDataSet([
    element(0x00020001, 'OB', new Uint8Array([0, 1])),
    element(0x00020002, 'UI', meta.sopClassUid),
    element(0x00020003, 'UI', meta.sopInstanceUid),
    element(0x00020010, 'UI', EXPLICIT_VR_LITTLE_ENDIAN),
    element(0x00020012, 'UI', meta.implementationClassUid),
    ...(meta.implementationVersion ? [element(0x00020013, 'SH', meta.implementationVersion)] : []),
  ]);
  const groupLength = encodeElement(element(0x00020000, 'UL', metaElements.length));
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, metaElements, encodeDataSet(dataSet)]);
}
