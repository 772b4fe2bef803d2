import { open, readFile } from 'node:fs/promises';
import {
  assertPlaneSize,
  assertScanSize,
  CHECK_BYTES,
  ConversionError,
  type Conversion,
  type ConversionInput,
  type ConversionLimits,
  type ConvertedPlane,
  type ConvertedView,
  type DeclaredPlanes,
  type InputFile,
  type ScannerAdapter,
  type SniffResult,
  type UploadedFileHead,
} from '../adapter.js';
import {
  lossyWarning,
  MAX_FRAMES_PER_FILE,
  PLANES_PER_FILE,
  readDicomFile,
  readStoredFrames,
  type DicomImage,
} from './dicom-file.reader.js';
import { type DicomHead, hasDicmPrefix, nativePixelDataExtent, readDicomHead } from './dicom-head.reader.js';
import { DICOS_SOP_CLASS, DICOS_SOP_CLASS_PREFIX } from './dicom-uids.js';
import { estimateAirValue, mapToPlanes } from './plane-mapping.js';

type Energy = ConvertedPlane['energy'];

/** One image to place in a view: a frame of a file. */
interface Placed {
  image: DicomImage;
  fileIndex: number;
  frame: number;
  energy: Energy | undefined;
  key: string;
  wantedId: string | undefined;
}

const VIEW_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * DICOS (NEMA IIC 1, DICOM for security screening) and plain DICOM images.
 *
 * Files: one Part 10 file per image. Several files sent together make one scan: files of one view (same view
 * position, else same Frame of Reference) are its energies (`high` / `low` from ImageType values HIGH/LOW
 * [ENERGY] or, failing that, the higher KVP), other files are further views. A multi-frame file sent alone
 * gives one view per frame. Views are `top` / `side` when View Position says TOP / SIDE (or niix's own
 * private view id), else `view-N` in series/instance order.
 */
export class DicosAdapter implements ScannerAdapter {
  readonly id = 'dicos';
  readonly version = '1.0.0';
  readonly description = 'DICOS (DICOM for security screening) DX images and DICOM images in any common transfer syntax';

  sniff(head: Uint8Array, fileName: string): SniffResult {
    if (hasDicmPrefix(head)) return 'primary';
    // A data set without preamble and meta group (it starts, possibly after a stray byte, with a little-endian
    // group 0002 or 0008 tag): claimed so that it is rejected with a clear reason rather than as unknown.
    for (let at = 0; at <= 1 && head.length >= at + 8; at++) {
      if ((head[at] !== 0x08 && head[at] !== 0x02) || head[at + 1] !== 0x00 || head[at + 3] !== 0x00) continue;
      const vr = String.fromCharCode(head[at + 4], head[at + 5]);
      const implicitLength = head[at + 4] | (head[at + 5] << 8) | (head[at + 6] << 16) | (head[at + 7] << 24);
      if (/^[A-Z]{2}$/.test(vr) || (implicitLength >= 0 && implicitLength < 1024)) return 'primary';
    }
    if (/\.(dcm|dicom|dcs|dicos)$/i.test(fileName)) return 'primary';
    return null;
  }

  /**
   * Per file, from its head parsed up to the Pixel Data element header: what convert would refuse (no Part 10
   * header, no image, a DICOS object other than DX, a plane over the limit); then the frames of every file judged
   * against the per-scan limit; then a native pixel data element longer than the rest of the file. Deflated data
   * sets and heads that end inside the header are left to convert.
   */
  check(files: UploadedFileHead[], limits: ConversionLimits): void {
    try {
      const heads: { file: UploadedFileHead; head: DicomHead }[] = [];
      for (const file of files) {
        const head = readDicomHead(file);
        if (!head) continue;
        assertReadableHeader(head.image, limits);
        heads.push({ file, head });
      }
      assertScanSize(heads.map(({ head }) => declaredPlanes(head.image)), limits);
      for (const { file, head } of heads) {
        const extent = head.pixelData ? nativePixelDataExtent(head.pixelData, file.size) : undefined;
        if (extent && extent.needed > extent.present) {
          throw new ConversionError(
            'malformed_input',
            `${file.name} is truncated: its pixel data needs ${extent.needed} bytes, only ${extent.present} present`,
          );
        }
      }
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      // Anything else means the head could not be judged: convert will.
    }
  }

