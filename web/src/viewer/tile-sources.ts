import type OpenSeadragon from 'openseadragon';
import type { Layer } from './types';

/**
 * Where the tiles of one view and layer come from. This is the seam for the 16-bit window/level work: a provider
 * may return a custom tile source (e.g. two-channel 16-bit PNG tiles) that a custom drawer understands.
 * `imageBase` is the path the image routes hang under: `/api/v1/scans/{id}` for a live scan,
 * `/api/v1/training/cases/{caseId}` for a training case (the same suffixes below both).
 */
export type TileSourceProvider = (imageBase: string, view: string, layer: Layer) => string | OpenSeadragon.TileSourceOptions | OpenSeadragon.TileSource;

/** The image routes of a live scan. */
export const scanImageBase = (scanId: string): string => `/api/v1/scans/${encodeURIComponent(scanId)}`;

/** The path of one view under an image base (`{base}/views/{view}`). */
export const viewPath = (imageBase: string, view: string): string => `${imageBase}/views/${encodeURIComponent(view)}`;

/** The service's 8-bit Deep Zoom pyramids: grey (transmission) and material (dual-energy colour map). */
export const deepZoom8Bit: TileSourceProvider = (imageBase, view, layer) => `${viewPath(imageBase, view)}/${layer === 'material' ? 'material/' : ''}tiles.dzi`;
