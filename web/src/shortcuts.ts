import { h, typingInField } from './dom';

export interface Shortcut {
  /** KeyboardEvent.key, compared case-insensitively ('n', '?', 'Delete'). */
  key: string;
  label: string;
  run(event: KeyboardEvent): void;
  /** Shown in the help but handled elsewhere (e.g. Shift+drag). */
  display?: string;
  /** Heading the shortcut is listed under in the help (e.g. "Image tools"); ungrouped ones come first. */
  group?: string;
}

let screenShortcuts: Shortcut[] = [];
const globalShortcuts: Shortcut[] = [{ key: '?', label: 'Show or hide these shortcuts', run: () => toggleHelp() }];

export function setScreenShortcuts(list: Shortcut[]): void {
  screenShortcuts = list;
}

let help: HTMLDialogElement | null = null;

export function toggleHelp(): void {
  if (help?.open) {
    help.close();
    return;
  }
  help?.remove();
  const all = [...screenShortcuts, ...globalShortcuts];
  const groups = [undefined, ...new Set(all.map((shortcut) => shortcut.group).filter((group) => group !== undefined))];
  const rows = groups.flatMap((group) => [
    group ? h('tr', { class: 'group' }, h('th', { colspan: 2 }, group)) : null,
    ...all
      .filter((shortcut) => shortcut.group === group)
      .map((shortcut) => h('tr', {}, h('td', {}, h('kbd', {}, shortcut.display ?? (shortcut.key.length === 1 ? shortcut.key.toUpperCase() : shortcut.key))), h('td', {}, shortcut.label))),
  ]);
  help = h(
    'dialog',
    { class: 'help', 'aria-label': 'Keyboard shortcuts' },
    h('h2', {}, 'Keyboard shortcuts'),
    h('table', {}, h('tbody', {}, rows)),
    h('form', { method: 'dialog' }, h('button', { type: 'submit' }, 'Close (Esc)')),
  );
  document.body.append(help);
  help.showModal();
}

export function installShortcuts(): void {
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (typingInField(event)) return;
    if (document.querySelector('dialog[open]:not(.help)')) return;
    const key = event.key.toLowerCase();
    const match = [...screenShortcuts, ...globalShortcuts].find((shortcut) => !shortcut.display && shortcut.key.toLowerCase() === key);
    if (!match) return;
    if (key !== '?' && help?.open) return;
    event.preventDefault();
    match.run(event);
  });
}