  async convert(input: ConversionInput): Promise<Conversion> {
    if (input.files.length === 0) throw new ConversionError('incomplete_scan', 'no DICOM file was given');
    await assertHeadsWithinLimits(input);
    const images: DicomImage[] = [];
    for (const file of input.files) {
      const buffer = await readFile(file.path);
      const image = readDicomFile(file.name, new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), input.limits);
      assertReadableHeader(image, input.limits);
      images.push(image);
      // Every frame of every file is a plane: the sum so far is checked as each header is read, and all of it before
      // the first frame is decoded.
      assertScanSize(images.map(declaredPlanes), input.limits);
    }
    const studies = new Set(images.map((image) => image.studyUid).filter((uid) => uid !== undefined));
    if (studies.size > 1) {
      throw new ConversionError('incomplete_scan', `the files belong to ${studies.size} different studies (StudyInstanceUID); send one scan at a time`);
    }

    const placed = placeImages(images);
    const groups = new Map<string, Placed[]>();
    for (const p of placed) groups.set(p.key, [...(groups.get(p.key) ?? []), p]);
    const ids = viewIds([...groups.values()]);

    const warnings: string[] = [];
    const addWarning = (w: string): void => {
      if (!warnings.includes(w)) warnings.push(w);
    };
    const planesByFile = new Map<number, Uint16Array[]>();
    const planesOf = async (p: Placed): Promise<Uint16Array[]> => {
      let planes = planesByFile.get(p.fileIndex);
      if (!planes) {
        const stored = await readStoredFrames(p.image);
        const mapped = mapToPlanes(stored, {
          invert: p.image.intensitySign !== undefined ? p.image.intensitySign < 0 : p.image.photometric === 'MONOCHROME1',
          rescaleSlope: p.image.rescaleSlope,
          rescaleIntercept: p.image.rescaleIntercept,
        });
        mapped.warnings.forEach(addWarning);
        const lossy = lossyWarning(p.image.transferSyntax);
        if (lossy) addWarning(lossy);
        planes = mapped.planes;
        planesByFile.set(p.fileIndex, planes);
      }
      return planes;
    };

    const views: ConvertedView[] = [];
    let index = 0;
    for (const members of groups.values()) {
      const id = ids[index++];
      const first = members[0].image;
      for (const m of members) {
        if (m.image.rows !== first.rows || m.image.columns !== first.columns) {
          throw new ConversionError(
            'incomplete_scan',
            `the planes of view ${id} differ in size: ${first.fileName} is ${first.columns} x ${first.rows}, ${m.image.fileName} is ${m.image.columns} x ${m.image.rows}`,
          );
        }
      }
      const energies = assignEnergies(members, id);
      const planes: ConvertedPlane[] = [];
      for (let i = 0; i < members.length; i++) {
        const m = members[i];
        const data = (await planesOf(m))[m.frame];
        const plane: ConvertedPlane = { energy: energies[i], data };
        if (m.image.kvp !== undefined && m.image.kvp > 0) plane.nominalEnergy = `${m.image.kvp} kV`;
        planes.push(plane);
      }
      const order: Record<Energy, number> = { high: 0, low: 1, single: 2 };
      planes.sort((a, b) => order[a.energy] - order[b.energy]);
      const stated = members.map((m) => m.image.niix.airValue).find((v) => v !== undefined && v >= 1);
      const spacing = first.pixelSpacing;
      views.push({
        id,
        width: first.columns,
        height: first.rows,
        pixelSpacingMm: spacing ? { x: spacing.column, y: spacing.row } : null,
        airValue: stated ?? estimateAirValue(planes.map((p) => p.data)),
        planes,
      });
    }

    const source = images.find((image) => image.manufacturer) ?? images[0];
    const scanner: Conversion['scanner'] = { vendor: source.manufacturer ?? 'unknown' };
    if (source.model) scanner.model = source.model;
    if (source.software) scanner.software = source.software;
    if (source.serial) scanner.serial = source.serial;
    if (!source.manufacturer) addWarning('the files do not name the scanner manufacturer (0008,0070)');
    const acquiredAt = acquisitionTime(images[0], addWarning);
    return { scanner, acquiredAt, views, warnings };
  }
}

