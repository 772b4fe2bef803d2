import { api, call, type Role, type Session } from '../api';
import { h, replace } from '../dom';
import { formatDateTime, formatDuration, formatNumber } from '../format';
import type { Screen } from '../screen';

const ROLES: Role[] = ['admin', 'supervisor', 'analyst', 'trainer', 'trainee'];
const UNDELIVERED_REFRESH_MS = 5000;

interface Pool {
  name: string;
  fourEyesRisk: number | null;
  fourEyesOnInspect: boolean;
  members: { id: string; username: string }[];
}
interface User {
  id: string;
  username: string;
  roles: Role[];
}

/**
 * Stations (with their key and secret shown once), analyst pools with their four-eyes rules and members,
 * users and roles, undelivered results with redelivery.
 */
export function adminScreen(_session: Session): Screen {
  const stations = h('tbody');
  const pools = h('tbody');
  const users = h('tbody');
  const undelivered = h('tbody');
  const undeliveredStatus = h('span', { class: 'muted' });
  const message = h('p', { class: 'notice', role: 'status', hidden: true });
  let poolList: Pool[] = [];
  let userList: User[] = [];
  let stopped = false;
  let timer: number | undefined;
  let generation = 0;

  const say = (text: string, tone: 'info' | 'warn' = 'info') => {
    message.hidden = false;
    message.className = `notice ${tone}`;
    message.textContent = text;
  };
  const failure = (error: unknown) => say(error instanceof Error ? error.message : String(error), 'warn');

  // --- stations
  const stationPool = h('select', { name: 'pool', required: true }, h('option', { value: 'central' }, 'central'));
  const stationForm = h(
    'form',
    { class: 'inline-form', id: 'station-form' },
    h('label', {}, 'Name', h('input', { name: 'name', required: true, minlength: 2, maxlength: 100, size: 18 })),
    h('label', {}, 'Country', h('input', { name: 'country', required: true, pattern: '[A-Za-z]{2}', size: 3, placeholder: 'EE', title: 'ISO 3166-1 alpha-2, such as EE, LV or LT' })),
    h('label', {}, 'Vendor', h('input', { name: 'vendor', maxlength: 100, size: 12 })),
    h('label', {}, 'Callback URL (blank: the station pulls)', h('input', { name: 'callbackUrl', type: 'url', placeholder: 'https://station.example/niix', size: 32 })),
    h('label', {}, 'Pool', stationPool),
    h('label', {}, 'SLA (s)', h('input', { name: 'slaSeconds', type: 'number', min: 30, max: 604800, value: 600, required: true, style: 'width:7em' })),
    h('label', {}, 'Risk (0–100)', h('input', { name: 'riskLevel', type: 'number', min: 0, max: 100, value: 0, required: true, style: 'width:5em' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create station'),
  );
  stationForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(stationForm);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const button = stationForm.querySelector<HTMLButtonElement>('button[type=submit]')!;
    button.disabled = true;
    try {
      const created = await call(
        api.POST('/api/v1/stations', {
          body: {
            name: text('name'),
            country: text('country').toUpperCase(),
            vendor: text('vendor') || undefined,
            callbackUrl: text('callbackUrl') || undefined,
            pool: text('pool'),
            slaSeconds: Number(text('slaSeconds')),
            riskLevel: Number(text('riskLevel')),
          },
        }),
      );
      stationForm.reset();
      say(`Station ${created.name} created.`);
      showSecretsOnce(created.name, created.apiKey, created.webhookSecret);
      void loadStations();
    } catch (error) {
      failure(error);
    } finally {
      button.disabled = false;
    }
  });

  async function loadStations() {
    try {
      const list = await call(api.GET('/api/v1/stations', {}));
      replace(
        stations,
        list.length ? null : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No stations yet: create the first one above.')),
        list.map((station) =>
          h(
            'tr',
            { 'data-station': station.id, 'data-name': station.name },
            h('td', {}, station.name),
            h('td', {}, station.country),
            h('td', {}, station.vendor ?? '—'),
            h('td', { class: 'mono' }, station.callbackUrl ?? h('span', { class: 'muted' }, 'pull only')),
            h('td', {}, station.pool),
            h('td', { class: 'num' }, formatDuration(station.slaSeconds)),
            h('td', { class: 'num' }, formatNumber(station.riskLevel)),
            h('td', { class: 'num' }, formatDateTime(station.createdAt)),
          ),
        ),
      );
    } catch (error) {
      failure(error);
    }
  }

  // --- pools and their members
  const poolName = h('input', { name: 'name', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,39}', size: 14, placeholder: 'new-pool', title: 'lower-case letters, digits and dashes' });
  const poolRisk = h('input', { name: 'fourEyesRisk', type: 'number', min: 0, max: 100, placeholder: 'never', style: 'width:6em' });
  const poolInspect = h('input', { type: 'checkbox', name: 'fourEyesOnInspect' });
  const poolForm = h(
    'form',
    { class: 'inline-form', id: 'pool-form' },
    h('label', {}, 'Pool', poolName),
    h('label', { title: 'a second analyst decides cases from this risk score up; blank: never' }, 'Second analyst from risk', poolRisk),
    h('label', { class: 'check', title: 'a second analyst confirms every inspect decision' }, poolInspect, 'second analyst on inspect'),
    h('button', { type: 'submit', class: 'primary' }, 'Save pool'),
  );
  poolForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = poolName.value.trim();
    const risk = poolRisk.value.trim();
    try {
      await call(api.PUT('/api/v1/pools/{name}', { params: { path: { name } }, body: { fourEyesRisk: risk === '' ? null : Number(risk), fourEyesOnInspect: poolInspect.checked } }));
      poolForm.reset();
      say(`Pool ${name} saved.`);
      await loadPools();
    } catch (error) {
      failure(error);
    }
  });

  async function loadPools() {
    try {
      poolList = await call(api.GET('/api/v1/pools', {}));
      const chosen = stationPool.value;
      replace(stationPool, poolList.map((pool) => h('option', { value: pool.name, selected: pool.name === 'central' }, pool.name)));
      stationPool.value = poolList.some((pool) => pool.name === chosen) ? chosen : poolList.some((pool) => pool.name === 'central') ? 'central' : (poolList[0]?.name ?? '');
      renderPools();
      renderUsers();
    } catch (error) {
      failure(error);
    }
  }

  function renderPools() {
    const analysts = userList.filter((user) => user.roles.includes('analyst'));
    replace(
      pools,
      poolList.map((pool) => {
        const memberIds = new Set(pool.members.map((member) => member.id));
        const candidates = analysts.filter((user) => !memberIds.has(user.id));
        const add = h('select', { name: 'member', 'aria-label': `Add an analyst to ${pool.name}` }, h('option', { value: '' }, candidates.length ? 'add analyst…' : 'no analyst left'), candidates.map((user) => h('option', { value: user.id }, user.username)));
        add.disabled = !candidates.length;
        add.addEventListener('change', () => {
          if (add.value) void addMember(pool.name, add.value, add);
        });
        return h(
          'tr',
          { 'data-pool': pool.name },
          h('td', { style: 'white-space:nowrap' }, pool.name),
          h('td', {}, fourEyes(pool), ' ', h('button', { type: 'button', class: 'small ghost', title: 'Change the four-eyes rules of this pool', onclick: () => editPool(pool) }, 'Edit')),
          h(
            'td',
            { class: 'members' },
            pool.members.length
              ? pool.members.map((member) =>
                  h(
                    'span',
                    { class: 'badge member', 'data-user': member.id, style: 'display:inline-flex;align-items:center;gap:2px;margin:1px 4px 1px 0' },
                    member.username,
                    h('button', { type: 'button', class: 'small ghost', style: 'border:none;padding:0 3px', title: `Remove ${member.username} from ${pool.name}`, 'aria-label': `Remove ${member.username} from ${pool.name}`, onclick: (event: Event) => void removeMember(pool.name, member, event.currentTarget as HTMLButtonElement) }, '×'),
                  ),
                )
              : h('span', { class: 'muted' }, pool.name === 'central' ? 'analysts without a pool work here' : 'nobody yet'),
          ),
          h('td', {}, add),
        );
      }),
    );
  }

  function editPool(pool: Pool) {
    poolName.value = pool.name;
    poolRisk.value = pool.fourEyesRisk === null ? '' : String(pool.fourEyesRisk);
    poolInspect.checked = pool.fourEyesOnInspect;
    poolRisk.focus();
  }

  async function addMember(pool: string, userId: string, select: HTMLSelectElement) {
    select.disabled = true;
    try {
      await call(api.PUT('/api/v1/pools/{name}/members/{userId}', { params: { path: { name: pool, userId } } }));
      say(`${userList.find((user) => user.id === userId)?.username ?? 'The user'} now works in pool ${pool}.`);
    } catch (error) {
      failure(error);
    }
    await loadPools();
  }

  async function removeMember(pool: string, member: { id: string; username: string }, button: HTMLButtonElement) {
    button.disabled = true;
    try {
      await call(api.DELETE('/api/v1/pools/{name}/members/{userId}', { params: { path: { name: pool, userId: member.id } } }));
      say(`${member.username} no longer works in pool ${pool}.`);
    } catch (error) {
      failure(error);
    }
    await loadPools();
  }

  // --- users
  const userForm = h(
    'form',
    { class: 'inline-form', id: 'user-form' },
    h('label', {}, 'User name', h('input', { name: 'username', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{1,62}', size: 14, autocomplete: 'off', title: 'lower-case letters, digits, dot, dash or underscore' })),
    h('label', {}, 'Password (10+)', h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password', size: 14 })),
    h('fieldset', { class: 'roles' }, h('legend', {}, 'Roles'), ROLES.map((role) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'roles', value: role }), role))),
    h('button', { type: 'submit', class: 'primary' }, 'Create user'),
  );
  userForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(userForm);
    const roles = form.getAll('roles').map(String) as Role[];
    if (!roles.length) return say('Give the user at least one role.', 'warn');
    try {
      const created = await call(api.POST('/api/v1/users', { body: { username: String(form.get('username')).trim(), password: String(form.get('password')), roles } }));
      userForm.reset();
      say(`User ${created.username} created (${created.roles.join(', ')}).`);
      await loadUsers();
    } catch (error) {
      failure(error);
    }
  });

  async function loadUsers() {
    try {
      userList = await call(api.GET('/api/v1/users', {}));
      renderUsers();
      renderPools();
    } catch (error) {
      failure(error);
    }
  }

  function renderUsers() {
    replace(
      users,
      userList.map((user) => {
        const memberOf = poolList.filter((pool) => pool.members.some((member) => member.id === user.id)).map((pool) => pool.name);
        const works = user.roles.includes('analyst');
        return h(
          'tr',
          { 'data-user': user.id, 'data-username': user.username },
          h('td', {}, user.username),
          h('td', {}, user.roles.join(', ')),
          h('td', { class: memberOf.length ? null : 'muted' }, memberOf.length ? memberOf.join(', ') : works ? 'central (no pool)' : '—'),
        );
      }),
    );
  }

  // --- undelivered results
  /** The list, then again in UNDELIVERED_REFRESH_MS; a newer load supersedes one in flight. */
  async function loadUndelivered() {
    window.clearTimeout(timer);
    const run = ++generation;
    try {
      const list = await call(api.GET('/api/v1/admin/undelivered', {}));
      if (stopped || run !== generation) return;
      undeliveredStatus.textContent = list.results.length ? `${formatNumber(list.results.length)} waiting for an administrator` : '';
      replace(
        undelivered,
        list.results.length ? null : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'Every result was delivered or is still being retried.')),
        list.results.map((row) =>
          h(
            'tr',
            { 'data-result': row.resultId, 'data-scan': row.scanId },
            h('td', {}, row.stationName),
            h('td', { class: 'mono', title: row.scanId }, row.scanId.slice(0, 8)),
            h('td', {}, row.kind),
            h('td', { class: 'num', 'data-field': 'attempts' }, formatNumber(row.attempts)),
            h('td', { class: 'error-text', style: 'max-width:28em;overflow-wrap:anywhere' }, row.lastError ?? '—'),
            h('td', { class: 'num' }, formatDateTime(row.createdAt)),
            h('td', { class: 'num' }, formatDateTime(row.undeliveredAt)),
            h('td', {}, h('button', { class: 'small redeliver', type: 'button', onclick: (event: Event) => void redeliver(row.resultId, event.currentTarget as HTMLButtonElement) }, 'Redeliver')),
          ),
        ),
      );
    } catch (error) {
      if (stopped || run !== generation) return;
      failure(error);
    }
    if (!stopped) timer = window.setTimeout(() => void loadUndelivered(), UNDELIVERED_REFRESH_MS);
  }

  async function redeliver(resultId: string, button: HTMLButtonElement) {
    button.disabled = true;
    try {
      await call(api.POST('/api/v1/admin/results/{resultId}/redeliver', { params: { path: { resultId } } }));
      say(`Result ${resultId} sent again with a fresh retry schedule.`);
      await loadUndelivered();
    } catch (error) {
      button.disabled = false;
      failure(error);
    }
  }

  const table = (id: string, titles: string[], body: HTMLElement, numeric: number[] = []) =>
    h('table', { class: 'grid', id }, h('thead', {}, h('tr', {}, titles.map((title, index) => h('th', numeric.includes(index) ? { class: 'num', style: 'text-align:right' } : {}, title)))), body);
  const element = h(
    'main',
    { class: 'admin page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Administration')),
    message,
    h('section', { id: 'stations-section' }, h('h2', {}, 'Stations'), stationForm, table('stations', ['Name', 'Country', 'Vendor', 'Callback URL', 'Pool', 'SLA', 'Risk', 'Created'], stations, [5, 6, 7])),
    h(
      'div',
      { class: 'columns' },
      h('section', { id: 'pools-section' }, h('h2', {}, 'Analyst pools'), poolForm, table('pools', ['Pool', 'Four-eyes', 'Members', ''], pools)),
      h('section', { id: 'users-section' }, h('h2', {}, 'Users and roles'), userForm, table('users', ['User', 'Roles', 'Pools'], users)),
    ),
    h(
      'section',
      { id: 'undelivered-section' },
      h('div', { class: 'page-head' }, h('h2', {}, 'Undelivered results'), undeliveredStatus, h('button', { type: 'button', class: 'small ghost', onclick: () => void loadUndelivered() }, 'Refresh')),
      table('undelivered', ['Station', 'Scan', 'Kind', 'Attempts', 'Last error', 'Result from', 'Gave up', ''], undelivered, [3, 5, 6]),
    ),
  );
  void loadStations();
  void Promise.all([loadUsers(), loadPools()]);
  void loadUndelivered();
  return {
    element,
    shortcuts: [{ key: 'r', label: 'Refresh undelivered results', run: () => void loadUndelivered() }],
    destroy() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}

