// The account page: my profile (display name, picture), my devices (sessions), password, two-factor, passkeys, my data, and for
// administrators, creating accounts. Plain JavaScript on purpose: it is
// opened rarely, so it costs the chat's first load nothing. The endpoints are in
// shared/src/api.rs; the session cookie goes along by itself (same origin).

import { api, ago } from '/pages.js';

const $ = (id) => document.getElementById(id);
let me = '';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function showError(id, error) {
  const node = $(id);
  node.textContent = error ? error.message : '';
  if (error?.code === 'sign_in_again') {
    // An account made by single sign-on confirms with a fresh sign-on, not a password.
    const link = Object.assign(document.createElement('a'), { href: '/api/sso/start', textContent: 'Sign in again' });
    node.append(' ', link);
  }
  node.hidden = !error;
}

/** An account made by single sign-on has no password: its forms do without the field. */
function withoutPassword() {
  $('password-form').closest('section').hidden = true;
  for (const id of ['two-factor-password', 'passkey-password', 'delete-password']) {
    $(id).required = false;
    $(id).hidden = true;
    document.querySelector(`label[for="${id}"]`).hidden = true;
  }
}

function deviceItem(session) {
  const item = document.createElement('li');
  item.dataset.id = session.id;
  const what = document.createElement('div');
  what.className = 'what';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = session.device || 'Unknown device';
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent =
    `${session.address || 'unknown address'} · signed in ${dateTime.format(session.created_ms)}` +
    ` · last active ${ago(session.last_used_ms)}`;
  what.append(name, meta);
  item.append(what);
  if (session.current) {
    const badge = document.createElement('span');
    badge.className = 'this';
    badge.textContent = 'This device';
    item.append(badge);
  } else {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Sign out';
    button.setAttribute('aria-label', `Sign out ${name.textContent}, ${meta.textContent}`);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api('DELETE', `/api/sessions/${encodeURIComponent(session.id)}`);
        showError('devices-error', null);
        await loadDevices();
      } catch (error) {
        button.disabled = false;
        showError('devices-error', error);
      }
    });
    item.append(button);
  }
  return item;
}

async function loadDevices() {
  const { sessions } = await api('GET', '/api/sessions');
  $('devices').replaceChildren(...sessions.map(deviceItem));
}

/** Shows the two-factor section for `status` ({enabled, recovery_codes_left}). */
function showTwoFactor({ enabled, recovery_codes_left }) {
  $('two-factor-state').textContent = enabled
    ? `On. Log-in asks for a code from your authenticator app. Recovery codes left: ${recovery_codes_left}.`
    : 'Off. Add a second step to log-in: a code from an authenticator app on your phone.';
  $('two-factor-start').hidden = enabled;
  $('two-factor-disable').hidden = !enabled;
  $('two-factor-enable').hidden = true;
}

async function loadTwoFactor() {
  showTwoFactor(await api('GET', '/api/2fa'));
}

/** Groups a base32 key in fours, as people copy it by hand. */
const grouped = (key) => key.match(/.{1,4}/g).join(' ');

$('two-factor-setup').addEventListener('click', async () => {
  try {
    const { secret, uri } = await api('POST', '/api/2fa/setup');
    $('two-factor-secret').textContent = grouped(secret);
    $('two-factor-secret').dataset.key = secret;
    $('two-factor-link').href = uri;
    $('two-factor-start').hidden = true;
    $('two-factor-codes').hidden = true;
    $('two-factor-enable').hidden = false;
    $('two-factor-code').focus();
    showError('two-factor-error', null);
  } catch (error) {
    showError('two-factor-error', error);
  }
});

$('two-factor-enable').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    const { codes } = await api('POST', '/api/2fa/enable', { code: $('two-factor-code').value.trim() });
    $('recovery-codes').replaceChildren(
      ...codes.map((code) => Object.assign(document.createElement('li'), { textContent: code })),
    );
    form.reset();
    await loadTwoFactor();
    $('two-factor-codes').hidden = false;
    showError('two-factor-error', null);
  } catch (error) {
    showError('two-factor-error', error);
  }
});

$('two-factor-disable').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    await api('POST', '/api/2fa/disable', { password: $('two-factor-password').value });
    form.reset();
    $('two-factor-codes').hidden = true;
    await loadTwoFactor();
    showError('two-factor-error', null);
  } catch (error) {
    if (error.code === 'invalid_credentials') error.message = 'That password is not right.';
    showError('two-factor-error', error);
  }
});

/**
 * This device's session ended from here: the app must not draw this account's stored chats
 * while it asks the server (frontend/src/sync.rs, `remembered_user`), so it forgets who was
 * signed in, as its own log-out does, and opens at its sign-in form.
 */
function signedOutHere() {
  localStorage.removeItem('chat.lastUser');
  location.assign('/');
}

$('delete-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!confirm('Delete your account and every message you wrote, for good?')) return;
  try {
    await api('POST', '/api/account/delete', { password: $('delete-password').value });
    signedOutHere();
  } catch (error) {
    if (error.code === 'invalid_credentials') error.message = 'That password is not right.';
    showError('delete-error', error);
  }
});

function passkeyItem(passkey) {
  const item = document.createElement('li');
  const what = document.createElement('div');
  what.className = 'what';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = passkey.name;
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent =
    `added ${dateTime.format(passkey.created_ms)} · ` +
    (passkey.last_used_ms ? `last used ${ago(passkey.last_used_ms)}` : 'not used yet');
  what.append(name, meta);
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Remove';
  button.setAttribute('aria-label', `Remove the passkey ${passkey.name}`);
  button.addEventListener('click', async () => {
    if (!confirm(`Remove the passkey "${passkey.name}"? It will no longer log you in.`)) return;
    button.disabled = true;
    try {
      await api('DELETE', `/api/passkeys/${encodeURIComponent(passkey.id)}`);
      showError('passkeys-error', null);
      await loadPasskeys();
    } catch (error) {
      button.disabled = false;
      showError('passkeys-error', error);
    }
  });
  item.append(what, button);
  return item;
}

