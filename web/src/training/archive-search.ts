import { h, replace } from '../dom';
import { formatDateTime, formatNumber } from '../format';
import { authorizedImage } from '../media';
import { CATEGORIES, scanImageBase, viewPath } from '../viewer';
import { headings } from './score-view';
import { type ArchiveCase, type ArchiveFilter, trainingApi } from './training-api';

const PAGE = 50;

/** A date input's day (local time) as an ISO instant; `nextDay` gives the end of that day (the filter's "before"). */
function dayStart(value: string, nextDay = false): string | undefined {
  if (!value) return undefined;
  const day = new Date(`${value}T00:00:00`);
  if (nextDay) day.setDate(day.getDate() + 1);
  return day.toISOString();
}

function outcomeOf(item: ArchiveCase): 'found' | 'clean' | 'unknown' {
  return item.outcome ? (item.outcome.found ? 'found' : 'clean') : 'unknown';
}

export interface ArchiveSearch {
  element: HTMLElement;
  /** The cases picked so far (kept across searches). */
  picked(): ArchiveCase[];
  clearPicks(): void;
  search(): Promise<void>;
}

/**
 * The archive of decided scans for a trainer: filters (station, vendor, period, decision, outcome, category), results
 * with a thumbnail, and checkboxes that pick cases for a training set (only cases with a reported outcome qualify).
 */
