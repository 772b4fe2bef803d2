import { h, replace } from '../dom';
import { formatNumber } from '../format';
import { CATEGORIES } from '../viewer';
import { sessionTable, setOverview } from './set-view';
import { type ArchiveCase, type CreateSet, type SetDetail, type ThreatItem, type Trainee, trainingApi } from './training-api';

const POLL_MS = 1000;

export interface SetComposer {
  element: HTMLElement;
  /** The picked archive cases changed. */
  pickedChanged(): void;
  /** Loads the trainees and threat items again. */
  reload(): Promise<void>;
  destroy(): void;
}

/**
 * Builds a training set from the picked archive cases: name, mode, hidden identities, projected threats (a share of
 * threat cases, or a count), the categories and items to project, the trainees. After Create it follows the set
 * while its projected cases are made (GET every second) and shows its sessions once ready.
 */
export function setComposer(picked: () => ArchiveCase[], clearPicks: () => void, say: (text: string, tone?: 'info' | 'warn') => void): SetComposer {
  let trainees: Trainee[] = [];
  let items: ThreatItem[] = [];
  let timer: number | undefined;
  let stopped = false;

  const summary = h('p', { id: 'picked-summary' });
  const share = h('input', { type: 'range', name: 'threatShare', min: 0, max: 100, step: 5, value: 30, 'aria-label': 'Threat share (%)' });
  const shareValue = h('input', { type: 'number', name: 'threatSharePercent', min: 0, max: 100, step: 1, value: 30, style: 'width:5em', 'aria-label': 'Threat share in percent' });
  const count = h('input', { type: 'number', name: 'projectedCount', min: 0, max: 500, value: 1, style: 'width:6em', 'aria-label': 'Projected threat count' });
  share.addEventListener('input', () => (shareValue.value = share.value));
  shareValue.addEventListener('input', () => (share.value = shareValue.value));
  const threatBy = (value: string, label: string, checked = false) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'threatBy', value, checked }), label);
  const categoryBoxes = h('div', { class: 'checks', id: 'set-categories' }, CATEGORIES.map((category) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'category', value: category }), category.replace('_', ' '))));
  const itemBoxes = h('div', { class: 'checks', id: 'set-items' });
  const traineeBoxes = h('div', { class: 'checks', id: 'set-trainees' });
  const create = h('button', { type: 'submit', class: 'primary', id: 'create-set' }, 'Create the set');
  const form = h(
    'form',
    { class: 'composer', id: 'set-form' },
    h('h2', {}, 'New training set'),
    summary,
    h('label', { class: 'stack' }, 'Name', h('input', { name: 'name', required: true, maxlength: 120, placeholder: 'e.g. Week 12 exam: concealment' })),
    h('fieldset', {}, h('legend', {}, 'Mode'), h('label', { class: 'check' }, h('input', { type: 'radio', name: 'mode', value: 'exam', checked: true }), 'Exam (no feedback)'), h('label', { class: 'check' }, h('input', { type: 'radio', name: 'mode', value: 'practice' }), 'Practice (the truth after each answer)')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'hideIdentity' }), 'Hide station names and licence plates'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Projected threats (TIP) on clean cases'),
      h('div', { class: 'row' }, threatBy('share', 'Threat share', true), share, shareValue, h('span', { class: 'muted' }, '%')),
      h('div', { class: 'row' }, threatBy('count', 'Projected count'), count),
      h('div', { class: 'row' }, threatBy('none', 'None: archived cases as they are')),
    ),
    h('fieldset', {}, h('legend', {}, 'Categories to project (none: every category)'), categoryBoxes),
    h('fieldset', {}, h('legend', {}, 'Threat items (none: every item not retired)'), itemBoxes),
    h('fieldset', {}, h('legend', {}, 'Trainees'), traineeBoxes),
    h('div', { class: 'row' }, create, h('button', { type: 'button', class: 'ghost', onclick: () => clearPicks() }, 'Clear the picks')),
  );
  const status = h('section', { id: 'set-status', hidden: true });
  const element = h('div', { class: 'composer-column' }, status, form);

  function pickedChanged() {
    const cases = picked();
    const found = cases.filter((item) => item.outcome?.found).length;
    summary.textContent = cases.length ? `${formatNumber(cases.length)} archived case(s) picked: ${formatNumber(found)} found, ${formatNumber(cases.length - found)} clean.` : 'Pick cases in the archive (only cases with a reported outcome).';
    summary.className = cases.length ? '' : 'muted';
    create.disabled = cases.length === 0;
  }

  async function reload() {
    try {
      [trainees, items] = await Promise.all([trainingApi.trainees(), trainingApi.threatItems()]);
    } catch (error) {
      say(`Cannot load the trainees and threat items: ${error instanceof Error ? error.message : String(error)}`, 'warn');
      return;
    }
    const chosen = (container: HTMLElement) => new Set([...container.querySelectorAll<HTMLInputElement>('input:checked')].map((box) => box.value));
    const keepTrainees = chosen(traineeBoxes);
    const keepItems = chosen(itemBoxes);
    replace(
      traineeBoxes,
      trainees.length ? null : h('span', { class: 'muted' }, 'No user has the trainee role yet.'),
      trainees.map((trainee) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'trainee', value: trainee.id, checked: keepTrainees.has(trainee.id) }), trainee.username)),
    );
    const active = items.filter((item) => !item.retired);
    replace(
      itemBoxes,
      active.length ? null : h('span', { class: 'muted' }, 'The threat library is empty.'),
      active.map((item) => h('label', { class: 'check', title: item.description }, h('input', { type: 'checkbox', name: 'item', value: item.id, checked: keepItems.has(item.id) }), `${item.name} (${item.category.replace('_', ' ')})`)),
    );
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const all = (name: string) => data.getAll(name).map(String);
    const by = String(data.get('threatBy'));
    const body: CreateSet = {
      name: String(data.get('name') ?? '').trim(),
      mode: data.get('mode') === 'practice' ? 'practice' : 'exam',
      hideIdentity: data.get('hideIdentity') === 'on',
      archivedScanIds: picked().map((item) => item.scanId),
      threatShare: by === 'share' ? Number(shareValue.value) / 100 : undefined,
      projectedCount: by === 'count' ? Number(count.value) : by === 'none' ? 0 : undefined,
      categories: all('category').length ? (all('category') as CreateSet['categories']) : undefined,
      threatItemIds: all('item').length ? all('item') : undefined,
      traineeIds: all('trainee'),
    };
    create.disabled = true;
    try {
      const set = await trainingApi.createSet(body);
      say(`Set “${set.name}” created: its ${formatNumber(set.cases.total)} cases are being prepared.`);
      form.reset();
      shareValue.value = share.value;
      clearPicks();
      follow(set);
    } catch (error) {
      say(`The set was refused: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    } finally {
      pickedChanged();
    }
  });

  /** Shows the set; polls it every second while preparing. */
  function follow(set: SetDetail) {
    window.clearTimeout(timer);
    if (stopped) return;
    const first = status.hidden || status.querySelector('.set-overview')?.getAttribute('data-set') !== set.id;
    status.hidden = false;
    const assigned = new Set(set.sessionList.map((session) => session.traineeId));
    const others = trainees.filter((trainee) => !assigned.has(trainee.id));
    const target = h('select', { 'aria-label': 'Trainee to assign' }, others.map((trainee) => h('option', { value: trainee.id }, trainee.username)));
    const assign = h('button', { class: 'small', disabled: !others.length }, 'Assign');
    assign.addEventListener('click', async () => {
      assign.disabled = true;
      try {
        follow(await trainingApi.assign(set.id, [target.value]));
      } catch (error) {
        say(`The assignment was refused: ${error instanceof Error ? error.message : String(error)}`, 'warn');
        assign.disabled = false;
      }
    });
    replace(
      status,
      h('div', { class: 'page-head' }, h('h2', {}, 'The new set'), h('span', { class: 'spacer' }), h('button', { class: 'ghost small', title: 'Hide', onclick: () => (status.hidden = true) }, '✕')),
      setOverview(set),
      h('h3', {}, 'Sessions'),
      sessionTable(set.sessionList),
      others.length ? h('div', { class: 'row' }, target, assign) : null,
    );
    if (first) status.scrollIntoView({ block: 'nearest' });
    if (set.status === 'preparing') {
      timer = window.setTimeout(async () => {
        try {
          follow(await trainingApi.set(set.id));
        } catch (error) {
          say(`Cannot follow the set: ${error instanceof Error ? error.message : String(error)}`, 'warn');
        }
      }, POLL_MS);
    }
  }

  pickedChanged();
  return {
    element,
    pickedChanged,
    reload,
    destroy() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
