/** The image viewer of the workstation: everything OpenSeadragon- and WebGL-specific lives in this folder. */
export { ScanViewer, type DrawnRect, type ScanViewerOptions } from './scan-viewer';
export { deepZoom8Bit, scanImageBase, viewPath, type TileSourceProvider } from './tile-sources';
export { CATEGORIES, type Category, type Layer, type Region, type ViewInfo } from './types';
export { ImageTools, WINDOW_PRESETS, type ImageToolState, type MaterialFilter, type WindowPreset } from './image-tools';
export { imageToolShortcuts, imageToolbar } from './tool-controls';
