import { api, call, type Role, type Session } from '../api';
import { h, replace } from '../dom';
import { formatDateTime, formatDuration, formatNumber } from '../format';
import type { Screen } from '../screen';

const ROLES: Role[] = ['admin', 'supervisor', 'analyst', 'trainer', 'trainee'];

/** Stations (with their key and secret shown once), users and roles, undelivered results with redelivery. */
export function adminScreen(_session: Session): Screen {
  const stations = h('tbody');
  const users = h('tbody');
  const undelivered = h('tbody');
  const message = h('p', { class: 'notice', role: 'status', hidden: true });

  const say = (text: string, tone: 'info' | 'warn' = 'info') => {
    message.hidden = false;
    message.className = `notice ${tone}`;
    message.textContent = text;
  };
  const failure = (error: unknown) => say(error instanceof Error ? error.message : String(error), 'warn');

  // --- stations
  const poolOptions = h('datalist', { id: 'pool-names' });
  const stationForm = h(
    'form',
    { class: 'inline-form', id: 'station-form' },
    h('label', {}, 'Name', h('input', { name: 'name', required: true, minlength: 2, maxlength: 100 })),
    h('label', {}, 'Country', h('input', { name: 'country', required: true, pattern: '[A-Z]{2}', size: 3, placeholder: 'EE' })),
    h('label', {}, 'Vendor', h('input', { name: 'vendor', maxlength: 100 })),
    h('label', {}, 'Callback URL', h('input', { name: 'callbackUrl', type: 'url', placeholder: 'https://…' })),
    h('label', {}, 'Pool', h('input', { name: 'pool', value: 'central', list: 'pool-names', required: true })),
    h('label', {}, 'SLA (s)', h('input', { name: 'slaSeconds', type: 'number', min: 30, value: 600, required: true })),
    h('label', {}, 'Risk', h('input', { name: 'riskLevel', type: 'number', min: 0, max: 100, value: 0, required: true })),
    h('button', { type: 'submit', class: 'primary' }, 'Create station'),
    poolOptions,
  );
  stationForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(stationForm);
    const text = (name: string) => String(form.get(name) ?? '').trim();
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
      showSecretsOnce(created.name, created.apiKey, created.webhookSecret);
      void loadStations();
    } catch (error) {
      failure(error);
    }
  });

  async function loadStations() {
    try {
      const [list, pools] = await Promise.all([call(api.GET('/api/v1/stations', {})), call(api.GET('/api/v1/pools', {}))]);
      replace(poolOptions, pools.map((pool) => h('option', { value: pool.name })));
      replace(
        stations,
        list.map((station) =>
          h(
            'tr',
            {},
            h('td', {}, station.name),
            h('td', {}, station.country),
            h('td', {}, station.vendor ?? '—'),
            h('td', { class: 'mono' }, station.callbackUrl ?? '—'),
            h('td', {}, station.pool),
            h('td', { class: 'num' }, formatDuration(station.slaSeconds)),
            h('td', { class: 'num' }, formatNumber(station.riskLevel)),
            h('td', {}, formatDateTime(station.createdAt)),
          ),
        ),
      );
    } catch (error) {
      failure(error);
    }
  }

  // --- users
  const userForm = h(
    'form',
    { class: 'inline-form', id: 'user-form' },
    h('label', {}, 'User name', h('input', { name: 'username', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{1,62}' })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' })),
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
      say(`User ${created.username} created.`);
      void loadUsers();
    } catch (error) {
      failure(error);
    }
  });

  async function loadUsers() {
    try {
      const list = await call(api.GET('/api/v1/users', {}));
      replace(users, list.map((user) => h('tr', {}, h('td', {}, user.username), h('td', {}, user.roles.join(', ')))));
    } catch (error) {
      failure(error);
    }
  }

  // --- undelivered results
  async function loadUndelivered() {
    try {
      const list = await call(api.GET('/api/v1/admin/undelivered', {}));
      replace(
        undelivered,
        list.results.length ? null : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Every result was delivered.')),
        list.results.map((row) =>
          h(
            'tr',
            {},
            h('td', {}, row.stationName),
            h('td', { class: 'mono', title: row.scanId }, row.scanId.slice(0, 8)),
            h('td', {}, row.kind),
            h('td', { class: 'num' }, formatNumber(row.attempts)),
            h('td', { class: 'error-text' }, row.lastError ?? '—'),
            h('td', {}, formatDateTime(row.undeliveredAt)),
            h('td', {}, h('button', { class: 'small', onclick: (event: Event) => void redeliver(row.resultId, event.currentTarget as HTMLButtonElement) }, 'Redeliver')),
          ),
        ),
      );
    } catch (error) {
      failure(error);
    }
  }

  async function redeliver(resultId: string, button: HTMLButtonElement) {
    button.disabled = true;
    try {
      await call(api.POST('/api/v1/admin/results/{resultId}/redeliver', { params: { path: { resultId } } }));
      say('Sent again with a fresh retry schedule.');
      void loadUndelivered();
    } catch (error) {
      button.disabled = false;
      failure(error);
    }
  }

  const table = (id: string, titles: string[], body: HTMLElement) => h('table', { class: 'grid', id }, h('thead', {}, h('tr', {}, titles.map((title) => h('th', {}, title)))), body);
  const element = h(
    'main',
    { class: 'admin page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Administration')),
    message,
    h('section', {}, h('h2', {}, 'Stations'), stationForm, table('stations', ['Name', 'Country', 'Vendor', 'Callback URL', 'Pool', 'SLA', 'Risk', 'Created'], stations)),
    h(
      'div',
      { class: 'columns' },
      h('section', {}, h('h2', {}, 'Users and roles'), userForm, table('users', ['User', 'Roles'], users)),
      h('section', {}, h('h2', {}, 'Undelivered results'), table('undelivered', ['Station', 'Scan', 'Kind', 'Attempts', 'Last error', 'Gave up', ''], undelivered)),
    ),
  );
  void loadStations();
  void loadUsers();
  void loadUndelivered();
  return { element, shortcuts: [], destroy() {} };
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
    h('form', { method: 'dialog' }, h('button', { type: 'submit', class: 'primary' }, 'I have stored them')),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
