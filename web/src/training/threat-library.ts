import { h, replace } from '../dom';
import { formatDateTime, formatNumber } from '../format';
import { authorizedImage } from '../media';
import { CATEGORIES } from '../viewer';
import { type ThreatItem, trainingApi } from './training-api';

export interface ThreatLibrary {
  element: HTMLElement;
  reload(): Promise<void>;
}

/**
 * The threat library: a card per item (preview, category, name, source, size) with retire / restore, and the upload
 * of a new item (two 16-bit PNG planes, high and low energy, with an optional 8-bit mask).
 */
export function threatLibrary(say: (text: string, tone?: 'info' | 'warn') => void, changed: () => void): ThreatLibrary {
  const cards = h('div', { class: 'cards', id: 'threat-items' });
  const form = h(
    'form',
    { class: 'inline-form', id: 'threat-form' },
    h('label', {}, 'Name', h('input', { name: 'name', required: true, maxlength: 120, size: 18 })),
    h('label', {}, 'Category', h('select', { name: 'category', required: true }, CATEGORIES.map((category) => h('option', { value: category }, category.replace('_', ' '))))),
    h('label', {}, 'Description', h('input', { name: 'description', maxlength: 1000, size: 28 })),
    h('label', {}, 'Pixel spacing (mm)', h('input', { name: 'pixelSpacingMm', type: 'number', min: 0.05, max: 50, step: 0.01, value: 1, required: true, style: 'width:6em' })),
    h('label', {}, 'Air value', h('input', { name: 'airValue', type: 'number', min: 1, max: 65535, step: 1, value: 60000, required: true, style: 'width:7em' })),
    h('label', {}, 'High energy (16-bit PNG)', h('input', { name: 'high', type: 'file', accept: 'image/png', required: true })),
    h('label', {}, 'Low energy (16-bit PNG)', h('input', { name: 'low', type: 'file', accept: 'image/png', required: true })),
    h('label', {}, 'Mask (8-bit PNG, optional)', h('input', { name: 'mask', type: 'file', accept: 'image/png' })),
    h('button', { type: 'submit', class: 'primary' }, 'Add to the library'),
  );
  const element = h(
    'section',
    { class: 'library' },
    h('h2', {}, 'Threat library'),
    h('p', { class: 'muted' }, 'Threat images projected into clean archived cases (TIP). Retired items stay in the sets that use them but are not chosen for new sets.'),
    cards,
    h('h2', {}, 'Add an item'),
    form,
  );

  function card(item: ThreatItem): HTMLElement {
    const button = h('button', { class: 'small retire' }, item.retired ? 'Restore' : 'Retire');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const updated = await trainingApi.setRetired(item.id, !item.retired);
        cardElement.replaceWith(card(updated));
        say(`${updated.name} ${updated.retired ? 'retired' : 'restored'}.`);
        changed();
      } catch (error) {
        button.disabled = false;
        say(`Cannot change ${item.name}: ${error instanceof Error ? error.message : String(error)}`, 'warn');
      }
    });
    const cardElement = h(
      'article',
      { class: `threat-card${item.retired ? ' retired' : ''}`, 'data-item': item.id, 'data-retired': String(item.retired) },
      h('div', { class: 'preview' }, authorizedImage(`/api/v1/training/threat-items/${encodeURIComponent(item.id)}/preview`, { alt: item.name })),
      h('div', { class: 'card-head' }, h('strong', {}, item.name), h('span', { class: 'badge' }, item.category.replace('_', ' '))),
      h('p', { class: 'muted' }, item.description || '—'),
      h(
        'div',
        { class: 'card-foot' },
        h('span', { class: 'muted', title: `added ${formatDateTime(item.createdAt)}` }, `${item.source} · ${formatNumber(item.width)} × ${formatNumber(item.height)} px · ${formatNumber(item.pixelSpacingMm)} mm/px`),
        item.retired ? h('span', { class: 'caution' }, 'retired') : null,
        button,
      ),
    );
    return cardElement;
  }

  async function reload() {
    try {
      const items = await trainingApi.threatItems();
      replace(cards, items.length ? null : h('p', { class: 'muted' }, 'No threat items yet.'), items.map(card));
    } catch (error) {
      say(`Cannot load the threat library: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const mask = data.get('mask');
    if (mask instanceof File && mask.size === 0) data.delete('mask');
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
    button.disabled = true;
    try {
      const item = await trainingApi.uploadThreatItem(data);
      form.reset();
      cards.querySelector('p.muted')?.remove();
      cards.prepend(card(item));
      say(`${item.name} added to the library.`);
      changed();
    } catch (error) {
      say(`The item was refused: ${error instanceof Error ? error.message : String(error)}`, 'warn');
    } finally {
      button.disabled = false;
    }
  });

  return { element, reload };
}
