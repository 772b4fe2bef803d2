import OpenSeadragon from 'openseadragon';
import { h } from '../dom';
import { deepZoom8Bit, type TileSourceProvider } from './tile-sources';
import type { Layer, Region, ViewInfo } from './types';

export type DrawnRect = Pick<Region, 'view' | 'x' | 'y' | 'width' | 'height'>;

export interface ScanViewerOptions {
  scanId: string;
  views: ViewInfo[];
  /** Headers of every descriptor and tile request (the bearer token). */
  headers: () => Record<string, string>;
  /** Where tiles come from (default: the 8-bit Deep Zoom pyramids). */
  tileSource?: TileSourceProvider;
  /** The OpenSeadragon drawer: a custom (16-bit window/level WebGL) drawer plugs in here. */
  drawer?: OpenSeadragon.Options['drawer'];
  onRegionDrawn(rect: DrawnRect): void;
  onRegionClicked(index: number): void;
}

interface ViewPane {
  info: ViewInfo;
  host: HTMLElement;
  osd: OpenSeadragon.Viewer;
  grey?: OpenSeadragon.TiledImage;
  material?: OpenSeadragon.TiledImage;
  overlays: HTMLElement[];
}

const MIN_DRAG_PX = 4;

/**
 * Every view of one scan, stacked (top above side), panned and zoomed in step; grey or material colouring;
 * Shift+drag draws a rectangle in image pixels. Tile loading is counted on the element (data-*-tiles) so the
 * UI tests and benchmarks can wait on it.
 */
export class ScanViewer {
  readonly element: HTMLElement;
  private readonly panes: ViewPane[] = [];
  private layer: Layer = 'grey';
  private syncing = false;

  constructor(private readonly options: ScanViewerOptions) {
    this.element = h('div', { class: 'scan-viewer', 'data-layer': 'grey' });
    for (const info of options.views) this.panes.push(this.createPane(info));
  }

  get currentLayer(): Layer {
    return this.layer;
  }

  get hasMaterial(): boolean {
    return this.panes.some((pane) => pane.info.hasMaterial);
  }

  setLayer(layer: Layer): void {
    if (layer === 'material' && !this.hasMaterial) return;
    this.layer = layer;
    this.element.dataset.layer = layer;
    for (const pane of this.panes) {
      if (layer === 'material' && pane.info.hasMaterial && !pane.material) {
        pane.osd.addTiledImage({
          tileSource: this.source(pane.info.id, 'material'),
          index: 1,
          success: (event) => {
            pane.material = (event as unknown as { item: OpenSeadragon.TiledImage }).item;
            this.showLayer(pane);
          },
        });
      }
      this.showLayer(pane);
    }
  }

  toggleLayer(): void {
    this.setLayer(this.layer === 'grey' ? 'material' : 'grey');
  }

  home(): void {
    for (const pane of this.panes) pane.osd.viewport.goHome(true);
  }

  zoomBy(factor: number): void {
    this.panes[0]?.osd.viewport.zoomBy(factor);
  }

  /** Shows the regions as overlays (kept in place by OpenSeadragon while panning and zooming). */
  setRegions(regions: Region[], selected: number | null): void {
    for (const pane of this.panes) {
      for (const overlay of pane.overlays) pane.osd.removeOverlay(overlay);
      pane.overlays = [];
      const image = pane.grey;
      if (!image) continue;
      regions.forEach((region, index) => {
        if (region.view !== pane.info.id) return;
        const overlay = h(
          'div',
          { class: `region${index === selected ? ' selected' : ''}`, 'data-region': index, title: region.category },
          h('span', { class: 'region-label' }, `${index + 1} ${region.category.replace('_', ' ')}`),
        );
        overlay.addEventListener('pointerdown', (event) => {
          if (event.shiftKey) return;
          event.stopPropagation();
          this.options.onRegionClicked(index);
        });
        pane.osd.addOverlay(overlay, image.imageToViewportRectangle(region.x, region.y, region.width, region.height));
        pane.overlays.push(overlay);
      });
    }
    this.pendingRegions = { regions, selected };
  }

  destroy(): void {
    for (const pane of this.panes) pane.osd.destroy();
    this.panes.length = 0;
    this.element.remove();
  }

  private pendingRegions: { regions: Region[]; selected: number | null } | null = null;

  private source(view: string, layer: Layer) {
    return (this.options.tileSource ?? deepZoom8Bit)(this.options.scanId, view, layer);
  }

