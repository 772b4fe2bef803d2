import { h } from '../dom';
import { formatNumber } from '../format';
import type { CategoryScore, DetectionScore } from './training-api';

const locale = navigator.language || undefined;
const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
const index = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const seconds = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const RELIABILITY_NOTE = 'fewer than 100 threat events: read with care';

export const formatRate = (rate: number | null | undefined): string => (rate === null || rate === undefined ? '—' : percent.format(rate));
export const formatIndex = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : index.format(value));
export const formatMs = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? '—' : ms < 1000 ? `${formatNumber(Math.round(ms))} ms` : `${seconds.format(ms / 1000)} s`;

const CORRECTED = 'a rate of 0 or 1 was corrected with the 1/(2N) rule before computing d′';

/** Column headings matching scoreCells. */
export const SCORE_HEADINGS = ['Hit rate', 'False-alarm rate', 'd′', 'A′', 'Mean time', 'Threat events', 'Clean events', ''];
/** Indexes (within SCORE_HEADINGS) of numeric columns. */
export const SCORE_NUMERIC = [0, 1, 2, 3, 4, 5, 6];

/** One detection score as table cells (data-field names the measure). */
export function scoreCells(score: DetectionScore): HTMLTableCellElement[] {
  const cell = (field: string, text: string, title = '') => h('td', { class: 'num', 'data-field': field, title }, text);
  return [
    cell('hit-rate', formatRate(score.hitRate), `${formatNumber(score.hits)} hits of ${formatNumber(score.threatEvents)} threat cases`),
    cell('false-alarm-rate', formatRate(score.falseAlarmRate), `${formatNumber(score.falseAlarms)} false alarms of ${formatNumber(score.cleanEvents)} clean cases`),
    cell('d-prime', formatIndex(score.dPrime), score.corrected ? CORRECTED : 'sensitivity: separation of threat and clean cases'),
    cell('a-prime', formatIndex(score.aPrime), 'non-parametric sensitivity, 0.5 = chance, 1 = perfect'),
    cell('mean-time', formatMs(score.meanDecisionMs)),
    cell('threat-events', formatNumber(score.threatEvents)),
    cell('clean-events', formatNumber(score.cleanEvents)),
    h('td', { 'data-field': 'reliability', class: score.reliable ? 'muted' : 'caution' }, score.reliable ? '' : RELIABILITY_NOTE),
  ];
}

/** One detection score as a card of big numbers (the trainee's summary). */
export function scoreCard(score: DetectionScore): HTMLElement {
  const item = (field: string, label: string, value: string, detail: string) =>
    h('div', { class: 'measure', 'data-field': field }, h('span', { class: 'label' }, label), h('strong', {}, value), h('span', { class: 'muted' }, detail));
  return h(
    'div',
    { class: 'score-card' },
    h(
      'div',
      { class: 'measures' },
      item('hit-rate', 'Hit rate', formatRate(score.hitRate), `${formatNumber(score.hits)} of ${formatNumber(score.threatEvents)} threats found`),
      item('false-alarm-rate', 'False-alarm rate', formatRate(score.falseAlarmRate), `${formatNumber(score.falseAlarms)} of ${formatNumber(score.cleanEvents)} clean cases stopped`),
      item('d-prime', 'd′', formatIndex(score.dPrime), score.corrected ? 'rates of 0 or 1 corrected' : 'sensitivity'),
      item('a-prime', 'A′', formatIndex(score.aPrime), '0.5 chance · 1 perfect'),
      item('mean-time', 'Mean time', formatMs(score.meanDecisionMs), 'per case'),
      item('threat-events', 'Threat events', formatNumber(score.threatEvents), `${formatNumber(score.cleanEvents)} clean events`),
    ),
    score.reliable ? null : h('p', { class: 'notice warn', 'data-field': 'reliability' }, `Fewer than 100 threat events: read with care. These numbers rest on ${formatNumber(score.threatEvents)} threat case(s).`),
  );
}

/**
 * The figures per threat category: the category's hit rate with the overall false-alarm rate (a clean case has no
 * category), d′ and A′ from the two, the mean time of the category's threat cases.
 */
export function categoryTable(rows: CategoryScore[]): HTMLElement {
  return h(
    'table',
    { class: 'grid category-scores' },
    headings(['Category', ...SCORE_HEADINGS], SCORE_NUMERIC.map((position) => position + 1)),
    h(
      'tbody',
      {},
      rows.length ? null : h('tr', {}, h('td', { colspan: SCORE_HEADINGS.length + 1, class: 'muted' }, 'No threat cases answered yet.')),
      rows.map((row) => h('tr', { 'data-category': row.category }, h('td', {}, row.category.replace('_', ' ')), scoreCells(row))),
    ),
  );
}

/** A row of column headings; numeric columns right-aligned. */
export function headings(titles: string[], numeric: number[] = []): HTMLTableSectionElement {
  return h('thead', {}, h('tr', {}, titles.map((title, position) => h('th', numeric.includes(position) ? { class: 'num' } : {}, title))));
}
