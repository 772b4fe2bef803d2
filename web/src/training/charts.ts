/** Small inline SVG charts for the training dashboard (no chart library): a line chart over time and a bar chart. */
const SVG = 'http://www.w3.org/2000/svg';
export const SERIES_COLOURS = ['#5b8fd9', '#5fae7a', '#d0a246', '#d8635b', '#a07bd6', '#4fb3bf', '#c9ced6', '#e48fc0'];

const WIDTH = 760;
const HEIGHT = 260;
const MARGIN = { left: 44, right: 12, top: 14, bottom: 42 };

const LEGEND_COLUMNS = 4;
const LEGEND_ROW = 16;

type SvgAttrs = Record<string, string | number>;

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, ...children: (Node | string | null)[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) if (child !== null) element.append(child);
  return element;
}

function frame(id: string, title: string, height = HEIGHT): SVGSVGElement {
  return s('svg', { id, class: 'chart', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': title }, s('title', {}, title));
}

/** Round tick values from at or below `min` to at or above `max`. */
function ticks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw) ?? raw;
  const values: number[] = [];
  const last = Math.ceil(max / step - 1e-9) * step;
  for (let value = Math.floor(min / step + 1e-9) * step; value <= last + step * 1e-6; value += step) values.push(Number(value.toFixed(10)));
  return values;
}

export interface LineSeries {
  name: string;
  points: { at: number; value: number; title: string }[];
}

/** One line per series over time (x: epoch ms), points marked; a legend under the plot. */
export function lineChart(id: string, title: string, series: LineSeries[], yLabel: string, formatTime: (at: number, span: number) => string): SVGSVGElement {
  const legendRows = Math.max(1, Math.ceil(series.length / LEGEND_COLUMNS));
  const svg = frame(id, title, HEIGHT + (legendRows - 1) * LEGEND_ROW);
  const all = series.flatMap((line) => line.points);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  if (!all.length) {
    svg.append(s('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle', class: 'empty' }, 'No completed sessions yet'));
    return svg;
  }
  const [first, last] = [Math.min(...all.map((point) => point.at)), Math.max(...all.map((point) => point.at))];
  const pad = Math.max(30_000, (last - first) * 0.04);
  const [x0, x1] = [first - pad, last + pad];
  const yTicks = ticks(Math.min(0, ...all.map((point) => point.value)), Math.max(1, ...all.map((point) => point.value)));
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const x = (at: number) => MARGIN.left + ((at - x0) / (x1 - x0)) * plotW;
  const y = (value: number) => MARGIN.top + plotH - ((value - y0) / (y1 - y0 || 1)) * plotH;
  for (const tick of yTicks) {
    svg.append(s('line', { class: tick === 0 ? 'axis' : 'grid', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick) }));
    svg.append(s('text', { class: 'tick', x: MARGIN.left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, String(tick)));
  }
  svg.append(s('text', { class: 'tick', x: 10, y: MARGIN.top + plotH / 2, transform: `rotate(-90 10 ${MARGIN.top + plotH / 2})`, 'text-anchor': 'middle' }, yLabel));
  for (const at of [x0, (x0 + x1) / 2, x1]) svg.append(s('text', { class: 'tick', x: x(at), y: HEIGHT - MARGIN.bottom + 14, 'text-anchor': at === x0 ? 'start' : at === x1 ? 'end' : 'middle' }, formatTime(at, x1 - x0)));
  series.forEach((line, index) => {
    const colour = SERIES_COLOURS[index % SERIES_COLOURS.length];
    const group = s('g', { class: 'series', 'data-series': line.name });
    const points = [...line.points].sort((a, b) => a.at - b.at);
    if (points.length > 1) group.append(s('polyline', { points: points.map((point) => `${x(point.at).toFixed(1)},${y(point.value).toFixed(1)}`).join(' '), stroke: colour, fill: 'none', 'stroke-width': 2 }));
    for (const point of points) group.append(s('circle', { class: 'point', cx: x(point.at).toFixed(1), cy: y(point.value).toFixed(1), r: 3.5, fill: colour, 'data-value': point.value }, s('title', {}, point.title)));
    svg.append(group);
    const legendX = MARGIN.left + (index % LEGEND_COLUMNS) * (plotW / LEGEND_COLUMNS);
    const legendY = HEIGHT - 14 + Math.floor(index / LEGEND_COLUMNS) * LEGEND_ROW;
    svg.append(s('g', { class: 'legend' }, s('rect', { x: legendX, y: legendY - 8, width: 10, height: 10, fill: colour }), s('text', { x: legendX + 14, y: legendY + 1 }, line.name)));
  });
  return svg;
}

export interface Bar {
  label: string;
  /** 0..1, or null when there is nothing to show. */
  value: number | null;
  detail: string;
  caution: boolean;
}

/** Vertical bars on a 0–100 % scale, value above each bar, label and detail under it. */
export function barChart(id: string, title: string, bars: Bar[], formatValue: (value: number) => string): SVGSVGElement {
  const svg = frame(id, title);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value: number) => MARGIN.top + plotH - value * plotH;
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { class: tick === 0 ? 'axis' : 'grid', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick) }));
    svg.append(s('text', { class: 'tick', x: MARGIN.left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, formatValue(tick)));
  }
  if (!bars.length) {
    svg.append(s('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle', class: 'empty' }, 'No threat cases answered yet'));
    return svg;
  }
  const slot = plotW / bars.length;
  const barWidth = Math.min(48, slot * 0.6);
  bars.forEach((bar, index) => {
    const centre = MARGIN.left + slot * (index + 0.5);
    const value = bar.value ?? 0;
    const group = s('g', { class: `bar${bar.caution ? ' caution' : ''}`, 'data-category': bar.label, 'data-value': bar.value ?? '' }, s('title', {}, `${bar.label}: ${bar.value === null ? '—' : formatValue(bar.value)} (${bar.detail})`));
    group.append(s('rect', { x: (centre - barWidth / 2).toFixed(1), y: y(value).toFixed(1), width: barWidth.toFixed(1), height: Math.max(0, y(0) - y(value)).toFixed(1), fill: SERIES_COLOURS[0] }));
    group.append(s('text', { class: 'value', x: centre, y: y(value) - 4, 'text-anchor': 'middle' }, bar.value === null ? '—' : formatValue(bar.value)));
    group.append(s('text', { class: 'tick', x: centre, y: HEIGHT - MARGIN.bottom + 14, 'text-anchor': 'middle' }, bar.label));
    group.append(s('text', { class: 'tick muted', x: centre, y: HEIGHT - MARGIN.bottom + 28, 'text-anchor': 'middle' }, bar.detail));
    svg.append(group);
  });
  return svg;
}