function fourEyes(pool: Pick<Pool, 'fourEyesRisk' | 'fourEyesOnInspect'>): string {
  const rules = [pool.fourEyesRisk !== null ? `risk ≥ ${formatNumber(pool.fourEyesRisk)}` : null, pool.fourEyesOnInspect ? 'on inspect' : null].filter(Boolean);
  return rules.length ? `second analyst: ${rules.join(', ')}` : 'one analyst';
}

/** The station's API key and webhook secret: niix keeps only a hash of the key, so this is the only time they show. */
function showSecretsOnce(name: string, apiKey: string, webhookSecret: string): void {
  const copy = (value: string) => h('button', { type: 'button', class: 'small', onclick: () => void navigator.clipboard?.writeText(value) }, 'Copy');
  const dialog = h(
    'dialog',
    { class: 'secrets', 'aria-label': 'Station credentials' },
    h('h2', {}, `Station ${name} created`),
    h('p', { class: 'notice warn' }, 'Copy these now: they are shown only once. The API key cannot be read again.'),
    h('dl', {}, h('dt', {}, 'API key'), h('dd', {}, h('code', { id: 'new-api-key' }, apiKey), ' ', copy(apiKey)), h('dt', {}, 'Webhook secret'), h('dd', {}, h('code', { id: 'new-webhook-secret' }, webhookSecret), ' ', copy(webhookSecret))),
    h('form', { method: 'dialog' }, h('button', { type: 'submit', class: 'primary', id: 'secrets-stored' }, 'I have stored them')),
  );
  // the secrets leave the page with the dialog: nothing keeps them
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
