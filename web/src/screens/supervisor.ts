import { api, call, type Session } from '../api';
import { h, replace } from '../dom';
import { formatDuration, formatNumber, formatTime } from '../format';
import type { Screen } from '../screen';

const REFRESH_MS = 3000;

/** Pools live: depth, oldest wait, SLA breaches; who holds what and for how long (with reassign); recent decisions. */
export function supervisorScreen(_session: Session): Screen {
  const status = h('span', { class: 'muted', role: 'status' });
  const pools = h('tbody');
  const holders = h('tbody');
  const recent = h('tbody');
  const element = h(
    'main',
    { class: 'supervisor page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Supervision'), status),
    h(
      'section',
      {},
      h('h2', {}, 'Pools'),
      h('table', { class: 'grid', id: 'pools' }, h('thead', {}, h('tr', {}, ['Pool', 'Waiting', 'Held', 'Oldest wait', 'SLA breaches', 'Decided (1 h)', 'Late (1 h)'].map((title) => h('th', {}, title)))), pools),
    ),
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        {},
        h('h2', {}, 'Cases held now'),
        h('table', { class: 'grid', id: 'holders' }, h('thead', {}, h('tr', {}, ['Analyst', 'Scan', 'Pool', 'Stage', 'Held for', 'Lock until', ''].map((title) => h('th', {}, title)))), holders),
      ),
      h(
        'section',
        {},
        h('h2', {}, 'Recent decisions'),
        h('table', { class: 'grid', id: 'recent' }, h('thead', {}, h('tr', {}, ['Decided', 'Scan', 'Pool', 'Decision time', ''].map((title) => h('th', {}, title)))), recent),
      ),
    ),
  );

  let timer: number | undefined;
  let stopped = false;

  async function refresh() {
    try {
      const stats = await call(api.GET('/api/v1/worklist/stats', {}));
      status.textContent = `updated ${formatTime(stats.at)}`;
      replace(
        pools,
        stats.pools.length ? null : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No pools yet.')),
        stats.pools.map((pool) =>
          h(
            'tr',
            {},
            h('td', {}, pool.pool),
            h('td', { class: 'num' }, formatNumber(pool.waiting)),
            h('td', { class: 'num' }, formatNumber(pool.held)),
            h('td', { class: 'num' }, formatDuration(pool.oldestWaitSeconds)),
            h('td', { class: `num ${pool.slaBreaches ? 'bad' : ''}` }, formatNumber(pool.slaBreaches)),
            h('td', { class: 'num' }, formatNumber(pool.decidedLastHour)),
            h('td', { class: `num ${pool.decidedLateLastHour ? 'bad' : ''}` }, formatNumber(pool.decidedLateLastHour)),
          ),
        ),
      );
      replace(
        holders,
        stats.holders.length ? null : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Nobody holds a case.')),
        stats.holders.map((holder) =>
          h(
            'tr',
            {},
            h('td', {}, holder.analyst),
            h('td', { class: 'mono', title: holder.scanId }, holder.scanId.slice(0, 8)),
            h('td', {}, holder.pool),
            h('td', {}, holder.stage),
            h('td', { class: 'num' }, formatDuration(holder.heldSeconds)),
            h('td', { class: 'num' }, formatTime(holder.lockExpiresAt)),
            h('td', {}, h('button', { class: 'small', onclick: (event: Event) => void reassign(holder.claimId, event.currentTarget as HTMLButtonElement) }, 'Reassign')),
          ),
        ),
      );
      replace(
        recent,
        stats.recent.length ? null : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No decisions in the last hour.')),
        stats.recent.slice(0, 50).map((row) =>
          h(
            'tr',
            {},
            h('td', {}, formatTime(row.decidedAt)),
            h('td', { class: 'mono', title: row.scanId }, row.scanId.slice(0, 8)),
            h('td', {}, row.pool),
            h('td', { class: 'num' }, formatDuration(row.decisionSeconds)),
            h('td', {}, row.late ? h('span', { class: 'bad' }, 'late') : ''),
          ),
        ),
      );
    } catch (error) {
      status.textContent = `cannot refresh: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!stopped) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  }

  async function reassign(claimId: string, button: HTMLButtonElement) {
    if (!confirm('Take this case from its analyst and put it back in the pool?')) return;
    button.disabled = true;
    try {
      await call(api.POST('/api/v1/worklist/claims/{claimId}/reassign', { params: { path: { claimId } }, body: {} }));
    } catch (error) {
      alert(`Reassign failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    window.clearTimeout(timer);
    void refresh();
  }

  void refresh();
  return {
    element,
    shortcuts: [{ key: 'r', label: 'Refresh now', run: () => { window.clearTimeout(timer); void refresh(); } }],
    destroy() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
