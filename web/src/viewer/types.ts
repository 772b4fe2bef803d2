export type Layer = 'grey' | 'material';

export const CATEGORIES = ['weapons', 'explosives', 'narcotics', 'tobacco', 'alcohol', 'currency', 'undeclared_goods', 'concealment', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

/** A marked region, in image pixels of one view (what the verdict carries). */
export interface Region {
  view: string;
  x: number;
  y: number;
  width: number;
  height: number;
  category: Category;
  note: string;
}

export interface ViewInfo {
  id: string;
  width: number;
  height: number;
  /** Dual energy: a material map exists. */
  hasMaterial: boolean;
  /** Plane value of unobstructed air (manifest); the 16-bit shader's attenuation reference. */
  airValue?: number;
  /** Physical size of one pixel (manifest); the ruler measures in millimetres when known. */
  pixelSpacingMm?: { x: number; y: number } | null;
  /** Energies of the view's planes (high/low, or single): which 16-bit tiles exist. */
  energies?: string[];
}
