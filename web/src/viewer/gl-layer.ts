import OpenSeadragon from 'openseadragon';
import { type ImageTools, BAND_WIDTH } from './image-tools';
import { FRAGMENT_SHADER, VERTEX_SHADER } from './shaders';
import { viewPath } from './tile-sources';
import type { ViewInfo } from './types';

/** Geometry of the lossless 16-bit pyramids (libs/imaging/src/plane-tiles.ts, deep-zoom.ts). */
const TILE = 254;
const OVERLAP = 1;
const MAX_FETCHES = 6;
const MAX_TILES = 320;
/** Coarsest level always fetched first: the whole view in a handful of tiles, the fallback at any zoom. */
const BASE_SIDE = 600;
const MAGNIFIER_PX = 220;
const MAGNIFIER_ZOOM = 3;

interface PlaneTexture {
  texture?: WebGLTexture;
  loading?: boolean;
  failed?: boolean;
}

interface TileEntry {
  key: string;
  level: number;
  col: number;
  row: number;
  high: PlaneTexture;
  low: PlaneTexture;
  used: number;
}

interface Want {
  entry: TileEntry;
  plane: 'high' | 'low';
  priority: number;
}

export interface GlLayerOptions {
  /** Where the image routes hang (tile-sources.ts): the 16-bit tiles are `{imageBase}/views/{view}/planes/...`. */
  imageBase: string;
  info: ViewInfo;
  host: HTMLElement;
  osd: OpenSeadragon.Viewer;
  tools: ImageTools;
  headers: () => Record<string, string>;
  image: () => OpenSeadragon.TiledImage | undefined;
  /** False until the 8-bit first paint is on screen: the 16-bit tiles wait so they do not delay it. */
  mayFetch: () => boolean;
  /** After every frame that drew 16-bit tiles. */
  onDrawn(tiles: number): void;
}

/**
 * A WebGL2 layer over one OpenSeadragon pane that draws the view from its lossless 16-bit tiles (R = high byte,
 * G = low byte), with window/level, gamma, invert, dual-energy material colouring, edge enhancement, a density band
 * and a magnifier applied by the fragment shader. OpenSeadragon keeps the navigation and draws the 8-bit JPEG tiles
 * beneath (first paint and fallback): wherever this layer has no 16-bit tile yet it stays transparent. It follows
 * OpenSeadragon's viewport (drawn in its update-viewport event, the same frame) and picks its own pyramid level and
 * tiles; a tool change only sets uniforms and redraws the textures it holds — nothing is fetched again.
 */
