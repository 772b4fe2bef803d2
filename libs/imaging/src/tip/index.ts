/**
 * Threat image projection (TIP): threat items (small dual-energy images of one object each, with a mask) and their
 * Beer–Lambert projection into scan views. Framework-free; the starter library lives in ../synthetic/threat-items.ts.
 */
export {
  DERIVED_MASK_THRESHOLD,
  MAX_THREAT_ITEM_SIDE,
  PREVIEW_MAX_SIDE,
  ThreatItemError,
  decodeThreatItem,
  encodeThreatItem,
  threatItemFromPlanes,
  threatItemPreview,
  validateThreatItem,
  type ThreatItemImage,
} from './threat-item.js';
export {
  MAX_PLACEMENT_TRIES,
  PLACEMENT_TRANSMISSION_RANGE,
  RANDOM_SCALE_RANGE,
  placeItem,
  projectThreat,
  randomPlacement,
  type DualEnergyView,
  type PlacedItem,
  type Placement,
} from './project-threat.js';