async function loadPasskeys() {
  const { passkeys } = await api('GET', '/api/passkeys');
  $('passkeys').replaceChildren(...passkeys.map(passkeyItem));
  $('passkeys').hidden = passkeys.length === 0;
}

$('passkey-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const submit = form.querySelector('button[type=submit]');
  $('passkeys-done').hidden = true;
  submit.disabled = true;
  try {
    const passkeys = await import('/passkey.js');
    if (!passkeys.supported()) throw new Error('This browser cannot use passkeys.');
    const added = await passkeys.register($('passkey-name').value.trim(), $('passkey-password').value);
    form.reset();
    showError('passkeys-error', null);
    $('passkeys-done').textContent = `Passkey "${added.name}" added. You can log in with it now.`;
    $('passkeys-done').hidden = false;
    await loadPasskeys();
  } catch (error) {
    if (error.code === 'invalid_credentials') error.message = 'That password is not right.';
    showError('passkeys-error', error);
  } finally {
    submit.disabled = false;
  }
});

$('admin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  $('admin-done').hidden = true;
  try {
    const created = await api('POST', '/api/admin/users', {
      username: $('admin-username').value.trim(),
      password: $('admin-password').value,
    });
    form.reset();
    showError('admin-error', null);
    $('admin-done').textContent = `Account ${created.username} created. They can log in now.`;
    $('admin-done').hidden = false;
  } catch (error) {
    showError('admin-error', error);
  }
});

$('profile-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('profile-done').hidden = true;
  try {
    const display_name = $('display-name').value.trim();
    await api('POST', '/api/profile', { display_name });
    showError('profile-error', null);
    $('profile-done').textContent = display_name
      ? `Saved. Others see "${display_name}" beside your username.`
      : 'Saved. Others see your username only.';
    $('profile-done').hidden = false;
  } catch (error) {
    showError('profile-error', error);
  }
});

/** My picture as others see it (revalidated: a new one shows at once). */
function showPicture(username) {
  $('picture').src = `/api/avatars/${encodeURIComponent(username)}?t=${Date.now()}`;
}

async function sendPicture(method, body) {
  $('picture-done').hidden = true;
  const response = await fetch('/api/avatar', { method, body });
  if (!response.ok) {
    const failure = await response.json().catch(() => ({ message: 'Something went wrong. Try again.' }));
    showError('picture-error', new Error(failure.message));
    return;
  }
  showError('picture-error', null);
  $('picture-done').textContent = method === 'PUT' ? 'Saved. Others see your new picture.' : 'Removed. Others see your initial.';
  $('picture-done').hidden = false;
  showPicture(me);
}

$('picture-file').addEventListener('change', (event) => {
  const [file] = event.target.files;
  event.target.value = '';
  if (file) sendPicture('PUT', file);
});
$('picture-remove').addEventListener('click', () => sendPicture('DELETE'));

$('push-text').addEventListener('change', async (event) => {
  const show_text = event.target.checked;
  $('push-text-done').hidden = true;
  try {
    await api('POST', '/api/push/settings', { show_text });
    showError('push-text-error', null);
    $('push-text-done').textContent = show_text
      ? 'Notifications will show the text of messages.'
      : 'Notifications will not show the text of messages.';
    $('push-text-done').hidden = false;
  } catch (error) {
    event.target.checked = !show_text;
    showError('push-text-error', error);
  }
});

async function loadPush() {
  try {
    const { show_text } = await api('GET', '/api/push');
    $('push-text').checked = show_text;
    $('notifications').hidden = false;
  } catch {
    // Push is off on this server: nothing to set.
  }
}

async function start() {
  const { username, admin, display_name, password } = await api('GET', '/api/session');
  me = username;
  showPicture(username);
  if (!password) withoutPassword();
  $('display-name').value = display_name || '';
  $('who').textContent = `Signed in as ${username}`;
  // Password managers match the password fields to the account by these.
  for (const field of document.querySelectorAll('input.username')) field.value = username;
  $('admin').hidden = !admin;
  $('admin-link').hidden = !admin;
  const { passkeys } = await api('GET', '/api/auth-options');
  $('passkey-form').closest('section').hidden = !passkeys;
  await Promise.all([loadDevices(), loadTwoFactor(), loadPush(), passkeys ? loadPasskeys() : null]);
}

$('everywhere').addEventListener('click', async () => {
  if (!confirm('Sign out on every device, this one included?')) return;
  try {
    await api('POST', '/api/logout-everywhere');
    signedOutHere();
  } catch (error) {
    showError('devices-error', error);
  }
});

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const current = $('current').value;
  const next = $('new').value;
  $('password-done').hidden = true;
  if (next !== $('confirm').value) {
    showError('password-error', new Error('The two new passwords differ.'));
    return;
  }
  const submit = form.querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    await api('POST', '/api/password', { current, new: next });
    showError('password-error', null);
    form.reset();
    $('password-done').textContent = 'Password changed. Every other device was signed out.';
    $('password-done').hidden = false;
    await loadDevices();
  } catch (error) {
    if (error.code === 'invalid_credentials') error.message = 'Your current password is not right.';
    showError('password-error', error);
  } finally {
    submit.disabled = false;
  }
});

start().catch((error) => showError('devices-error', error));
