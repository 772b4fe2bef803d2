import OpenSeadragon from 'openseadragon';
import { h } from '../dom';
import { GlLayer } from './gl-layer';
import { ImageTools } from './image-tools';
import { deepZoom8Bit, type TileSourceProvider } from './tile-sources';
import type { Layer, Region, ViewInfo } from './types';

export type DrawnRect = Pick<Region, 'view' | 'x' | 'y' | 'width' | 'height'>;

export interface ScanViewerOptions {
  /** Where the image routes hang: `scanImageBase(scanId)` for a live scan, `/api/v1/training/cases/{caseId}` for a training case. */
  imageBase: string;
  views: ViewInfo[];
  /** Headers of every descriptor and tile request (the bearer token). */
  headers: () => Record<string, string>;
  /** Where tiles come from (default: the 8-bit Deep Zoom pyramids). */
  tileSource?: TileSourceProvider;
  /** The OpenSeadragon drawer: a custom (16-bit window/level WebGL) drawer plugs in here. */
  drawer?: OpenSeadragon.Options['drawer'];
  /** Draw from the lossless 16-bit tiles with WebGL2 when the browser can (default true); the 8-bit tiles stay beneath. */
  sixteenBit?: boolean;
  /** The image tool state (window/level, gamma, colouring, ...), shared by every view; one is made when absent. */
  tools?: ImageTools;
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
  gl?: GlLayer;
  firstDrawn: boolean;
  ruler: SVGSVGElement;
}

interface Ruler {
  view: string;
  a: OpenSeadragon.Point;
  b: OpenSeadragon.Point;
}

const SVG = 'http://www.w3.org/2000/svg';

const MIN_DRAG_PX = 4;
const FIRST_PAINT_GRACE_MS = 1500;

/**
 * Every view of one scan, stacked (top above side), panned and zoomed in step; grey or material colouring;
 * Shift+drag draws a rectangle in image pixels. OpenSeadragon draws the 8-bit JPEG tiles (first paint, and the
 * fallback without WebGL2); a GlLayer per view draws the lossless 16-bit tiles over them through the image tools
 * (window/level by right or Ctrl drag, gamma, invert, material colouring and filter, edges, density band,
 * magnifier), and the ruler measures in millimetres. Tile loading is counted on the element (data-*-tiles,
 * data-gl-*, data-first-tiles, data-drawn-serial) so the UI tests and benchmarks can wait on it.
 */
export class ScanViewer {
  readonly element: HTMLElement;
  private readonly panes: ViewPane[] = [];
  private layer: Layer = 'grey';
  private syncing = false;
  readonly tools: ImageTools;
  private ruler: Ruler | null = null;
  private readonly unsubscribe: () => void;
  /** Set when the 8-bit first paint did not come within FIRST_PAINT_GRACE_MS: the 16-bit tiles stop waiting for it. */
  private firstPaintLate = false;
  private readonly lateTimer: number;

  constructor(private readonly options: ScanViewerOptions) {
    this.element = h('div', { class: 'scan-viewer', 'data-layer': 'grey' });
    this.tools = options.tools ?? new ImageTools();
    for (const info of options.views) this.panes.push(this.createPane(info));
    this.element.dataset.gl = this.sixteenBit ? 'on' : 'off';
    this.lateTimer = window.setTimeout(() => {
      this.firstPaintLate = true;
      for (const pane of this.panes) pane.gl?.requestRender();
    }, FIRST_PAINT_GRACE_MS);
    this.unsubscribe = this.tools.onChange((state) => {
      if (!state.ruler && this.ruler) {
        this.ruler = null;
        this.drawRulers();
      }
      this.element.dataset.toolSerial = String(this.tools.serial);
    });
  }

  /** True when every view draws from the 16-bit tiles (WebGL2 available). */
  get sixteenBit(): boolean {
    return this.panes.length > 0 && this.panes.every((pane) => !!pane.gl);
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
    if (this.tools.state.material !== (layer === 'material')) this.tools.set({ material: layer === 'material' });
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
    this.marks = { regions, selected };
    this.drawOverlays();
  }