export function archiveSearch(say: (text: string, tone?: 'info' | 'warn') => void, onPicked: () => void): ArchiveSearch {
  const picked = new Map<string, ArchiveCase>();
  const stations = new Map<string, string>();
  const vendors = new Set<string>();
  const station = h('select', { name: 'station' }, h('option', { value: '' }, 'any station'));
  const vendorList = h('datalist', { id: 'archive-vendors' });
  const select = (name: string, any: string, values: readonly string[]) =>
    h('select', { name }, h('option', { value: '' }, any), values.map((value) => h('option', { value }, value.replace('_', ' '))));
  const form = h(
    'form',
    { class: 'inline-form', id: 'archive-form' },
    h('label', {}, 'Station', station),
    h('label', {}, 'Vendor', h('input', { name: 'vendor', list: 'archive-vendors', size: 12, maxlength: 100 }), vendorList),
    h('label', {}, 'Decided from', h('input', { name: 'from', type: 'date' })),
    h('label', {}, 'to', h('input', { name: 'to', type: 'date' })),
    h('label', {}, 'Decision', select('decision', 'any', ['clear', 'inspect', 'inconclusive'])),
    h('label', {}, 'Outcome', select('outcome', 'any', ['found', 'clean', 'unknown'])),
    h('label', {}, 'Category', select('category', 'any', CATEGORIES)),
    h('button', { type: 'submit', class: 'primary', id: 'archive-search' }, 'Search'),
  );
  const status = h('span', { class: 'muted', id: 'archive-status', role: 'status' });
  const all = h('input', { type: 'checkbox', id: 'pick-all', title: 'Pick every case shown (with an outcome)', 'aria-label': 'Pick every case shown' });
  const rows = h('tbody');
  const head = headings(['', 'Image', 'Decided', 'Station', 'Vendor', 'Decision', 'Outcome', 'Regions'], [7]);
  head.querySelector('th')!.append(all);
  const more = h('button', { class: 'small', hidden: true }, 'More');
  const element = h(
    'section',
    { class: 'archive' },
    h('h2', {}, 'Archive'),
    form,
    h('div', { class: 'page-head' }, status),
    h(
      'div',
      { class: 'scroll' },
      h('table', { class: 'grid', id: 'archive-results' }, head, rows),
    ),
    more,
  );

  let shown: ArchiveCase[] = [];
  let nextBefore: string | null = null;
  let filter: ArchiveFilter = {};

  const pickable = (item: ArchiveCase) => item.outcome !== null;
  const report = () => {
    status.textContent = `${formatNumber(shown.length)} case(s) shown · ${formatNumber(picked.size)} picked`;
    const candidates = shown.filter(pickable);
    all.checked = candidates.length > 0 && candidates.every((item) => picked.has(item.scanId));
    onPicked();
  };
  const pick = (item: ArchiveCase, on: boolean) => {
    if (on && pickable(item)) picked.set(item.scanId, item);
    else picked.delete(item.scanId);
  };

  all.addEventListener('change', () => {
    for (const item of shown) pick(item, all.checked);
    rows.querySelectorAll<HTMLInputElement>('input.pick:not(:disabled)').forEach((box) => (box.checked = all.checked));
    report();
  });

  function row(item: ArchiveCase): HTMLTableRowElement {
    const outcome = outcomeOf(item);
    const box = h('input', { type: 'checkbox', class: 'pick', 'aria-label': `Pick scan ${item.scanId.slice(0, 8)}`, checked: picked.has(item.scanId), disabled: !pickable(item), title: pickable(item) ? '' : 'no outcome reported: cannot be used for training' });
    box.addEventListener('change', () => {
      pick(item, box.checked);
      report();
    });
    const view = item.views.find((candidate) => candidate.id === 'top') ?? item.views[0];
    const categories = item.outcome?.categories.map((category) => category.replace('_', ' ')).join(', ');
    return h(
      'tr',
      { 'data-scan': item.scanId, 'data-outcome': outcome },
      h('td', {}, box),
      h('td', {}, view ? authorizedImage(`${viewPath(scanImageBase(item.scanId), view.id)}/thumbnail`, { alt: `${view.id} view`, class: 'thumb' }) : null),
      h('td', {}, formatDateTime(item.decidedAt)),
      h('td', {}, item.stationName),
      h('td', {}, item.vendor ?? '—'),
      h('td', {}, h('span', { class: `badge decision-${item.decision}` }, item.decision)),
      h('td', { class: `outcome-${outcome}` }, outcome === 'found' ? `found${categories ? `: ${categories}` : ''}` : outcome === 'clean' ? 'clean' : 'no outcome'),
      h('td', { class: 'num' }, formatNumber(item.regions.length)),
    );
  }

  function learn(cases: ArchiveCase[]) {
    for (const item of cases) {
      if (item.vendor) vendors.add(item.vendor);
      if (stations.has(item.stationId)) continue;
      stations.set(item.stationId, item.stationName);
      station.append(h('option', { value: item.stationId }, item.stationName));
    }
    replace(vendorList, [...vendors].sort().map((vendor) => h('option', { value: vendor })));
  }

  async function load(append: boolean) {
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
    button.disabled = true;
    more.disabled = true;
    try {
      const page = await trainingApi.archive({ ...filter, limit: String(PAGE), before: append ? (nextBefore ?? undefined) : undefined });
      learn(page.cases);
      shown = append ? [...shown, ...page.cases] : page.cases;
      nextBefore = page.nextBefore;
      if (append) rows.append(...page.cases.map(row));
      else replace(rows, page.cases.length ? null : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No decided case matches.')), page.cases.map(row));
      more.hidden = !nextBefore;
      report();
    } catch (error) {
      say(`The archive search failed: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    } finally {
      button.disabled = false;
      more.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? '').trim() || undefined;
    filter = {
      station: text('station'),
      vendor: text('vendor'),
      from: dayStart(text('from') ?? ''),
      to: dayStart(text('to') ?? '', true),
      decision: text('decision'),
      outcome: text('outcome'),
      category: text('category'),
    };
    void load(false);
  });
  more.addEventListener('click', () => void load(true));

  return {
    element,
    picked: () => [...picked.values()],
    clearPicks() {
      picked.clear();
      rows.querySelectorAll<HTMLInputElement>('input.pick').forEach((box) => (box.checked = false));
      report();
    },
    search: () => load(false),
  };
}
