/** UIDs and constants shared by the DICOS reader and writer. */

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  jpegLs: '1.2.840.10008.1.2.4.80',
  jpegLsNear: '1.2.840.10008.1.2.4.81',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  rle: '1.2.840.10008.1.2.5',
} as const;

/** DICOS storage SOP classes (NEMA IIC 1, registered in PS3.6 under 1.2.840.10008.5.1.4.1.1.501). */
export const DICOS_SOP_CLASS = {
  ct: '1.2.840.10008.5.1.4.1.1.501.1',
  dxForPresentation: '1.2.840.10008.5.1.4.1.1.501.2.1',
  dxForProcessing: '1.2.840.10008.5.1.4.1.1.501.2.2',
  threatDetectionReport: '1.2.840.10008.5.1.4.1.1.501.3',
  ait2d: '1.2.840.10008.5.1.4.1.1.501.4',
  ait3d: '1.2.840.10008.5.1.4.1.1.501.5',
  quadrupoleResonance: '1.2.840.10008.5.1.4.1.1.501.6',
} as const;

export const DICOS_SOP_CLASS_PREFIX = '1.2.840.10008.5.1.4.1.1.501.';

/** Private creator of niix's private block in group 0009 (air value, view id, energy). */
export const NIIX_PRIVATE_CREATOR = 'NIIX 1.0';

/** UID root used for UIDs niix generates (2.25: UUID-derived, PS3.5 B.2). */
export const UUID_UID_ROOT = '2.25';
