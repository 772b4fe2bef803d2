import './styles.css';
import { currentSession, saveSession, whenSignedOut, type Role, type Session } from './api';
import { h, replace } from './dom';
import type { Screen } from './screen';
import { analystScreen } from './screens/analyst';
import { adminScreen } from './screens/admin';
import { signInScreen } from './screens/signin';
import { supervisorScreen } from './screens/supervisor';
import { traineeScreen } from './screens/trainee';
import { trainerScreen } from './screens/trainer';
import { installShortcuts, setScreenShortcuts, toggleHelp } from './shortcuts';

type Page = 'analyst' | 'supervisor' | 'admin' | 'trainer' | 'training';
/** Screens in tab order; a user sees those any of whose roles they hold, the first one by default. */
const PAGES: { page: Page; roles: Role[]; label: string; create: (session: Session) => Screen }[] = [
  { page: 'analyst', roles: ['analyst'], label: 'Cases', create: analystScreen },
  { page: 'supervisor', roles: ['supervisor'], label: 'Supervision', create: supervisorScreen },
  { page: 'admin', roles: ['admin'], label: 'Administration', create: adminScreen },
  { page: 'trainer', roles: ['trainer', 'admin'], label: 'Training sets', create: trainerScreen },
  { page: 'training', roles: ['trainee'], label: 'My training', create: traineeScreen },
];

const root = document.getElementById('app')!;
let current: Screen | null = null;

function show(screen: Screen, chrome: HTMLElement | null): void {
  current?.destroy();
  current = screen;
  setScreenShortcuts(screen.shortcuts);
  replace(root, chrome, screen.element);
}

function signOut(): void {
  saveSession(null);
  location.hash = '';
  render();
}

function render(): void {
  const session = currentSession();
  if (!session) {
    show(signInScreen(() => render()), null);
    return;
  }
  const allowed = PAGES.filter((page) => page.roles.some((role) => session.roles.includes(role)));
  const wanted = location.hash.replace(/^#\/?/, '');
  const target = allowed.find((page) => page.page === wanted) ?? allowed[0];
  if (!target) {
    show({ element: h('main', { class: 'empty' }, h('p', {}, `Your roles (${session.roles.join(', ')}) have no screen here yet.`)), shortcuts: [], destroy() {} }, topBar(session, allowed, null));
    return;
  }
  if (wanted !== target.page) history.replaceState(null, '', `#/${target.page}`);
  show(target.create(session), topBar(session, allowed, target.page));
}

function topBar(session: Session, pages: typeof PAGES, active: Page | null): HTMLElement {
  return h(
    'header',
    { class: 'topbar' },
    h('span', { class: 'brand' }, 'niix'),
    h(
      'nav',
      {},
      pages.map((page) => h('a', { href: `#/${page.page}`, class: page.page === active ? 'active' : null }, page.label)),
    ),
    h('span', { class: 'spacer' }),
    h('button', { class: 'ghost', title: 'Keyboard shortcuts (?)', onclick: () => toggleHelp() }, '?'),
    h('span', { class: 'user' }, session.username),
    h('button', { class: 'ghost', onclick: signOut }, 'Sign out'),
  );
}

whenSignedOut(() => {
  if (currentSession()) signOut();
});
window.addEventListener('hashchange', render);
installShortcuts();
render();
