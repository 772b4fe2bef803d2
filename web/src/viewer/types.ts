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
}
