import type OpenSeadragon from 'openseadragon';
import type { Layer } from './types';

/**
 * Where the tiles of one view and layer come from. This is the seam for the 16-bit window/level work: a provider
 * may return a custom tile source (e.g. two-channel 16-bit PNG tiles) that a custom drawer understands.
 */
export type TileSourceProvider = (scanId: string, view: string, layer: Layer) => string | OpenSeadragon.TileSourceOptions | OpenSeadragon.TileSource;

/** The service's 8-bit Deep Zoom pyramids: grey (transmission) and material (dual-energy colour map). */
export const deepZoom8Bit: TileSourceProvider = (scanId, view, layer) =>
  `/api/v1/scans/${encodeURIComponent(scanId)}/views/${encodeURIComponent(view)}/${layer === 'material' ? 'material/' : ''}tiles.dzi`;
