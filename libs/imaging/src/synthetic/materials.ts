/**
 * Attenuation of the synthetic scanner's two beams (Beer–Lambert, I = I0 · exp(−Σ μ·t)).
 *
 * The coefficients are effective mass attenuation coefficients (cm²/g) for the bremsstrahlung spectra of a 6 MV
 * ("high") and a 4 MV ("low") linear accelerator, not monoenergetic table values. At these energies pair
 * production grows with the atomic number Z, so the low/high ratio R = μ_low/μ_high FALLS as Z rises (the
 * opposite of kV baggage scanners):
 *
 *   class     typical Z_eff   R = μ_low/μ_high   examples
 *   organic   6–8             1.30               wood, paper, textiles, food, water, oil, rubber, drugs
 *   mixed     10–16           1.18               aluminium, glass, ceramics, soil
 *   metal     ≥ 20            1.06 (lead 0.95)   steel, copper, lead
 *
 * Because R = ln(I0/I_low) / ln(I0/I_high) for a single material, the material map classifies each pixel with
 * thresholds half-way between these ratios (see MATERIAL_RATIO_THRESHOLDS in ../material-map.ts: 1.24 and 1.12).
 * For a stack of materials the measured ratio is the attenuation-weighted mean of their ratios.
 */
export type MaterialClass = 'organic' | 'mixed' | 'metal';

export interface Material {
  name: string;
  materialClass: MaterialClass;
  /** Bulk density in g/cm³ (an effective one for porous goods: a pallet of boxes, a bundle of profiles). */
  density: number;
  /** Linear attenuation coefficient in 1/cm at the high energy. */
  muHigh: number;
  /** Linear attenuation coefficient in 1/cm at the low energy. */
  muLow: number;
}

/** Effective mass attenuation coefficients (cm²/g) per class: [high, low]. */
export const MASS_ATTENUATION: Record<MaterialClass | 'heavy', readonly [number, number]> = {
  organic: [0.029, 0.029 * 1.3],
  mixed: [0.027, 0.027 * 1.18],
  metal: [0.03, 0.03 * 1.06],
  /** Lead and other Z > 70 elements: classified as metal. */
  heavy: [0.044, 0.044 * 0.95],
};

export function material(name: string, kind: MaterialClass | 'heavy', density: number): Material {
  const [high, low] = MASS_ATTENUATION[kind];
  return {
    name,
    materialClass: kind === 'heavy' ? 'metal' : kind,
    density,
    muHigh: high * density,
    muLow: low * density,
  };
}

/** The same material at another (effective) density: a sparse load, a stack with gaps. */
export function withDensity(base: Material, density: number): Material {
  const scale = density / base.density;
  return { ...base, density, muHigh: base.muHigh * scale, muLow: base.muLow * scale };
}

export const STEEL = material('steel', 'metal', 7.85);
export const CAST_IRON = material('cast iron', 'metal', 7.2);
export const COPPER = material('copper', 'metal', 8.9);
export const LEAD = material('lead', 'heavy', 11.3);
export const ALUMINIUM = material('aluminium', 'mixed', 2.7);
export const GLASS = material('glass', 'mixed', 2.5);
export const CERAMIC = material('ceramic', 'mixed', 2.3);
export const WOOD = material('wood', 'organic', 0.55);
export const PLYWOOD = material('plywood', 'organic', 0.7);
export const RUBBER = material('rubber', 'organic', 1.15);
export const WATER = material('water', 'organic', 1.0);
export const DIESEL = material('diesel', 'organic', 0.84);
export const FOAM = material('seat foam', 'organic', 0.08);
