import { h, replace } from '../dom';
import { formatDateTime, formatNumber } from '../format';
import { downloadLink } from '../media';
import { type Bar, barChart, lineChart } from './charts';
import { SCORE_HEADINGS, SCORE_NUMERIC, formatIndex, formatRate, headings, scoreCells } from './score-view';
import { sessionTable } from './set-view';
import { type Dashboard, type TraineeScores, csvRoutes, trainingApi } from './training-api';

const ALL = '';
const locale = navigator.language || undefined;
const shortDate = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'short' });
const dayOnly = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
const clock = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });
const DAY_MS = 86_400_000;
/** A time-axis label as fine as the axis needs: dates over weeks, date and time over days, the clock within an hour. */
const axisTime = (at: number, span: number) => (span > 14 * DAY_MS ? dayOnly : span > 3_600_000 ? shortDate : clock).format(new Date(at));

export interface TrainingDashboard {
  element: HTMLElement;
  reload(): Promise<void>;
}

/**
 * The trainer's dashboard: sets with their sessions and progress, a score row per trainee (hit rate, false-alarm
 * rate, d′, A′, mean time, threat events, with the reliability note), d′ per completed session over time and hit
 * rate per category as inline SVG, CSV exports.
 */
export function trainingDashboard(say: (text: string, tone?: 'info' | 'warn') => void): TrainingDashboard {
  const failed = (error: unknown) => say(`The download failed: ${error instanceof Error ? error.message : String(error)}`, 'warn');
  const sets = h('tbody');
  const trainees = h('tbody');
  const lineHost = h('div', { class: 'chart-host' });
  const barHost = h('div', { class: 'chart-host' });
  const who = h('select', { id: 'category-trainee', 'aria-label': 'Trainee of the category chart' });
  const status = h('span', { class: 'muted', role: 'status' });
  const element = h(
    'div',
    { class: 'dashboard', id: 'dashboard' },
    h('div', { class: 'page-head' }, status, h('span', { class: 'spacer' }), h('button', { class: 'small', onclick: () => void reload() }, 'Refresh')),
    h('section', {}, h('h2', {}, 'Trainees'), h('table', { class: 'grid', id: 'trainee-scores' }, headings(['Trainee', 'Sessions', ...SCORE_HEADINGS, 'Export'], [1, ...SCORE_NUMERIC.map((column) => column + 2)]), trainees)),
    h(
      'div',
      { class: 'charts' },
      h('figure', {}, h('figcaption', {}, 'd′ per completed session'), lineHost),
      h('figure', {}, h('figcaption', {}, 'Hit rate per category ', who), barHost),
    ),
    h('section', {}, h('h2', {}, 'Training sets'), h('table', { class: 'grid', id: 'sets' }, headings(['Set', 'Mode', 'Status', 'Cases', 'Threats', 'Projected', 'Sessions done', 'Created', '', 'Export'], [3, 4, 5, 6]), sets)),
  );
  let data: Dashboard | null = null;

  who.addEventListener('change', () => data && renderBars(data.trainees));

  function renderTrainees(list: TraineeScores[]) {
    replace(
      trainees,
      list.length ? null : h('tr', {}, h('td', { colspan: SCORE_HEADINGS.length + 3, class: 'muted' }, 'No trainee has answered yet.')),
      list.map((trainee) =>
        h(
          'tr',
          { 'data-trainee': trainee.trainee, 'data-trainee-id': trainee.traineeId },
          h('td', {}, trainee.trainee),
          h('td', { class: 'num', 'data-field': 'sessions' }, formatNumber(trainee.sessions.length)),
          scoreCells(trainee.overall),
          h('td', {}, downloadLink(csvRoutes.traineeScores(trainee.traineeId), `scores-${trainee.trainee}.csv`, 'CSV', failed)),
        ),
      ),
    );
    const chosen = who.value;
    replace(who, h('option', { value: ALL }, 'all trainees'), list.map((trainee) => h('option', { value: trainee.traineeId, selected: trainee.traineeId === chosen }, trainee.trainee)));
    replace(
      lineHost,
      lineChart(
        'dprime-chart',
        'd′ per completed session over time, per trainee',
        list.map((trainee) => ({
          name: trainee.trainee,
          points: trainee.sessions
            .filter((session) => session.completedAt && session.score.dPrime !== null)
            .map((session) => ({ at: new Date(session.completedAt!).getTime(), value: Number(session.score.dPrime!.toFixed(2)), title: `${trainee.trainee} · ${session.setName}: d′ ${formatIndex(session.score.dPrime)}, hit rate ${formatRate(session.score.hitRate)}` })),
        })),
        'd′',
        axisTime,
      ),
    );
    renderBars(list);
  }

  /** Hit rate per category: one trainee, or every trainee's answers together. */
  function renderBars(list: TraineeScores[]) {
    const chosen = list.filter((trainee) => who.value === ALL || trainee.traineeId === who.value);
    const totals = new Map<string, { hits: number; events: number }>();
    for (const row of chosen.flatMap((trainee) => trainee.byCategory)) {
      const total = totals.get(row.category) ?? { hits: 0, events: 0 };
      total.hits += row.hits;
      total.events += row.threatEvents;
      totals.set(row.category, total);
    }
    const bars: Bar[] = [...totals].map(([category, total]) => ({
      label: category.replace('_', ' '),
      value: total.events ? total.hits / total.events : null,
      detail: `n = ${formatNumber(total.events)}`,
      caution: total.events < 100,
    }));
    replace(barHost, barChart('category-chart', 'Hit rate per threat category', bars, formatRate));
  }

  function renderSets(list: Dashboard['sets']) {
    replace(
      sets,
      list.length ? null : h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No training set yet.')),
      list.flatMap((set) => {
        const detail = h('tr', { class: 'set-detail', hidden: true }, h('td', { colspan: 10 }));
        const toggle = h('button', { class: 'small ghost', 'aria-expanded': 'false' }, 'Sessions');
        toggle.addEventListener('click', async () => {
          const open = detail.hidden;
          detail.hidden = !open;
          toggle.setAttribute('aria-expanded', String(open));
          if (!open) return;
          try {
            const [full, scores] = await Promise.all([trainingApi.set(set.id), trainingApi.setScores(set.id)]);
            replace(detail.firstElementChild!, sessionTable(full.sessionList, scores.sessions));
          } catch (error) {
            replace(detail.firstElementChild!, h('span', { class: 'bad' }, error instanceof Error ? error.message : String(error)));
          }
        });
        return [
          h(
            'tr',
            { 'data-set': set.id, 'data-status': set.status },
            h('td', {}, set.name),
            h('td', {}, h('span', { class: `badge mode-${set.mode}` }, set.mode)),
            h('td', {}, h('span', { class: `badge status-${set.status}` }, set.status), set.failureMessage ? h('span', { class: 'bad', title: set.failureMessage }, ' !') : null),
            h('td', { class: 'num' }, set.status === 'preparing' ? `${formatNumber(set.cases.ready)} / ${formatNumber(set.cases.total)}` : formatNumber(set.cases.total)),
            h('td', { class: 'num' }, formatNumber(set.cases.threats)),
            h('td', { class: 'num' }, formatNumber(set.cases.projected)),
            h('td', { class: 'num', 'data-field': 'sessions' }, `${formatNumber(set.sessions.completed)} / ${formatNumber(set.sessions.total)}`),
            h('td', {}, formatDateTime(set.createdAt)),
            h('td', {}, toggle),
            h('td', {}, downloadLink(csvRoutes.setAnswers(set.id), `answers-${set.name.replace(/[^\w-]+/g, '_')}.csv`, 'Answers CSV', failed)),
          ),
          detail,
        ];
      }),
    );
  }

  async function reload() {
    try {
      data = await trainingApi.dashboard();
      renderTrainees(data.trainees);
      renderSets(data.sets);
      status.textContent = `updated ${shortDate.format(new Date())}`;
      element.dataset.loaded = String(Date.now());
    } catch (error) {
      say(`Cannot load the dashboard: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    }
  }

  return { element, reload };
}