  /** The truth of a training case, shown after the answer (practice feedback): outlined in its own colour, not selectable. */
  setTruth(regions: Region[]): void {
    this.truth = regions;
    this.drawOverlays();
  }

  private drawOverlays(): void {
    for (const pane of this.panes) {
      for (const overlay of pane.overlays) pane.osd.removeOverlay(overlay);
      pane.overlays = [];
      const image = pane.grey;
      if (!image) continue;
      const add = (overlay: HTMLElement, region: Region) => {
        pane.osd.addOverlay(overlay, image.imageToViewportRectangle(region.x, region.y, region.width, region.height));
        pane.overlays.push(overlay);
      };
      this.truth.forEach((region, index) => {
        if (region.view !== pane.info.id) return;
        const category = region.category.replace('_', ' ');
        add(h('div', { class: 'region truth', 'data-truth': index, title: `truth: ${category}` }, h('span', { class: 'region-label' }, `truth: ${category}`)), region);
      });
      const { regions, selected } = this.marks;
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
        add(overlay, region);
      });
    }
  }

  destroy(): void {
    this.unsubscribe();
    window.clearTimeout(this.lateTimer);
    for (const pane of this.panes) {
      pane.gl?.destroy();
      pane.osd.destroy();
    }
    this.panes.length = 0;
    this.element.remove();
  }

  private marks: { regions: Region[]; selected: number | null } = { regions: [], selected: null };
  private truth: Region[] = [];

  private source(view: string, layer: Layer) {
    return (this.options.tileSource ?? deepZoom8Bit)(this.options.imageBase, view, layer);
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
    const ruler = document.createElementNS(SVG, 'svg');
    ruler.setAttribute('class', 'ruler-layer');
    host.append(ruler);
    const pane: ViewPane = { info, host, osd, overlays: [], firstDrawn: false, ruler };
    if (this.options.sixteenBit !== false) {
      const gl = new GlLayer({
        imageBase: this.options.imageBase,
        info,
        host,
        osd,
        tools: this.tools,
        headers: this.options.headers,
        image: () => pane.grey,
        mayFetch: () => !!this.element.dataset.firstTiles || this.firstPaintLate,
        onDrawn: () => this.drawn(pane),
      });
      if (gl.ok) pane.gl = gl;
      else gl.destroy();
    }
    osd.addHandler('tile-drawn', (event) => {
      if (event.tiledImage === pane.grey || event.tiledImage === pane.material) this.drawn(pane);
    });
    osd.addHandler('update-viewport', () => {
      if (this.ruler?.view === info.id) this.drawRulers();
    });
    osd.addHandler('open', () => {
      pane.grey = osd.world.getItemAt(0);
      this.drawOverlays();
      if (this.layer === 'material') this.setLayer('material');
    });
    osd.addHandler('tile-loaded', (event) => {
      const layer = event.tiledImage === pane.material ? 'material' : 'grey';
      const key = layer === 'material' ? 'materialTiles' : 'greyTiles';
      host.dataset[key] = String(Number(host.dataset[key] ?? 0) + 1);
    });
    osd.addHandler('viewport-change', () => this.follow(pane));
    this.enableDrawing(pane);
    this.enableTools(pane);
    return pane;
  }

  /**
   * Marks for tests and benchmarks: data-first-tiles (performance.now() when every view has drawn tiles, and the
   * performance mark niix-first-tiles) and data-drawn-serial (the tool state serial every 16-bit view has drawn).
   */
  private drawn(pane: ViewPane): void {
    pane.firstDrawn = true;
    if (!this.element.dataset.firstTiles && this.panes.every((candidate) => candidate.firstDrawn)) {
      this.element.dataset.firstTiles = String(performance.now());
      performance.mark('niix-first-tiles');
      for (const candidate of this.panes) candidate.gl?.requestRender();
    }
    const serial = String(this.tools.serial);
    if (this.element.dataset.drawnSerial !== serial && this.panes.every((candidate) => !candidate.gl || candidate.host.dataset.glSerial === serial)) {
      this.element.dataset.drawnSerial = serial;
      performance.mark('niix-tools-drawn');
    }
  }

  /** Window/level drag (right button, or Ctrl + left) and the ruler (left drag while the ruler tool is on). */
  private enableTools(pane: ViewPane): void {
    const { host } = pane;
    let drag: { x: number; y: number; id: number; kind: 'wl' | 'ruler' } | null = null;
    const local = (event: PointerEvent) => {
      const bounds = host.getBoundingClientRect();
      return new OpenSeadragon.Point(event.clientX - bounds.left, event.clientY - bounds.top);
    };
    host.addEventListener('contextmenu', (event) => event.preventDefault());
    host.addEventListener(
      'pointerdown',
      (event) => {
        if (event.shiftKey || drag) return;
        const wl = event.button === 2 || (event.button === 0 && event.ctrlKey);
        const ruler = event.button === 0 && !event.ctrlKey && this.tools.state.ruler && !!pane.grey;
        if (!wl && !ruler) return;
        event.stopPropagation();
        event.preventDefault();
        host.setPointerCapture(event.pointerId);
        drag = { x: event.clientX, y: event.clientY, id: event.pointerId, kind: wl ? 'wl' : 'ruler' };
        if (ruler) {
          const at = pane.grey!.viewerElementToImageCoordinates(local(event));
          this.ruler = { view: pane.info.id, a: at, b: at };
          this.drawRulers();
        }
      },
      true,
    );
    host.addEventListener(
      'pointermove',
      (event) => {
        if (!drag || event.pointerId !== drag.id) return;
        event.stopPropagation();
        if (drag.kind === 'wl') {
          this.tools.drag(event.clientX - drag.x, event.clientY - drag.y);
          drag.x = event.clientX;
          drag.y = event.clientY;
        } else if (this.ruler && pane.grey) {
          this.ruler.b = pane.grey.viewerElementToImageCoordinates(local(event));
          this.drawRulers();
        }
      },
      true,
    );
    const finish = (event: PointerEvent) => {
      if (!drag || event.pointerId !== drag.id) return;
      event.stopPropagation();
      drag = null;
    };
    host.addEventListener('pointerup', finish, true);
    host.addEventListener('pointercancel', finish, true);
  }

  /** The ruler's line and length (millimetres from the manifest's pixel spacing, else pixels). */
  get rulerLength(): { mm: number | null; px: number } | null {
    if (!this.ruler) return null;
    const pane = this.panes.find((candidate) => candidate.info.id === this.ruler!.view);
    const dx = this.ruler.b.x - this.ruler.a.x;
    const dy = this.ruler.b.y - this.ruler.a.y;
    const spacing = pane?.info.pixelSpacingMm;
    return { px: Math.hypot(dx, dy), mm: spacing ? Math.hypot(dx * spacing.x, dy * spacing.y) : null };
  }

  private drawRulers(): void {
    for (const pane of this.panes) {
      pane.ruler.replaceChildren();
      if (!this.ruler || this.ruler.view !== pane.info.id || !pane.grey) continue;
      const a = pane.grey.imageToViewerElementCoordinates(this.ruler.a);
      const b = pane.grey.imageToViewerElementCoordinates(this.ruler.b);
      const length = this.rulerLength!;
      const text = length.mm !== null ? `${formatLength(length.mm)}` : `${Math.round(length.px)} px`;
      const line = document.createElementNS(SVG, 'line');
      for (const [name, value] of Object.entries({ x1: a.x, y1: a.y, x2: b.x, y2: b.y })) line.setAttribute(name, String(value));
      const label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', String(b.x + 8));
      label.setAttribute('y', String(b.y - 8));
      label.textContent = text;
      pane.ruler.append(line, label);
      pane.ruler.dataset.length = text;
      this.element.dataset.rulerMm = length.mm !== null ? length.mm.toFixed(1) : '';
    }
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

function formatLength(mm: number): string {
  const format = (value: number, digits: number) => value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return mm >= 1000 ? `${format(mm / 1000, 2)} m` : `${format(mm, mm >= 100 ? 0 : 1)} mm`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
