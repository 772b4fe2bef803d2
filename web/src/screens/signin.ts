import { ApiFailure, api, call, saveSession, type Session } from '../api';
import { h } from '../dom';
import type { Screen } from '../screen';

export function signInScreen(onSignedIn: (session: Session) => void): Screen {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin' },
    h('h1', {}, 'niix'),
    h('p', { class: 'muted' }, 'Image analysis workstation'),
    h('label', {}, 'User name', username),
    h('label', {}, 'Password', password),
    submit,
    message,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    try {
      const data = await call(api.POST('/api/v1/auth/login', { body: { username: username.value.trim(), password: password.value } }));
      const session: Session = { token: data.token, expiresAt: data.expiresAt, roles: data.roles, username: username.value.trim() };
      saveSession(session);
      onSignedIn(session);
    } catch (error) {
      message.textContent = error instanceof ApiFailure && error.status === 401 ? 'Wrong user name or password.' : String(error instanceof Error ? error.message : error);
      submit.disabled = false;
      password.select();
    }
  });
  queueMicrotask(() => username.focus());
  return { element: h('main', { class: 'signin-page' }, form), shortcuts: [], destroy() {} };
}
