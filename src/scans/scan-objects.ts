/**
 * Where a scan's objects live in storage; the one place that spells the keys.
 *   scans/<id>/original/<n>                    the unchanged uploaded files (chain of custody)
 *   scans/<id>/package/manifest.json           the exchange package
 *   scans/<id>/package/views/<view>/<energy>.png
 *   scans/<id>/renditions/<view>/<name>        viewer images (display, thumbnail, tiles, material map)
 */
export const scanObjects = {
  prefix: (scanId: string) => `scans/${scanId}/`,
  original: (scanId: string, position: number) => `scans/${scanId}/original/${position}`,
  packagePart: (scanId: string, path: string) => `scans/${scanId}/package/${path}`,
  rendition: (scanId: string, viewId: string, name: RenditionName) => `scans/${scanId}/renditions/${viewId}/${name}`,
};

/** The grey image and the material map each have a display image, a thumbnail and a tile pyramid. */
export const LAYERS = ['grey', 'material'] as const;
export type Layer = (typeof LAYERS)[number];

export type RenditionName = `${Layer}-${'display.jpg' | 'thumbnail.jpg' | 'tiles.dzi' | 'tiles.bin' | 'tiles.json'}`;
