import type { Session } from '../api';
import { h } from '../dom';
import type { Screen } from '../screen';
import { archiveSearch } from '../training/archive-search';
import { trainingDashboard } from '../training/dashboard';
import { setComposer } from '../training/set-composer';
import { threatLibrary } from '../training/threat-library';

type Tab = 'build' | 'library' | 'dashboard';
const TABS: { tab: Tab; label: string }[] = [
  { tab: 'build', label: 'Build a set' },
  { tab: 'library', label: 'Threat library' },
  { tab: 'dashboard', label: 'Dashboard' },
];

/**
 * The trainer's screen: the archive of decided cases with outcomes and the set composer beside it, the threat
 * library, and the dashboard of sets and trainees' scores.
 */
export function trainerScreen(_session: Session): Screen {
  const message = h('p', { class: 'notice', role: 'status', hidden: true });
  const say = (text: string, tone: 'info' | 'warn' = 'info') => {
    message.hidden = false;
    message.className = `notice ${tone}`;
    message.textContent = text;
  };
  const archive = archiveSearch(say, () => composer.pickedChanged());
  const composer = setComposer(archive.picked, () => archive.clearPicks(), say);
  const library = threatLibrary(say, () => void composer.reload());
  const dashboard = trainingDashboard(say);
  const panels: Record<Tab, HTMLElement> = {
    build: h('div', { class: 'build', 'data-panel': 'build' }, archive.element, composer.element),
    library: h('div', { 'data-panel': 'library' }, library.element),
    dashboard: h('div', { 'data-panel': 'dashboard' }, dashboard.element),
  };
  const buttons = TABS.map(({ tab, label }) => h('button', { class: 'tab', 'data-tab': tab, role: 'tab', onclick: () => show(tab) }, label));
  const element = h(
    'main',
    { class: 'trainer page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Training'), h('nav', { class: 'tabs', role: 'tablist' }, buttons)),
    message,
    Object.values(panels),
  );

  function show(tab: Tab) {
    for (const [name, panel] of Object.entries(panels)) panel.hidden = name !== tab;
    for (const button of buttons) {
      const on = button.dataset.tab === tab;
      button.classList.toggle('active', on);
      button.setAttribute('aria-selected', String(on));
    }
    if (tab === 'library') void library.reload();
    if (tab === 'dashboard') void dashboard.reload();
  }

  show('build');
  void archive.search();
  void composer.reload();
  return {
    element,
    shortcuts: [
      { key: '1', label: 'Build a set', run: () => show('build') },
      { key: '2', label: 'Threat library', run: () => show('library') },
      { key: '3', label: 'Dashboard', run: () => show('dashboard') },
    ],
    destroy() {
      composer.destroy();
    },
  };
}
