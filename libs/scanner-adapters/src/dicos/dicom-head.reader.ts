import type { DataSet, Element } from 'dicom-parser';
import type { UploadedFileHead } from '../adapter.js';
import { describeDataSet, parseDataSet, type DicomImage } from './dicom-file.reader.js';

const PIXEL_DATA = 'x7fe00010';
/** Value length of an element whose end is found by delimiters (encapsulated pixel data). */
const UNDEFINED_LENGTH = 0xffffffff;

/** What the first bytes of a DICOM file tell, read by the same parser and attribute code as convert. */
export interface DicomHead {
  image: DicomImage;
  /** The Pixel Data element's header when it lies within the head. */
  pixelData: Element | undefined;
}

/**
 * Parses the head of a file up to the header of its Pixel Data element (no pixel bytes are read). Throws the
 * ConversionError convert would throw when the head proves it (no 'DICM' prefix; for a file held entirely in the
 * head, any parse failure and a data set without an image). Returns undefined when the head cannot tell: a deflated
 * data set (inflating is not cheap), or elements that run past the head of a longer file.
 */
export function readDicomHead(file: UploadedFileHead): DicomHead | undefined {
  const { head, size, name } = file;
  const whole = head.length >= size;
  let deflated = false;
  let ds: DataSet;
  try {
    ds = parseDataSet(name, head, {
      untilTag: PIXEL_DATA,
      inflater: (bytes, position) => {
        deflated = true;
        return bytes.subarray(0, position);
      },
    });
  } catch (error) {
    // Without 'DICM' at byte 128 the parser stops before reading anything else, whatever follows.
    if (whole || !hasDicmPrefix(head)) throw error;
    return undefined;
  }
  if (deflated) return undefined;
  const pixelData = ds.elements[PIXEL_DATA];
  if (!pixelData && !whole) return undefined;
  let image: DicomImage;
  try {
    image = describeDataSet(name, ds);
  } catch (error) {
    // Reached the pixel data without Rows or Columns: they could follow it in a file out of tag order, which the
    // full parse of convert would still find.
    if (pixelData) return undefined;
    throw error;
  }
  return { image, pixelData };
}

/** Bytes the Pixel Data element declares and bytes the file holds after its header; undefined if encapsulated. */
export function nativePixelDataExtent(pixelData: Element, size: number): { needed: number; present: number } | undefined {
  if (pixelData.hadUndefinedLength || pixelData.length === UNDEFINED_LENGTH) return undefined;
  return { needed: pixelData.length, present: Math.max(0, size - pixelData.dataOffset) };
}

/** 'DICM' at byte 128: the Part 10 prefix (false for a head shorter than 132 bytes). */
export function hasDicmPrefix(head: Uint8Array): boolean {
  return head.length >= 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4d;
}