export class GlLayer {
  readonly canvas: HTMLCanvasElement;
  readonly ok: boolean;
  private readonly gl: WebGL2RenderingContext | null;
  private program: WebGLProgram | null = null;
  private uniforms: Record<string, WebGLUniformLocation | null> = {};
  private readonly tiles = new Map<string, TileEntry>();
  private wants: Want[] = [];
  private fetching = 0;
  private frame = 0;
  private scheduled = 0;
  private destroyed = false;
  private readonly maxLevel: number;
  private readonly baseLevel: number;
  private readonly highEnergy: string;
  private readonly hasLow: boolean;
  private pointer: { x: number; y: number } | null = null;
  private transform: { x: number; y: number; scale: number } | null = null;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly options: GlLayerOptions) {
    const { info } = options;
    this.maxLevel = Math.ceil(Math.log2(Math.max(info.width, info.height, 1)));
    this.baseLevel = Math.max(0, this.maxLevel - Math.max(0, Math.ceil(Math.log2(Math.max(info.width, info.height) / BASE_SIDE))));
    this.highEnergy = info.energies?.includes('high') ? 'high' : info.energies?.includes('single') ? 'single' : 'high';
    this.hasLow = !!info.energies?.includes('low');
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'gl-layer';
    this.gl = this.canvas.getContext('webgl2', { alpha: true, premultipliedAlpha: true, antialias: false, depth: false, stencil: false, preserveDrawingBuffer: false });
    this.ok = !!this.gl && this.setup(this.gl);
    if (!this.ok) return;
    // between OpenSeadragon's drawing canvas and its overlays (the regions stay on top)
    const drawerCanvas = options.osd.drawer.canvas;
    drawerCanvas.insertAdjacentElement('afterend', this.canvas);
    const onViewport = () => this.render();
    options.osd.addHandler('update-viewport', onViewport);
    this.cleanups.push(() => options.osd.removeHandler('update-viewport', onViewport));
    const resize = new ResizeObserver(() => this.requestRender());
    resize.observe(options.host);
    this.cleanups.push(() => resize.disconnect());
    this.cleanups.push(options.tools.onChange(() => this.requestRender()));
    this.canvas.addEventListener('webglcontextlost', () => {
      this.canvas.hidden = true;
      this.options.host.dataset.gl = 'lost';
    });
    const move = (event: PointerEvent) => {
      const bounds = options.host.getBoundingClientRect();
      this.pointer = { x: event.clientX - bounds.left, y: event.clientY - bounds.top };
      if (options.tools.state.magnifier) this.requestRender();
    };
    const leave = () => {
      this.pointer = null;
      if (options.tools.state.magnifier) this.requestRender();
    };
    options.host.addEventListener('pointermove', move, true);
    options.host.addEventListener('pointerleave', leave);
    this.cleanups.push(() => {
      options.host.removeEventListener('pointermove', move, true);
      options.host.removeEventListener('pointerleave', leave);
    });
    options.host.dataset.gl = 'on';
    options.host.dataset.glMaxLevel = String(this.maxLevel);
  }

  /** Element px of image pixel (0, 0) and element px per image px, as last drawn. */
  get lastTransform(): { x: number; y: number; scale: number } | null {
    return this.transform;
  }

  get pointerPosition(): { x: number; y: number } | null {
    return this.pointer;
  }

  requestRender(): void {
    if (this.scheduled || this.destroyed || !this.ok) return;
    this.scheduled = requestAnimationFrame(() => {
      this.scheduled = 0;
      this.render();
    });
  }

  destroy(): void {
    this.destroyed = true;
    if (this.scheduled) cancelAnimationFrame(this.scheduled);
    for (const cleanup of this.cleanups) cleanup();
    const gl = this.gl;
    if (gl) {
      for (const entry of this.tiles.values()) this.release(entry);
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
    this.tiles.clear();
    this.canvas.remove();
  }

  private setup(gl: WebGL2RenderingContext): boolean {
    const compile = (type: number, source: string) => {
      const shader = gl.createShader(type)!;
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        console.error('niix viewer: shader', gl.getShaderInfoLog(shader));
        return null;
      }
      return shader;
    };
    const vertex = compile(gl.VERTEX_SHADER, VERTEX_SHADER);
    const fragment = compile(gl.FRAGMENT_SHADER, FRAGMENT_SHADER);
    if (!vertex || !fragment) return false;
    const program = gl.createProgram();
    gl.attachShader(program, vertex);
    gl.attachShader(program, fragment);
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
      console.error('niix viewer: program', gl.getProgramInfoLog(program));
      return false;
    }
    this.program = program;
    gl.useProgram(program);
    for (const name of ['uOrigin', 'uScale', 'uCanvas', 'uRect', 'uTex', 'uHigh', 'uLow', 'uAir', 'uLevel', 'uWindow', 'uGamma', 'uInvert', 'uMaterial', 'uFilter', 'uEdges', 'uBand', 'uBandRange']) {
      this.uniforms[name] = gl.getUniformLocation(program, name);
    }
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    const corner = gl.getAttribLocation(program, 'aCorner');
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    gl.enableVertexAttribArray(corner);
    gl.vertexAttribPointer(corner, 2, gl.FLOAT, false, 0, 0);
    gl.uniform1i(this.uniforms.uHigh, 0);
    gl.uniform1i(this.uniforms.uLow, 1);
    // a 1 x 1 texture stands in for a missing low plane (material off)
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array([0, 0, 0, 255]));
    this.blank = gl.getParameter(gl.TEXTURE_BINDING_2D) as WebGLTexture;
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    return true;
  }

  private blank: WebGLTexture | null = null;

  private levelSize(level: number): { width: number; height: number } {
    const scale = 2 ** (this.maxLevel - level);
    return { width: Math.max(1, Math.ceil(this.options.info.width / scale)), height: Math.max(1, Math.ceil(this.options.info.height / scale)) };
  }

  /** The image-pixel rectangle a tile covers, overlap included. */
  private tileRect(level: number, col: number, row: number): [number, number, number, number] {
    const size = this.levelSize(level);
    const scale = 2 ** (this.maxLevel - level);
    const x0 = Math.max(0, col * TILE - OVERLAP);
    const y0 = Math.max(0, row * TILE - OVERLAP);
    const x1 = Math.min(size.width, (col + 1) * TILE + OVERLAP);
    const y1 = Math.min(size.height, (row + 1) * TILE + OVERLAP);
    const { width, height } = this.options.info;
    const left = x0 * scale;
    const top = y0 * scale;
    return [left, top, Math.min(width, x1 * scale) - left, Math.min(height, y1 * scale) - top];
  }

  private entry(level: number, col: number, row: number): TileEntry {
    const key = `${level}/${col}_${row}`;
    let entry = this.tiles.get(key);
    if (!entry) {
      entry = { key, level, col, row, high: {}, low: {}, used: 0 };
      this.tiles.set(key, entry);
    }
    return entry;
  }

  private ready(entry: TileEntry, material: boolean): boolean {
    return !!entry.high.texture && (!material || !!entry.low.texture);
  }

  private render(): void {
    if (!this.ok || this.destroyed) return;
    if (this.scheduled) {
      cancelAnimationFrame(this.scheduled);
      this.scheduled = 0;
    }
    const gl = this.gl!;
    const image = this.options.image();
    const host = this.options.host;
    const cssWidth = host.clientWidth;
    const cssHeight = host.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(cssWidth * dpr));
    const height = Math.max(1, Math.round(cssHeight * dpr));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    gl.viewport(0, 0, width, height);
    gl.disable(gl.SCISSOR_TEST);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!image || cssWidth === 0 || cssHeight === 0) return;
    this.frame++;
    const { info, tools } = this.options;
    const state = tools.state;
    const material = state.material && this.hasLow;
    const origin = image.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const far = image.imageToViewerElementCoordinates(new OpenSeadragon.Point(info.width, 0));
    const scale = (far.x - origin.x) / info.width;
    if (!(scale > 0)) return;
    this.transform = { x: origin.x, y: origin.y, scale };
    host.dataset.glTransform = `${origin.x.toFixed(3)},${origin.y.toFixed(3)},${scale.toFixed(6)}`;

    // the level whose pixels are at least as fine as the screen's
    const level = clamp(Math.ceil(this.maxLevel + Math.log2(scale * dpr) - 1e-6), this.baseLevel, this.maxLevel);
    const { draw, wants } = this.plan(level, origin, scale, cssWidth, cssHeight, material);
    this.wants = wants;
    this.pump();

    const u = this.uniforms;
    gl.useProgram(this.program);
    gl.uniform2f(u.uOrigin, origin.x, origin.y);
    gl.uniform1f(u.uScale, scale);
    gl.uniform2f(u.uCanvas, cssWidth, cssHeight);
    gl.uniform1f(u.uAir, info.airValue ?? 60000);
    gl.uniform1f(u.uLevel, state.level);
    gl.uniform1f(u.uWindow, state.window);
    gl.uniform1f(u.uGamma, state.gamma);
    gl.uniform1i(u.uInvert, state.invert ? 1 : 0);
    gl.uniform1i(u.uMaterial, material ? 1 : 0);
    gl.uniform1i(u.uFilter, ['all', 'organic', 'mixed', 'metal'].indexOf(state.filter));
    gl.uniform1i(u.uEdges, state.edges ? 1 : 0);
    gl.uniform1i(u.uBand, state.band ? 1 : 0);
    gl.uniform2f(u.uBandRange, state.bandCentre - BAND_WIDTH / 2, state.bandCentre + BAND_WIDTH / 2);
    this.drawTiles(draw, material);

    if (state.magnifier && this.pointer) {
      const { x, y } = this.pointer;
      const half = MAGNIFIER_PX / 2;
      const frame = 2;
      gl.enable(gl.SCISSOR_TEST);
      gl.scissor(Math.round((x - half - frame) * dpr), Math.round((cssHeight - y - half - frame) * dpr), Math.round((MAGNIFIER_PX + 2 * frame) * dpr), Math.round((MAGNIFIER_PX + 2 * frame) * dpr));
      gl.clearColor(1, 0.835, 0.29, 1);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.scissor(Math.round((x - half) * dpr), Math.round((cssHeight - y - half) * dpr), Math.round(MAGNIFIER_PX * dpr), Math.round(MAGNIFIER_PX * dpr));
      gl.clearColor(0, 0, 0, 1);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.uniform2f(u.uOrigin, x + (origin.x - x) * MAGNIFIER_ZOOM, y + (origin.y - y) * MAGNIFIER_ZOOM);
      gl.uniform1f(u.uScale, scale * MAGNIFIER_ZOOM);
      this.drawTiles(draw, material);
      gl.disable(gl.SCISSOR_TEST);
    }

    host.dataset.glLens = state.magnifier && this.pointer ? `${Math.round(this.pointer.x)},${Math.round(this.pointer.y)}` : '';
    const drawn = draw.filter((entry) => entry.level === level).length;
    host.dataset.glLevel = String(level);
    host.dataset.glTiles = String(drawn);
    host.dataset.glPending = String(wants.length + this.fetching);
    host.dataset.glSerial = String(tools.serial);
    this.evict();
    if (draw.length) this.options.onDrawn(drawn);
  }

  /** Which held tiles to draw (coarser stand-ins first) and which to fetch (nearest the centre first). */
  private plan(level: number, origin: OpenSeadragon.Point, scale: number, cssWidth: number, cssHeight: number, material: boolean): { draw: TileEntry[]; wants: Want[] } {
    const { info } = this.options;
    const left = clamp(-origin.x / scale, 0, info.width);
    const right = clamp((cssWidth - origin.x) / scale, 0, info.width);
    const top = clamp(-origin.y / scale, 0, info.height);
    const bottom = clamp((cssHeight - origin.y) / scale, 0, info.height);
    const wants: Want[] = [];
    const want = (entry: TileEntry, priority: number) => {
      if (!entry.high.texture && !entry.high.loading && !entry.high.failed) wants.push({ entry, plane: 'high', priority });
      if (material && !entry.low.texture && !entry.low.loading && !entry.low.failed) wants.push({ entry, plane: 'low', priority: priority + 0.5 });
    };
    // the coarse base level first: a stand-in everywhere after a few requests
    const baseGrid = this.grid(this.baseLevel);
    for (let row = 0; row < baseGrid.rows; row++) for (let col = 0; col < baseGrid.cols; col++) want(this.entry(this.baseLevel, col, row), -1);
    if (right <= left || bottom <= top) return { draw: [], wants: wants.sort((a, b) => a.priority - b.priority) };

    const levelScale = 2 ** (this.maxLevel - level);
    const grid = this.grid(level);
    const c0 = clamp(Math.floor(left / levelScale / TILE), 0, grid.cols - 1);
    const c1 = clamp(Math.floor((right / levelScale - 1e-6) / TILE), 0, grid.cols - 1);
    const r0 = clamp(Math.floor(top / levelScale / TILE), 0, grid.rows - 1);
    const r1 = clamp(Math.floor((bottom / levelScale - 1e-6) / TILE), 0, grid.rows - 1);
    const centreX = (left + right) / 2 / levelScale / TILE;
    const centreY = (top + bottom) / 2 / levelScale / TILE;
    const stand = new Map<string, TileEntry>();
    const exact: TileEntry[] = [];
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const entry = this.entry(level, col, row);
        entry.used = this.frame;
        if (this.ready(entry, material)) {
          exact.push(entry);
          continue;
        }
        want(entry, Math.hypot(col + 0.5 - centreX, row + 0.5 - centreY));
        for (let up = level - 1; up >= this.baseLevel; up--) {
          const shift = level - up;
          const parent = this.tiles.get(`${up}/${col >> shift}_${row >> shift}`);
          if (parent && this.ready(parent, material)) {
            parent.used = this.frame;
            stand.set(parent.key, parent);
            break;
          }
        }
      }
    }
    const draw = [...[...stand.values()].sort((a, b) => a.level - b.level), ...exact];
    return { draw, wants: wants.sort((a, b) => a.priority - b.priority) };
  }

  private grid(level: number): { cols: number; rows: number } {
    const size = this.levelSize(level);
    return { cols: Math.ceil(size.width / TILE), rows: Math.ceil(size.height / TILE) };
  }

  private drawTiles(entries: TileEntry[], material: boolean): void {
    const gl = this.gl!;
    const u = this.uniforms;
    for (const entry of entries) {
      const [x, y, w, h] = this.tileRect(entry.level, entry.col, entry.row);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, entry.high.texture!);
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D, material ? entry.low.texture! : this.blank);
      gl.uniform4f(u.uRect, x, y, w, h);
      gl.uniform4f(u.uTex, 0, 0, 1, 1);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
  }

  private pump(): void {
    if (!this.options.mayFetch()) return;
    while (this.fetching < MAX_FETCHES && this.wants.length) {
      const want = this.wants.shift()!;
      const plane = want.entry[want.plane];
      if (plane.texture || plane.loading || plane.failed) continue;
      plane.loading = true;
      this.fetching++;
      void this.load(want.entry, want.plane).finally(() => {
        plane.loading = false;
        this.fetching--;
        if (this.destroyed) return;
        this.pump();
        this.requestRender();
      });
    }
  }

  private async load(entry: TileEntry, which: 'high' | 'low'): Promise<void> {
    const { imageBase, info } = this.options;
    const energy = which === 'high' ? this.highEnergy : 'low';
    const url = `${viewPath(imageBase, info.id)}/planes/${energy}/tiles_files/${entry.level}/${entry.col}_${entry.row}.png`;
    const plane = entry[which];
    try {
      const response = await fetch(url, { headers: this.options.headers() });
      if (!response.ok) throw new Error(`${response.status}`);
      const bitmap = await createImageBitmap(await response.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
      if (this.destroyed || !this.tiles.has(entry.key)) {
        bitmap.close();
        return;
      }
      const gl = this.gl!;
      const texture = gl.createTexture();
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      bitmap.close();
      plane.texture = texture;
      const count = Number(this.options.host.dataset.glLoaded ?? 0) + 1;
      this.options.host.dataset.glLoaded = String(count);
    } catch (error) {
      plane.failed = true;
      console.warn(`niix viewer: 16-bit tile ${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private release(entry: TileEntry): void {
    const gl = this.gl!;
    if (entry.high.texture) gl.deleteTexture(entry.high.texture);
    if (entry.low.texture) gl.deleteTexture(entry.low.texture);
    entry.high = {};
    entry.low = {};
  }

  /** Keeps at most MAX_TILES tiles with textures: the least recently drawn go (base level tiles stay). */
  private evict(): void {
    const held = [...this.tiles.values()].filter((entry) => entry.high.texture || entry.low.texture);
    if (held.length <= MAX_TILES) return;
    held
      .filter((entry) => entry.level !== this.baseLevel && entry.used !== this.frame && !entry.high.loading && !entry.low.loading)
      .sort((a, b) => a.used - b.used)
      .slice(0, held.length - MAX_TILES)
      .forEach((entry) => {
        this.release(entry);
        this.tiles.delete(entry.key);
      });
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