  private createPane(info: ViewInfo): ViewPane {
    const host = h('div', { class: 'view-pane', 'data-view': info.id, 'data-grey-tiles': 0, 'data-material-tiles': 0 });
    const label = h('div', { class: 'view-label' }, info.id);
    const wrapper = h('div', { class: 'view', style: `flex: 1 1 0` }, host, label);
    this.element.append(wrapper);
    const osd = OpenSeadragon({
      element: host,
      drawer: this.options.drawer ?? 'canvas',
      loadTilesWithAjax: true,
      ajaxHeaders: this.options.headers(),
      showNavigationControl: false,
      showNavigator: info.width / info.height > 4,
      navigatorPosition: 'BOTTOM_RIGHT',
      navigatorHeight: '40px',
      navigatorWidth: '220px',
      navigatorBackground: '#0b0d10',
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      visibilityRatio: 0.5,
      minZoomImageRatio: 0.5,
      maxZoomPixelRatio: 8,
      animationTime: 0.25,
      imageSmoothingEnabled: false,
      preserveImageSizeOnResize: true,
      keyboardNavEnabled: false,
      tileSources: this.source(info.id, 'grey') as OpenSeadragon.Options['tileSources'],
    });
    const pane: ViewPane = { info, host, osd, overlays: [] };
    osd.addHandler('open', () => {
      pane.grey = osd.world.getItemAt(0);
      if (this.pendingRegions) this.setRegions(this.pendingRegions.regions, this.pendingRegions.selected);
      if (this.layer === 'material') this.setLayer('material');
    });
    osd.addHandler('tile-loaded', (event) => {
      const layer = event.tiledImage === pane.material ? 'material' : 'grey';
      const key = layer === 'material' ? 'materialTiles' : 'greyTiles';
      host.dataset[key] = String(Number(host.dataset[key] ?? 0) + 1);
    });
    osd.addHandler('viewport-change', () => this.follow(pane));
    this.enableDrawing(pane);
    return pane;
  }

  private showLayer(pane: ViewPane): void {
    const material = this.layer === 'material' && !!pane.material;
    pane.grey?.setOpacity(material ? 0 : 1);
    pane.material?.setOpacity(material ? 1 : 0);
  }

  /** Pans and zooms the other views to the same place (same zoom, same relative position along and across). */
  private follow(leader: ViewPane): void {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const zoom = leader.osd.viewport.getZoom(true);
      const center = leader.osd.viewport.getCenter(true);
      const leaderAspect = leader.info.height / leader.info.width;
      for (const pane of this.panes) {
        if (pane === leader) continue;
        const aspect = pane.info.height / pane.info.width;
        pane.osd.viewport.zoomTo(zoom, undefined, true);
        pane.osd.viewport.panTo(new OpenSeadragon.Point(center.x, (center.y / leaderAspect) * aspect), true);
      }
    } finally {
      this.syncing = false;
    }
  }

  /** Shift+drag draws a rectangle; plain drag still pans. */
  private enableDrawing(pane: ViewPane): void {
    const { host } = pane;
    let start: { x: number; y: number; id: number } | null = null;
    let box: HTMLElement | null = null;
    const local = (event: PointerEvent) => {
      const bounds = host.getBoundingClientRect();
      return { x: event.clientX - bounds.left, y: event.clientY - bounds.top };
    };
    host.addEventListener(
      'pointerdown',
      (event) => {
        if (!event.shiftKey || event.button !== 0 || !pane.grey) return;
        event.stopPropagation();
        event.preventDefault();
        host.setPointerCapture(event.pointerId);
        const point = local(event);
        start = { ...point, id: event.pointerId };
        box = h('div', { class: 'drawing', style: `left:${point.x}px;top:${point.y}px;width:0;height:0` });
        host.append(box);
      },
      true,
    );
    host.addEventListener(
      'pointermove',
      (event) => {
        if (!start || !box || event.pointerId !== start.id) return;
        event.stopPropagation();
        const point = local(event);
        Object.assign(box.style, {
          left: `${Math.min(start.x, point.x)}px`,
          top: `${Math.min(start.y, point.y)}px`,
          width: `${Math.abs(point.x - start.x)}px`,
          height: `${Math.abs(point.y - start.y)}px`,
        });
      },
      true,
    );
    const finish = (event: PointerEvent) => {
      if (!start || event.pointerId !== start.id) return;
      event.stopPropagation();
      const end = local(event);
      const from = start;
      start = null;
      box?.remove();
      box = null;
      if (Math.abs(end.x - from.x) < MIN_DRAG_PX || Math.abs(end.y - from.y) < MIN_DRAG_PX || event.type === 'pointercancel') return;
      const image = pane.grey!;
      const a = image.viewerElementToImageCoordinates(new OpenSeadragon.Point(Math.min(from.x, end.x), Math.min(from.y, end.y)));
      const b = image.viewerElementToImageCoordinates(new OpenSeadragon.Point(Math.max(from.x, end.x), Math.max(from.y, end.y)));
      const x0 = clamp(Math.floor(a.x), 0, pane.info.width - 1);
      const y0 = clamp(Math.floor(a.y), 0, pane.info.height - 1);
      const x1 = clamp(Math.ceil(b.x), x0 + 1, pane.info.width);
      const y1 = clamp(Math.ceil(b.y), y0 + 1, pane.info.height);
      this.options.onRegionDrawn({ view: pane.info.id, x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    };
    host.addEventListener('pointerup', finish, true);
    host.addEventListener('pointercancel', finish, true);
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
