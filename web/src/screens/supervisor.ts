import { api, call, type Session } from '../api';
import { h, replace } from '../dom';
import { formatDuration, formatNumber, formatTime } from '../format';
import type { Screen } from '../screen';

const REFRESH_MS = 3000;
const TO_POOL = '';

const loadStats = () => call(api.GET('/api/v1/worklist/stats', {}));
type Stats = Awaited<ReturnType<typeof loadStats>>;
type Holder = Stats['holders'][number];
interface Pool {
  name: string;
  fourEyesRisk: number | null;
  fourEyesOnInspect: boolean;
  members: { id: string; username: string }[];
}

/** A holder's row, kept across refreshes so that a half-chosen reassign target is not thrown away. */
interface HolderRow {
  row: HTMLTableRowElement;
  held: HTMLTableCellElement;
  lock: HTMLTableCellElement;
  target: HTMLSelectElement;
  button: HTMLButtonElement;
  membersKey: string;
}

/** Pools live: depth, oldest wait, SLA breaches; who holds what and for how long (with reassign); recent decisions. */
export function supervisorScreen(_session: Session): Screen {
  const status = h('span', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const summary = h('div', { class: 'muted', id: 'totals', style: 'display:flex;gap:18px;font-variant-numeric:tabular-nums' });
  const message = h('p', { class: 'notice', role: 'status', hidden: true });
  const pools = h('tbody');
  const holders = h('tbody');
  const recent = h('tbody');
  const head = (titles: string[], numeric: number[] = []) => h('thead', {}, h('tr', {}, titles.map((title, index) => h('th', numeric.includes(index) ? { class: 'num', style: 'text-align:right' } : {}, title))));
  const element = h(
    'main',
    { class: 'supervisor page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Supervision'), status, h('span', { class: 'spacer' }), summary),
    message,
    h(
      'section',
      {},
      h('h2', {}, 'Pools'),
      h(
        'table',
        { class: 'grid', id: 'pools' },
        head(['Pool', 'Analysts', 'Four-eyes', 'Waiting', 'Held', 'Oldest wait', 'SLA breaches', 'Decided (1 h)', 'Late (1 h)', 'Median decision (1 h)'], [1, 3, 4, 5, 6, 7, 8, 9]),
        pools,
      ),
    ),
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        {},
        h('h2', {}, 'Cases held now'),
        h('table', { class: 'grid', id: 'holders' }, head(['Analyst', 'Scan', 'Pool', 'Stage', 'Held for', 'Lock until', 'Reassign to', ''], [4, 5]), holders),
      ),
      h(
        'section',
        {},
        h('h2', {}, 'Recent decisions (1 h)'),
        h('table', { class: 'grid', id: 'recent' }, head(['Decided', 'Scan', 'Pool', 'Decision time', ''], [0, 3]), recent),
      ),
    ),
  );

  const say = (text: string, tone: 'info' | 'warn' = 'info') => {
    message.hidden = false;
    message.className = `notice ${tone}`;
    message.textContent = text;
  };

  let timer: number | undefined;
  let stopped = false;
  let generation = 0;
  let poolList: Pool[] = [];
  const holderRows = new Map<string, HolderRow>();

  /** One refresh, then the next in REFRESH_MS; a newer refresh (key r, after a reassign) supersedes one in flight. */
  async function refresh() {
    window.clearTimeout(timer);
    const run = ++generation;
    try {
      const [stats, listed] = await Promise.all([loadStats(), call(api.GET('/api/v1/pools', {})).catch(() => null)]);
      if (stopped || run !== generation) return;
      if (listed) poolList = listed;
      status.textContent = `live · updated ${formatTime(stats.at)}`;
      renderPools(stats);
      renderHolders(stats.holders);
      renderRecent(stats.recent);
    } catch (error) {
      if (stopped || run !== generation) return;
      status.textContent = `cannot refresh: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!stopped) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  }

  function renderPools(stats: Stats) {
    const settings = new Map(poolList.map((pool) => [pool.name, pool]));
    const medians = new Map<string, number | null>();
    for (const pool of stats.pools) medians.set(pool.pool, median(stats.recent.filter((row) => row.pool === pool.pool).map((row) => row.decisionSeconds)));
    const total = (pick: (pool: Stats['pools'][number]) => number) => stats.pools.reduce((sum, pool) => sum + pick(pool), 0);
    const breaches = total((pool) => pool.slaBreaches);
    replace(
      summary,
      h('span', {}, 'Waiting ', h('strong', { id: 'total-waiting', style: 'color:var(--text)' }, formatNumber(total((pool) => pool.waiting)))),
      h('span', {}, 'Held ', h('strong', { style: 'color:var(--text)' }, formatNumber(total((pool) => pool.held)))),
      h('span', {}, 'SLA breaches ', h('strong', { class: breaches ? 'bad' : null, style: breaches ? null : 'color:var(--text)' }, formatNumber(breaches))),
      h('span', {}, 'Decided (1 h) ', h('strong', { style: 'color:var(--text)' }, formatNumber(stats.recent.length))),
      h('span', {}, 'Median decision ', h('strong', { style: 'color:var(--text)' }, formatDuration(median(stats.recent.map((row) => row.decisionSeconds))))),
    );
    replace(
      pools,
      stats.pools.length ? null : h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No pools yet.')),
      stats.pools.map((pool) => {
        const setting = settings.get(pool.pool);
        return h(
          'tr',
          { 'data-pool': pool.pool },
          h('td', {}, pool.pool),
          h('td', { class: 'num', title: setting?.members.map((member) => member.username).join(', ') ?? '' }, setting ? formatNumber(setting.members.length) : '—'),
          h('td', { class: 'muted' }, setting ? fourEyes(setting) : '—'),
          h('td', { class: 'num', 'data-field': 'waiting' }, formatNumber(pool.waiting)),
          h('td', { class: 'num', 'data-field': 'held' }, formatNumber(pool.held)),
          h('td', { class: 'num', 'data-field': 'oldest-wait', title: pool.oldestQueuedAt ? `queued ${formatTime(pool.oldestQueuedAt)}` : '' }, formatDuration(pool.oldestWaitSeconds)),
          h('td', { class: `num ${pool.slaBreaches ? 'bad' : ''}`, 'data-field': 'sla-breaches' }, formatNumber(pool.slaBreaches)),
          h('td', { class: 'num' }, formatNumber(pool.decidedLastHour)),
          h('td', { class: `num ${pool.decidedLateLastHour ? 'bad' : ''}` }, formatNumber(pool.decidedLateLastHour)),
          h('td', { class: 'num' }, formatDuration(medians.get(pool.pool))),
        );
      }),
    );
  }

  function renderHolders(list: Holder[]) {
    const seen = new Set(list.map((holder) => holder.claimId));
    for (const [claimId, entry] of holderRows) {
      if (!seen.has(claimId)) {
        entry.row.remove();
        holderRows.delete(claimId);
      }
    }
    const empty = holders.querySelector('tr.empty');
    if (list.length && empty) empty.remove();
    if (!list.length && !empty) holders.append(h('tr', { class: 'empty' }, h('td', { colspan: 8, class: 'muted' }, 'Nobody holds a case.')));
    for (const holder of list) {
      const members = (poolList.find((pool) => pool.name === holder.pool)?.members ?? []).filter((member) => member.username !== holder.analyst);
      const membersKey = members.map((member) => member.id).join(',');
      let entry = holderRows.get(holder.claimId);
      if (!entry) {
        const target = h('select', { name: 'target', 'aria-label': `Reassign the case held by ${holder.analyst}` });
        const button = h('button', { class: 'small reassign', type: 'button' }, 'Reassign');
        button.addEventListener('click', () => void reassign(holder, target.value, button));
        const held = h('td', { class: 'num', 'data-field': 'held-for' });
        const lock = h('td', { class: 'num' });
        const row = h(
          'tr',
          { 'data-claim': holder.claimId, 'data-scan': holder.scanId, 'data-analyst': holder.analyst },
          h('td', {}, holder.analyst),
          h('td', { class: 'mono', title: holder.scanId }, holder.scanId.slice(0, 8)),
          h('td', {}, holder.pool),
          h('td', {}, holder.stage === 'second' ? h('span', { class: 'badge stage-second' }, 'second') : holder.stage),
          held,
          lock,
          h('td', {}, target),
          h('td', {}, button),
        );
        entry = { row, held, lock, target, button, membersKey: '\u0000' };
        holderRows.set(holder.claimId, entry);
        holders.append(row);
      }
      if (entry.membersKey !== membersKey) {
        const chosen = entry.target.value;
        replace(entry.target, h('option', { value: TO_POOL }, 'back to the pool'), members.map((member) => h('option', { value: member.id }, member.username)));
        entry.target.value = members.some((member) => member.id === chosen) ? chosen : TO_POOL;
        entry.membersKey = membersKey;
      }
      entry.held.textContent = formatDuration(holder.heldSeconds);
      entry.lock.textContent = formatTime(holder.lockExpiresAt);
    }
  }

  function renderRecent(list: Stats['recent']) {
    replace(
      recent,
      list.length ? null : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No decisions in the last hour.')),
      list.slice(0, 50).map((row) =>
        h(
          'tr',
          { 'data-scan': row.scanId },
          h('td', { class: 'num' }, formatTime(row.decidedAt)),
          h('td', { class: 'mono', title: row.scanId }, row.scanId.slice(0, 8)),
          h('td', {}, row.pool),
          h('td', { class: 'num' }, formatDuration(row.decisionSeconds)),
          h('td', {}, row.late ? h('span', { class: 'bad' }, 'late') : ''),
        ),
      ),
    );
  }

  async function reassign(holder: Holder, toAnalystId: string, button: HTMLButtonElement) {
    button.disabled = true;
    const to = toAnalystId ? (poolList.find((pool) => pool.name === holder.pool)?.members.find((member) => member.id === toAnalystId)?.username ?? 'the chosen analyst') : null;
    try {
      await call(api.POST('/api/v1/worklist/claims/{claimId}/reassign', { params: { path: { claimId: holder.claimId } }, body: toAnalystId ? { toAnalystId } : {} }));
      say(to ? `Case ${holder.scanId.slice(0, 8)} taken from ${holder.analyst}; kept for ${to} for 2 minutes.` : `Case ${holder.scanId.slice(0, 8)} taken from ${holder.analyst} and put back in pool ${holder.pool}.`);
    } catch (error) {
      button.disabled = false;
      say(`Reassign failed: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    }
    void refresh();
  }

  void refresh();
  return {
    element,
    shortcuts: [
      {
        key: 'r',
        label: 'Refresh now',
        run: () => void refresh(),
      },
    ],
    destroy() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}

function fourEyes(pool: Pick<Pool, 'fourEyesRisk' | 'fourEyesOnInspect'>): string {
  const rules = [pool.fourEyesRisk !== null ? `risk ≥ ${formatNumber(pool.fourEyesRisk)}` : null, pool.fourEyesOnInspect ? 'on inspect' : null].filter(Boolean);
  return rules.length ? rules.join(', ') : 'off';
}

function median(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (!known.length) return null;
  const middle = Math.floor(known.length / 2);
  return known.length % 2 ? known[middle] : (known[middle - 1] + known[middle]) / 2;
}
