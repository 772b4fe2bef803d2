import { DISPLAY_MAX_ATTENUATION } from './shaders';

/** Single-material filter of the dual-energy colouring: every class, or one class coloured and the rest grey. */
export type MaterialFilter = 'all' | 'organic' | 'mixed' | 'metal';
export const MATERIAL_FILTERS: MaterialFilter[] = ['all', 'organic', 'mixed', 'metal'];

/**
 * Window/level presets in log-attenuation units A = ln(air / value) (0 = air, ln 1500 ≈ 7.3 = the practical
 * penetration limit): `level` is the centre of the window, `window` its width. "Full" reproduces the 8-bit tiles'
 * mapping (libs/imaging/src/display.ts greyLut), so the 16-bit layer replaces the first paint without a jump.
 */
export const WINDOW_PRESETS = {
  full: { label: 'Full range', level: DISPLAY_MAX_ATTENUATION / 2, window: DISPLAY_MAX_ATTENUATION },
  thin: { label: 'Thin goods', level: 1.0, window: 2.0 },
  medium: { label: 'Medium', level: 3.0, window: 2.5 },
  dense: { label: 'Dense cargo', level: 5.2, window: 3.0 },
} as const;
export type WindowPreset = keyof typeof WINDOW_PRESETS;

export const GAMMAS = [1, 1.5, 2.2, 0.7] as const;

export const BAND_WIDTH = 0.3;

/** Everything the shader needs besides the tiles; shared by every view of the case. */
export interface ImageToolState {
  level: number;
  window: number;
  gamma: number;
  invert: boolean;
  material: boolean;
  filter: MaterialFilter;
  edges: boolean;
  band: boolean;
  /** Centre of the highlighted density band, log-attenuation. */
  bandCentre: number;
  magnifier: boolean;
  ruler: boolean;
}

export function defaultToolState(): ImageToolState {
  return {
    level: WINDOW_PRESETS.full.level,
    window: WINDOW_PRESETS.full.window,
    gamma: 1,
    invert: false,
    material: false,
    filter: 'all',
    edges: false,
    band: false,
    bandCentre: 2,
    magnifier: false,
    ruler: false,
  };
}

/** The tool state with change notification; every change bumps `serial` (the viewer marks which serial it drew). */
export class ImageTools {
  state: ImageToolState = defaultToolState();
  serial = 0;
  private readonly listeners = new Set<(state: ImageToolState) => void>();

  onChange(listener: (state: ImageToolState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(patch: Partial<ImageToolState>): void {
    const next = { ...this.state, ...patch };
    next.window = clamp(next.window, 0.05, 20);
    next.level = clamp(next.level, -2, 12);
    next.bandCentre = clamp(next.bandCentre, 0, DISPLAY_MAX_ATTENUATION);
    this.state = next;
    this.serial++;
    for (const listener of this.listeners) listener(next);
  }

  preset(name: WindowPreset): void {
    this.set({ level: WINDOW_PRESETS[name].level, window: WINDOW_PRESETS[name].window });
  }

  /** Window/level drag: right and left change the width (contrast), up and down the centre (brightness). */
  drag(dx: number, dy: number): void {
    this.set({ window: this.state.window * Math.exp(dx * 0.005), level: this.state.level + dy * this.state.window * 0.004 });
  }

  cycleGamma(): void {
    const index = GAMMAS.findIndex((gamma) => Math.abs(gamma - this.state.gamma) < 1e-6);
    this.set({ gamma: GAMMAS[(index + 1) % GAMMAS.length] });
  }

  cycleFilter(): void {
    const index = MATERIAL_FILTERS.indexOf(this.state.filter);
    this.set({ filter: MATERIAL_FILTERS[(index + 1) % MATERIAL_FILTERS.length] });
  }

  reset(): void {
    const { material } = this.state;
    this.set({ ...defaultToolState(), material });
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