/**
 * Before any file is read whole: the head of each (its first CHECK_BYTES, as check sees it) where it tells the image's
 * size, against the limits, summed over the files. A native file's pixel data is most of its bytes, so a scan over
 * the limit is refused before they are read. Heads that cannot tell (deflated, out of tag order, unparsable) are left
 * to the full parse, which checks everything again.
 */
async function assertHeadsWithinLimits(input: ConversionInput): Promise<void> {
  const planes: DeclaredPlanes[] = [];
  for (const file of input.files) {
    let head: DicomHead | undefined;
    try {
      head = readDicomHead(await readFileHead(file));
    } catch {
      continue;
    }
    if (!head) continue;
    assertReadableHeader(head.image, input.limits);
    planes.push(declaredPlanes(head.image));
    assertScanSize(planes, input.limits);
  }
}

/** A file as check sees it: its name, size and first CHECK_BYTES bytes. */
async function readFileHead(file: InputFile): Promise<UploadedFileHead> {
  const handle = await open(file.path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, CHECK_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return { name: file.name, size, head: head.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** Every frame of a file is a plane of its rows x columns. */
function declaredPlanes(image: DicomImage): DeclaredPlanes {
  return { width: image.columns, height: image.rows, count: image.frameCount };
}

/** The header checks made before any pixel is read, by check and convert alike. */
function assertReadableHeader(image: DicomImage, limits: ConversionLimits): void {
  assertImageClass(image);
  assertPlaneSize(image.columns, image.rows, limits);
  assertFrameCount(image, limits);
}

/**
 * Each frame becomes a view: at most MAX_FRAMES_PER_FILE of them, holding together at most PLANES_PER_FILE planes'
 * worth of pixels. Checked before anything is placed or decoded (a count of 10^9 frames must not be iterated).
 */
function assertFrameCount(image: DicomImage, limits: ConversionLimits): void {
  const { frameCount, fileName, rows, columns } = image;
  if (!(frameCount <= MAX_FRAMES_PER_FILE)) {
    throw new ConversionError(
      'unsupported_variant',
      `${fileName} declares ${frameCount} frames; niix reads at most ${MAX_FRAMES_PER_FILE} frames per file (each frame becomes a view)`,
    );
  }
  const pixels = frameCount * rows * columns;
  if (pixels > PLANES_PER_FILE * limits.maxPixelsPerPlane) {
    throw new ConversionError(
      'too_many_pixels',
      `${fileName} holds ${frameCount} frames of ${columns} x ${rows} pixels, more than the ${PLANES_PER_FILE} planes of at most ${limits.maxPixelsPerPlane} pixels a file may hold`,
    );
  }
}

function assertImageClass(image: DicomImage): void {
  const sop = image.sopClassUid ?? '';
  if (!sop.startsWith(DICOS_SOP_CLASS_PREFIX)) return;
  if (sop === DICOS_SOP_CLASS.dxForPresentation || sop === DICOS_SOP_CLASS.dxForProcessing) return;
  const what: Record<string, string> = {
    [DICOS_SOP_CLASS.ct]: 'a DICOS CT volume',
    [DICOS_SOP_CLASS.threatDetectionReport]: 'a DICOS Threat Detection Report',
    [DICOS_SOP_CLASS.ait2d]: 'a DICOS 2D AIT image',
    [DICOS_SOP_CLASS.ait3d]: 'a DICOS 3D AIT image',
    [DICOS_SOP_CLASS.quadrupoleResonance]: 'a DICOS quadrupole resonance object',
  };
  throw new ConversionError(
    'unsupported_variant',
    `${image.fileName} is ${what[sop] ?? `a DICOS object of class ${sop}`}; niix reads DICOS DX (transmission X-ray) images`,
  );
}

function energyOf(image: DicomImage): Energy | undefined {
  const stated = image.niix.energy?.toLowerCase();
  if (stated === 'high' || stated === 'low' || stated === 'single') return stated;
  const values = image.imageType;
  if (values.some((v) => v === 'HIGH' || v === 'HIGH ENERGY' || v === 'HE')) return 'high';
  if (values.some((v) => v === 'LOW' || v === 'LOW ENERGY' || v === 'LE')) return 'low';
  return undefined;
}

function viewPositionId(image: DicomImage): string | undefined {
  const stated = image.niix.viewId;
  if (stated && VIEW_ID.test(stated)) return stated;
  const position = image.viewPosition;
  if (position === 'TOP' || position === 'SIDE') return position.toLowerCase();
  return undefined;
}

function placeImages(images: DicomImage[]): Placed[] {
  const order = images
    .map((image, fileIndex) => ({ image, fileIndex }))
    .sort(
      (a, b) =>
        (a.image.seriesNumber ?? 0) - (b.image.seriesNumber ?? 0) ||
        (a.image.instanceNumber ?? 0) - (b.image.instanceNumber ?? 0) ||
        a.fileIndex - b.fileIndex,
    );
  const placed: Placed[] = [];
  for (const { image, fileIndex } of order) {
    const wantedId = viewPositionId(image);
    const energy = energyOf(image);
    const base =
      images.length === 1
        ? 'only'
        : (wantedId ?? image.frameOfReferenceUid ?? (energy && energy !== 'single' ? 'energies' : `file-${fileIndex}`));
    for (let frame = 0; frame < image.frameCount; frame++) {
      placed.push({ image, fileIndex, frame, energy, key: `${base}#${frame}`, wantedId });
    }
  }
  return placed;
}

/** `top` / `side` / private ids when every view has a distinct one, else `view-1`, `view-2`, ... */
function viewIds(groups: Placed[][]): string[] {
  const wanted = groups.map((members) => (members[0].image.frameCount === 1 ? members[0].wantedId : undefined));
  const distinct = new Set(wanted);
  if (wanted.every((w) => w !== undefined) && distinct.size === wanted.length) return wanted as string[];
  return groups.map((_, i) => `view-${i + 1}`);
}

function assignEnergies(members: Placed[], id: string): Energy[] {
  if (members.length === 1) return [members[0].energy ?? 'single'];
  if (members.length > 2) {
    throw new ConversionError('incomplete_scan', `view ${id} has ${members.length} images; a view has one image or a high and a low energy image`);
  }
  let energies = members.map((m) => m.energy);
  if (energies[0] === undefined || energies[1] === undefined || energies[0] === energies[1]) {
    const [a, b] = members.map((m) => m.image.kvp);
    if (a !== undefined && b !== undefined && a !== b) energies = a > b ? ['high', 'low'] : ['low', 'high'];
  }
  if (energies.includes(undefined) || energies.includes('single') || energies[0] === energies[1]) {
    throw new ConversionError(
      'incomplete_scan',
      `view ${id} has two images (${members.map((m) => m.image.fileName).join(', ')}) but they do not say which is the high and which the low energy`,
    );
  }
  return energies as Energy[];
}

/** ISO 8601 from DICOM DT or DA + TM, with TimezoneOffsetFromUTC when present (else read as UTC, warned). */
function acquisitionTime(image: DicomImage, warn: (w: string) => void): string | null {
  const { dateTime, date, time, tzOffset } = image.acquisition;
  let d: string | undefined;
  let t: string | undefined;
  let offset: string | undefined;
  if (dateTime) {
    const m = /^(\d{8})(\d{2,6}(?:\.\d+)?)?([+-]\d{4})?$/.exec(dateTime.trim());
    if (m) [, d, t, offset] = m;
  }
  if (!d && date && time) {
    d = date.replace(/[^0-9]/g, '');
    t = time.replace(/:/g, '').trim();
  }
  if (!d || !t || d.length !== 8) return null;
  const tm = /^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$/.exec(t);
  if (!tm) return null;
  const [, hh, mm = '00', ss = '00', frac] = tm;
  const year = d.slice(0, 4);
  const month = d.slice(4, 6);
  const day = d.slice(6, 8);
  if (+month < 1 || +month > 12 || +day < 1 || +day > 31 || +hh > 23 || +mm > 59 || +ss > 60) return null;
  offset = offset ?? (tzOffset && /^[+-]\d{4}$/.test(tzOffset.trim()) ? tzOffset.trim() : undefined);
  let zone = 'Z';
  if (offset) zone = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  else warn('the acquisition time has no UTC offset (TimezoneOffsetFromUTC 0008,0201 is absent): read as UTC');
  const fraction = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : '';
  return `${year}-${month}-${day}T${hh}:${mm}:${ss}${fraction}${zone}`;
}
