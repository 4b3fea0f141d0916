// The administration page: reports (for everyone, about the rooms they moderate) and, for the
// server's administrators, users, rooms, retention and abuse controls, the audit log and
// insight charts, bots and webhooks. Plain JavaScript, loaded only by those who open it, like account.js; the
// endpoints are in shared/src/api.rs and the session cookie goes along by itself.

import { el } from '/parts.js';
import { api, ago } from '/pages.js';

const $ = (id) => document.getElementById(id);
const SECTIONS = ['reports', 'users', 'rooms', 'settings', 'audit', 'insight', 'integrations'];
const OUTCOME = {
  open: 'Waiting',
  deleted: 'Message deleted',
  muted: 'Sender muted',
  removed: 'Sender removed',
  banned: 'Sender banned',
  dismissed: 'No action taken',
};
const SVG = 'http://www.w3.org/2000/svg';
// The most rows the server returns for one list (signaling/src/admin/api.rs).
const PAGE = 100;

let admin = false;
let me = '';
let current = 'reports';
const loaded = new Set();

// ---- formatting ----

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dayHourFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: 'numeric', minute: '2-digit' });
const number = new Intl.NumberFormat();

/** A `<time>` showing `ms` relative to now, the exact date in its tooltip. */
function when(ms, exact = false, none = 'never') {
  if (!ms) return el('span', { className: 'muted' }, none);
  return el('time', { dateTime: new Date(ms).toISOString(), title: dateTime.format(ms) }, exact ? dateTime.format(ms) : ago(ms));
}

/** The first of `names` that `object` has (the server's field names, with their variants). */
function pick(object, ...names) {
  for (const name of names) if (object?.[name] !== undefined && object[name] !== null) return object[name];
  return null;
}

/** The array in an answer that is either the array itself or `{ <key>: array }`. */
function list(answer, key) {
  if (Array.isArray(answer)) return answer;
  return answer?.[key] ?? [];
}

function show(id, text) {
  const node = $(id);
  node.textContent = text || '';
  node.hidden = !text;
}

function showError(id, error) {
  show(id, error ? error.message : '');
}

/**
 * A button that asks for a second press before `action` runs: its label turns into
 * `question` for five seconds.
 */
function confirmButton(label, question, action, props = {}) {
  let timer;
  const button = el('button', {
    type: 'button',
    ...props,
    onclick: async () => {
      if (button.dataset.confirming !== 'yes') {
        button.dataset.confirming = 'yes';
        button.textContent = question;
        button.classList.add('confirming');
        timer = setTimeout(reset, 5000);
        return;
      }
      reset();
      await action(button);
    },
  }, label);
  const reset = () => {
    clearTimeout(timer);
    delete button.dataset.confirming;
    button.textContent = label;
    button.classList.remove('confirming');
  };
  button.addEventListener('blur', () => setTimeout(() => document.activeElement !== button && reset(), 200));
  return button;
}

/** Runs `work` with `button` disabled, showing a failure in `errorId`. */
async function busy(button, errorId, work) {
  if (button) button.disabled = true;
  try {
    await work();
    showError(errorId, null);
  } catch (error) {
    showError(errorId, error);
  } finally {
    if (button?.isConnected) button.disabled = false;
  }
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// ---- tabs ----

const tabs = () => SECTIONS.map((key) => $(`tab-${key}`)).filter((tab) => !tab.hidden);

function select(key, { focus = false, push = true } = {}) {
  if (!SECTIONS.includes(key) || $(`tab-${key}`).hidden) key = 'reports';
  current = key;
  for (const section of SECTIONS) {
    const on = section === key;
    const tab = $(`tab-${section}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${section}`).hidden = !on;
  }
  if (focus) $(`tab-${key}`).focus();
  if (key === 'insight') drawCharts();
  if (push && location.hash !== `#${key}`) history.replaceState(null, '', `#${key}`);
  if (!loaded.has(key)) {
    loaded.add(key);
    LOADERS[key]();
  }
}

$('tabs').addEventListener('click', (event) => {
  const tab = event.target.closest('[role="tab"]');
  if (tab) select(tab.id.slice(4));
});

$('tabs').addEventListener('keydown', (event) => {
  const shown = tabs();
  const at = shown.findIndex((tab) => tab.id === `tab-${current}`);
  let next;
  if (event.key === 'ArrowRight') next = (at + 1) % shown.length;
  else if (event.key === 'ArrowLeft') next = (at - 1 + shown.length) % shown.length;
  else if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = shown.length - 1;
  else return;
  event.preventDefault();
  select(shown[next].id.slice(4), { focus: true });
});

addEventListener('hashchange', () => select(location.hash.slice(1), { push: false }));

// ---- reports ----

function reportItem(report) {
  const item = el('li', { className: 'report' });
  item.dataset.id = report.id;
  const room = pick(report, 'room_name', 'name') || 'a direct conversation';
  const reporter = pick(report, 'reporter', 'reported_by');
  const created = pick(report, 'created_at_ms', 'created_ms', 'at_ms');
  const sender = pick(report, 'sender') || 'someone';
  const body = pick(report, 'body');
  const status = pick(report, 'status') || 'open';
  const titleId = `report-${report.id}`;
  item.setAttribute('aria-labelledby', titleId);
  item.append(
    el('p', { className: 'meta', id: titleId },
      el('strong', {}, room), ' · reported', reporter ? ` by ${reporter}` : '', ' ', when(created)),
    el('figure', { className: 'quoted' },
      el('blockquote', {}, body ? body : el('em', {}, 'The message was deleted.')),
      el('figcaption', {}, `— ${sender}`)),
    el('p', { className: 'reason' }, el('span', { className: 'label' }, 'Reason: '), pick(report, 'reason') || 'none given'),
  );
  const outcome = el('p', { className: 'outcome', hidden: status === 'open' }, status === 'open' ? '' : outcomeText(report));
  item.append(outcome);
  if (status === 'open') {
    const act = (action) => async (button) => {
      await busy(button, 'reports-error', async () => {
        const answer = await api('POST', `/api/moderation/reports/${encodeURIComponent(report.id)}`, { action });
        const done = answer?.status || { delete: 'deleted', mute: 'muted', remove: 'removed', ban: 'banned', dismiss: 'dismissed' }[action];
        actions.remove();
        item.classList.add('handled');
        outcome.textContent = `Handled: ${OUTCOME[done] || done}.`;
        outcome.hidden = false;
        outcome.tabIndex = -1;
        outcome.focus();
      });
    };
    // Every report has the same buttons: each names the report it acts on as its description.
    const about = { 'aria-describedby': titleId };
    const actions = el('div', { className: 'row actions' },
      el('button', { type: 'button', ...about, onclick: (e) => act('delete')(e.currentTarget) }, 'Delete message'),
      el('button', { type: 'button', ...about, onclick: (e) => act('mute')(e.currentTarget) }, 'Mute sender'),
      confirmButton('Remove sender', 'Confirm remove', act('remove'), about),
      confirmButton('Ban sender', 'Confirm ban', act('ban'), { ...about, className: 'danger-text' }),
      el('button', { type: 'button', ...about, onclick: (e) => act('dismiss')(e.currentTarget) }, 'Dismiss'),
    );
    item.append(actions);
  }
  return item;
}

function outcomeText(report) {
  const status = pick(report, 'status');
  const handler = pick(report, 'handled_by');
  const handled = pick(report, 'handled_at_ms');
  return [`${OUTCOME[status] || status}`, handler ? `by ${handler}` : '', handled ? dateTime.format(handled) : '']
    .filter(Boolean).join(' · ');
}

async function loadReports() {
  const all = $('reports-all').checked;
  try {
    const reports = list(await api('GET', `/api/moderation/reports?status=${all ? 'all' : 'open'}`), 'reports');
    $('reports-list').replaceChildren(...reports.map(reportItem));
    $('reports-empty').textContent = all ? 'No reports yet.' : 'No open reports.';
    $('reports-empty').hidden = reports.length > 0;
    showError('reports-error', null);
  } catch (error) {
    showError('reports-error', error);
  }
}

$('reports-all').addEventListener('change', loadReports);

// ---- users ----

async function userAction(username, action, button, doneText) {
  await busy(button, 'users-error', async () => {
    await api('POST', `/api/admin/users/${encodeURIComponent(username)}`, { action });
    show('users-done', doneText);
    await loadUsers(username, action);
  });
}

function userRow(user) {
  const name = user.username;
  const display = pick(user, 'display_name');
  const deactivated = Boolean(pick(user, 'deactivated', 'disabled'));
  const isAdmin = Boolean(pick(user, 'admin', 'is_admin'));
  const sessions = pick(user, 'sessions', 'session_count') ?? 0;
  const silencedUntil = pick(user, 'silenced_until_ms');
  const row = el('tr', { className: deactivated ? 'inactive' : '' });
  row.dataset.user = name;
  const who = el('th', { scope: 'row' },
    el('span', { className: 'username' }, name),
    display ? el('span', { className: 'display' }, display) : null,
    isAdmin ? el('span', { className: 'badge admin-badge' }, 'Admin') : null,
    deactivated ? el('span', { className: 'badge off-badge' }, 'Deactivated') : null,
    silencedUntil ? el('span', { className: 'badge off-badge', title: `Silenced for flooding until ${dateTime.format(silencedUntil)}` }, 'Silenced') : null,
    name === me ? el('span', { className: 'badge' }, 'You') : null);
  const actions = el('div', { className: 'actions' },
    el('button', {
      type: 'button', 'data-action': 'sessions',
      onclick: (e) => showSessions(name, e.currentTarget),
    }, 'Sessions'),
    deactivated
      ? el('button', {
        type: 'button', 'data-action': 'reactivate',
        onclick: (e) => userAction(name, 'reactivate', e.currentTarget, `${name} can log in again.`),
      }, 'Reactivate')
      : confirmButton('Deactivate', 'Confirm deactivate',
        (button) => userAction(name, 'deactivate', button, `${name} is deactivated and signed out everywhere.`),
        { 'data-action': 'deactivate', className: 'danger-text' }),
    silencedUntil
      ? el('button', {
        type: 'button', 'data-action': 'lift_silence',
        onclick: (e) => userAction(name, 'lift_silence', e.currentTarget, `${name} can post again.`),
      }, 'Lift silence')
      : null,
    el('button', {
      type: 'button', 'data-action': 'sign_out',
      onclick: (e) => userAction(name, 'sign_out', e.currentTarget, `${name} is signed out on every device.`),
    }, 'Sign out everywhere'),
    isAdmin
      ? confirmButton('Remove admin', 'Confirm remove admin',
        (button) => userAction(name, 'remove_admin', button, `${name} is no longer an administrator.`),
        { 'data-action': 'remove_admin' })
      : el('button', {
        type: 'button', 'data-action': 'make_admin',
        onclick: (e) => userAction(name, 'make_admin', e.currentTarget, `${name} is now an administrator.`),
      }, 'Make admin'),
  );
  // Every row has the same buttons: each names the user it acts on as its description.
  for (const button of actions.querySelectorAll('button')) button.setAttribute('aria-describedby', `user-${cssId(name)}`);
  who.id = `user-${cssId(name)}`;
  row.append(
    who,
    el('td', {}, when(pick(user, 'created_at_ms', 'created_ms'), true)),
    el('td', {}, pick(user, 'last_seen_ms', 'last_seen_at_ms', 'last_active_ms')
      ? when(pick(user, 'last_seen_ms', 'last_seen_at_ms', 'last_active_ms'))
      : el('span', { className: 'muted' }, sessions > 0 ? 'signed in' : 'not recorded')),
    el('td', { className: 'num' }, number.format(sessions)),
    el('td', {}, actions),
  );
  return row;
}

const cssId = (text) => text.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.codePointAt(0).toString(16)}`);

let usersQuery = 0;
/** Lists the users matching the search; `focusUser`/`after` put the focus back on a row. */
async function loadUsers(focusUser, after) {
  const q = $('users-q').value.trim();
  const ticket = ++usersQuery;
  try {
    const users = list(await api('GET', `/api/admin/users?q=${encodeURIComponent(q)}`), 'users');
    if (ticket !== usersQuery) return;
    $('users-list').replaceChildren(...users.map(userRow));
    $('users-empty').hidden = users.length > 0;
    show('users-more', users.length >= PAGE ? `Showing the first ${PAGE}. Search to find others.` : '');
    if (focusUser) {
      const row = [...$('users-list').rows].find((r) => r.dataset.user === focusUser);
      const swap = { deactivate: 'reactivate', reactivate: 'deactivate', make_admin: 'remove_admin', remove_admin: 'make_admin' };
      const target = row?.querySelector(`[data-action="${swap[after] || after}"]`);
      target?.focus();
    }
    showError('users-error', null);
  } catch (error) {
    showError('users-error', error);
  }
}

async function showSessions(username, button) {
  await busy(button, 'users-error', async () => {
    const sessions = list(await api('GET', `/api/admin/users/${encodeURIComponent(username)}/sessions`), 'sessions');
    $('sessions-title').textContent = `Sessions of ${username}`;
    $('sessions-list').replaceChildren(...(sessions.length ? sessions.map((session) => el('li', {},
      el('div', { className: 'what' },
        el('div', { className: 'name' }, pick(session, 'device') || 'Unknown device'),
        el('div', { className: 'meta' },
          [pick(session, 'address'),
            `signed in ${dateTime.format(pick(session, 'created_ms', 'created_at_ms') ?? 0)}`,
            `last used ${ago(pick(session, 'last_used_ms', 'last_used_at_ms'))}`].filter(Boolean).join(' · '))))) : [
      el('li', {}, el('div', { className: 'what meta' }, 'Not signed in anywhere.')),
    ]));
    $('sessions').hidden = false;
    $('sessions-title').tabIndex = -1;
    $('sessions-title').focus();
  });
}

$('users-q').addEventListener('input', debounce(() => loadUsers(), 250));

// ---- rooms ----

function roomRow(room) {
  const id = room.id;
  const kind = pick(room, 'kind') || 'group';
  const name = pick(room, 'name') || (kind === 'direct' ? 'Direct conversation' : 'Unnamed room');
  const retention = pick(room, 'retention_days');
  const row = el('tr');
  row.dataset.room = id;
  const headId = `room-${cssId(String(id))}`;
  const days = el('input', {
    type: 'number', min: 1, max: 36500, step: 1, inputMode: 'numeric', id: `${headId}-days`, className: 'days',
    value: retention ?? '', placeholder: 'default',
  });
  const save = el('button', { type: 'submit' }, 'Save');
  const form = el('form', {
    className: 'retention',
    onsubmit: async (event) => {
      event.preventDefault();
      const text = days.value.trim();
      const value = text === '' ? null : Number(text);
      if (value !== null && (!Number.isInteger(value) || value < 1)) {
        showError('rooms-error', new Error('Days must be a whole number of at least 1, or empty for the server default.'));
        return;
      }
      await busy(save, 'rooms-error', async () => {
        await api('PUT', `/api/admin/rooms/${encodeURIComponent(id)}/retention`, { days: value });
        show('rooms-done', value === null
          ? `${name} keeps messages as the server does.`
          : `${name} keeps messages for ${value} ${value === 1 ? 'day' : 'days'}.`);
      });
    },
  },
  el('label', { htmlFor: `${headId}-days`, id: `${headId}-label`, className: 'visually-hidden' }, `Days to keep messages in ${name}`),
  days, save);
  save.setAttribute('aria-describedby', `${headId}-label`);
  row.append(
    el('th', { scope: 'row', id: headId },
      el('span', { className: 'username' }, name),
      el('span', { className: `badge kind-${kind}` }, kind === 'direct' ? 'Direct' : 'Group')),
    el('td', { className: 'num' }, number.format(pick(room, 'members', 'member_count') ?? 0)),
    el('td', { className: 'num' }, number.format(pick(room, 'messages', 'message_count') ?? 0)),
    el('td', {}, when(pick(room, 'last_activity_ms', 'last_activity_at_ms', 'last_message_ms'), false, 'no messages')),
    el('td', {}, pick(room, 'owner') || el('span', { className: 'muted' }, 'none')),
    el('td', {}, form, el('span', { className: 'hint-inline' }, retention == null ? 'server default' : 'days')),
    el('td', {}, el('div', { className: 'actions' },
      el('button', {
        type: 'button', 'aria-describedby': headId,
        onclick: (e) => busy(e.currentTarget, 'rooms-error', async () => {
          await api('POST', `/api/admin/rooms/${encodeURIComponent(id)}/take-over`);
          show('rooms-done', `You now own ${name}.`);
          await loadRooms();
        }),
      }, 'Take over'),
      confirmButton('Delete', 'Confirm delete', (button) => busy(button, 'rooms-error', async () => {
        await api('DELETE', `/api/admin/rooms/${encodeURIComponent(id)}`);
        show('rooms-done', `${name} is deleted.`);
        await loadRooms();
        $('rooms-q').focus();
      }), { className: 'danger-text', 'aria-describedby': headId }),
    )),
  );
  return row;
}

let roomsQuery = 0;
async function loadRooms() {
  const q = $('rooms-q').value.trim();
  const ticket = ++roomsQuery;
  try {
    const rooms = list(await api('GET', `/api/admin/rooms?q=${encodeURIComponent(q)}`), 'rooms');
    if (ticket !== roomsQuery) return;
    $('rooms-list').replaceChildren(...rooms.map(roomRow));
    $('rooms-empty').hidden = rooms.length > 0;
    show('rooms-more', rooms.length >= PAGE ? `Showing the first ${PAGE}. Search to find others.` : '');
    showError('rooms-error', null);
  } catch (error) {
    showError('rooms-error', error);
  }
}

$('rooms-q').addEventListener('input', debounce(loadRooms, 250));

// ---- retention and abuse ----

const NUMBERS = {
  new_account_hours: 'new-account-hours',
  new_account_links: 'new-account-links',
  flood_repeats: 'flood-repeats',
  flood_window_secs: 'flood-window',
  flood_mute_minutes: 'flood-mute',
};

function fillSettings(settings) {
  $('retention-days').value = settings.retention_days ?? '';
  $('blocked-words').value = (settings.blocked_words || []).join('\n');
  $(settings.word_action === 'mask' ? 'word-mask' : 'word-block').checked = true;
  for (const [key, id] of Object.entries(NUMBERS)) $(id).value = settings[key] ?? 0;
}

async function loadSettings() {
  try {
    fillSettings(await api('GET', '/api/admin/settings'));
    showError('settings-error', null);
  } catch (error) {
    showError('settings-error', error);
  }
}

$('settings-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  show('settings-done', '');
  const retention = $('retention-days').value.trim();
  const settings = {
    retention_days: retention === '' ? null : Number(retention),
    blocked_words: [...new Set($('blocked-words').value.split('\n').map((w) => w.trim()).filter(Boolean))],
    word_action: $('word-mask').checked ? 'mask' : 'block',
  };
  for (const [key, id] of Object.entries(NUMBERS)) settings[key] = Number($(id).value || 0);
  const bad = Object.entries(settings).find(([key, value]) => typeof value === 'number' && (!Number.isInteger(value) || value < (key === 'retention_days' ? 1 : 0)));
  if (bad) {
    const label = document.querySelector(`label[for="${bad[0] === 'retention_days' ? 'retention-days' : NUMBERS[bad[0]]}"]`).textContent;
    showError('settings-error', new Error(`“${label}” must be a whole number${bad[0] === 'retention_days' ? ' of at least 1, or empty' : ''}.`));
    return;
  }
  await busy(event.submitter, 'settings-error', async () => {
    const stored = await api('PUT', '/api/admin/settings', settings);
    if (stored) fillSettings(stored);
    show('settings-done', 'Settings saved. They apply at once.');
  });
});

$('retention-run').addEventListener('click', (event) => busy(event.currentTarget, 'retention-error', async () => {
  show('retention-done', '');
  const { rooms = 0, deleted = 0 } = (await api('POST', '/api/admin/retention/run')) || {};
  show('retention-done', `Deleted ${number.format(deleted)} ${deleted === 1 ? 'message' : 'messages'} in ${number.format(rooms)} ${rooms === 1 ? 'room' : 'rooms'}.`);
}));

// ---- audit log ----

let oldest = null;

function humanAction(action) {
  return String(action || '').replace(/[._]/g, ' ');
}

async function loadAudit(more = false) {
  try {
    const answer = await api('GET', `/api/admin/audit${more && oldest != null ? `?before=${encodeURIComponent(oldest)}` : ''}`);
    const entries = list(answer, 'entries');
    const rows = entries.map((entry) => el('tr', {},
      el('td', {}, when(entry.at_ms, true)),
      el('td', {}, entry.actor || 'the server'),
      el('td', {}, humanAction(entry.action)),
      el('td', {}, entry.target ?? ''),
      el('td', { className: 'detail' }, entry.detail == null ? '' : typeof entry.detail === 'string' ? entry.detail : JSON.stringify(entry.detail)),
    ));
    if (more) $('audit-list').append(...rows);
    else $('audit-list').replaceChildren(...rows);
    if (entries.length) oldest = entries[entries.length - 1].id;
    $('audit-empty').hidden = $('audit-list').rows.length > 0;
    $('audit-older').hidden = entries.length < PAGE;
    showError('audit-error', null);
  } catch (error) {
    showError('audit-error', error);
  }
}

$('audit-older').addEventListener('click', (event) => busy(event.currentTarget, 'audit-error', () => loadAudit(true)));

// ---- insight ----

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children.filter((c) => c != null));
  return node;
}

/** A round number at or above `value` (1, 2 or 5 times a power of ten). */
function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// The charts on screen: each is drawn for its box's width in pixels (its text stays at its
// size on a phone), and again when that width changes.
let charts = [];

/** A chart's `<figure>`; `draw(width)` makes its SVG. */
function figure(caption, draw, note) {
  const node = el('figure', { className: 'chart' }, el('figcaption', {}, caption, note ? el('span', { className: 'note' }, note) : null));
  charts.push({ node, draw, width: 0 });
  return node;
}

function drawCharts() {
  for (const chart of charts) {
    if (!chart.node.isConnected) continue;
    const style = getComputedStyle(chart.node);
    const width = Math.round(chart.node.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
    if (width <= 0 || width === chart.width) continue;
    chart.width = width;
    chart.node.querySelector('svg')?.remove();
    chart.node.append(chart.draw(Math.max(width, 240)));
  }
}

addEventListener('resize', debounce(() => {
  if (!$('panel-insight').hidden) drawCharts();
}, 150));

/**
 * A chart of `points` ({ at, value }): bars, or a line with dots when `line`. `label(at)` names
 * a point's time, `unit` what is counted, `summary` the start of the aria-label.
 */
function timeChart({ points, label, tick = label, unit, summary, line = false, width = 440, height = 180 }) {
  const left = 34;
  const right = 8;
  const top = 10;
  const bottom = 24;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...points.map((p) => p.value));
  const scale = niceMax(max);
  const total = points.reduce((sum, p) => sum + p.value, 0);
  const peak = points.find((p) => p.value === max);
  const y = (value) => top + plotH - (value / scale) * plotH;
  const step = plotW / Math.max(points.length, 1);
  const aria = points.length === 0
    ? `${summary}: no data yet.`
    : max === 0
      ? `${summary}: none.`
      : `${summary}: ${number.format(total)} in all, peak ${number.format(max)} ${unit} at ${label(peak.at)}, latest ${number.format(points[points.length - 1].value)}.`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': aria, class: 'plot', preserveAspectRatio: 'xMidYMid meet' });
  // Grid: zero, half and the top, labelled on the left.
  for (const value of Number.isInteger(scale / 2) ? [0, scale / 2, scale] : [0, scale]) {
    chart.append(
      svg('line', { x1: left, x2: width - right, y1: y(value), y2: y(value), class: value === 0 ? 'axis' : 'grid' }),
      svg('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'tick' }, number.format(value)),
    );
  }
  if (points.length) {
    // Time labels under the first, middle and last point.
    const marks = [...new Set(width < 300 ? [0, points.length - 1] : [0, Math.floor((points.length - 1) / 2), points.length - 1])];
    for (const i of marks) {
      const anchor = i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle';
      const x = i === 0 ? left : i === points.length - 1 ? width - right : left + step * (i + 0.5);
      chart.append(svg('text', { x, y: height - 6, 'text-anchor': anchor, class: 'tick' }, tick(points[i].at)));
    }
  }
  if (line && points.length) {
    const at = (i) => left + step * (i + 0.5);
    const path = points.map((p, i) => `${i ? 'L' : 'M'}${at(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
    chart.append(
      svg('path', { d: `${path} L${at(points.length - 1).toFixed(1)},${y(0)} L${at(0).toFixed(1)},${y(0)} Z`, class: 'area' }),
      svg('path', { d: path, class: 'line' }),
    );
    points.forEach((p, i) => {
      chart.append(svg('g', { class: 'point' },
        svg('title', {}, `${label(p.at)}: ${number.format(p.value)} ${unit}`),
        svg('rect', { x: left + step * i, y: top, width: step, height: plotH, class: 'hit' }),
        svg('circle', { cx: at(i), cy: y(p.value), r: points.length > 20 ? 2.5 : 3.5, class: 'dot' })));
    });
  } else {
    const gap = step > 8 ? Math.min(step * 0.25, 6) : 1;
    points.forEach((p, i) => {
      const h = Math.max((p.value / scale) * plotH, p.value > 0 ? 1.5 : 0);
      chart.append(svg('g', { class: 'bar' },
        svg('title', {}, `${label(p.at)}: ${number.format(p.value)} ${unit}`),
        svg('rect', { x: left + step * i, y: top, width: step, height: plotH, class: 'hit' }),
        svg('rect', { x: (left + step * i + gap / 2).toFixed(1), y: (y(0) - h).toFixed(1), width: Math.max(step - gap, 1).toFixed(1), height: h.toFixed(1), rx: Math.min(2, step / 4), class: 'fill' })));
    });
  }
  return chart;
}

function roomsChart(rooms, width = 440) {
  const rowH = 26;
  const labelW = Math.min(150, Math.round(width * 0.38));
  const height = Math.max(rooms.length, 1) * rowH + 6;
  const max = Math.max(0, ...rooms.map((r) => r.messages));
  const aria = rooms.length
    ? `Busiest rooms over the last 7 days: ${rooms.slice(0, 5).map((r) => `${r.name || 'unnamed'} ${number.format(r.messages)}`).join(', ')}.`
    : 'Busiest rooms over the last 7 days: no messages.';
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': aria, class: 'plot rooms-plot' });
  if (!rooms.length) chart.append(svg('text', { x: 0, y: 18, class: 'tick' }, 'No messages in the last 7 days.'));
  rooms.forEach((room, i) => {
    const name = room.name || 'Direct conversation';
    const fits = Math.max(6, Math.floor((labelW - 8) / 7));
    const short = name.length > fits ? `${name.slice(0, fits - 1)}…` : name;
    const barMax = width - labelW - 56;
    const w = max ? Math.max((room.messages / max) * barMax, 2) : 0;
    const yTop = i * rowH + 3;
    chart.append(svg('g', { class: 'bar' },
      svg('title', {}, `${name}: ${number.format(room.messages)} messages`),
      svg('text', { x: labelW - 8, y: yTop + rowH / 2 + 1, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'name' }, short),
      svg('rect', { x: labelW, y: yTop + 3, width: w.toFixed(1), height: rowH - 8, rx: 3, class: 'fill' }),
      svg('text', { x: labelW + w + 6, y: yTop + rowH / 2 + 1, 'dominant-baseline': 'middle', class: 'value' }, number.format(room.messages))));
  });
  return chart;
}

function latencyFigure(title, ms) {
  const value = ms == null ? '—' : ms < 1000 ? `${number.format(Math.round(ms))} ms` : `${(ms / 1000).toFixed(2)} s`;
  return el('div', { className: 'figure' },
    el('p', { className: 'big' }, value),
    el('p', { className: 'label' }, title));
}

const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** The support desk's figures (absent when the server runs no desk). */
function showSupport(support) {
  $('support-insight').hidden = !support;
  if (!support) return;
  const share = support.conversations ? Math.round((100 * support.without_person) / support.conversations) : null;
  const wait = support.median_first_reply_ms;
  const waitText = wait == null ? '—' : wait < 60_000 ? `${Math.round(wait / 1000)} s` : `${Math.round(wait / 60_000)} min`;
  const figureOf = (value, label) => el('div', { className: 'figure' },
    el('p', { className: 'big' }, value),
    el('p', { className: 'label' }, label));
  $('support-figures').replaceChildren(
    figureOf(number.format(support.conversations), 'Conversations opened'),
    figureOf(share == null ? '—' : `${share} %`, 'Answered without a person'),
    figureOf(waitText, 'Time to first reply from a person (median)'),
  );
  const rows = (support.escalations || []).map((e) => el('tr', {},
    el('td', {}, capitalized(e.explained || e.reason)),
    el('td', { className: 'num' }, number.format(e.count))));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colSpan: 2 }, 'None handed over yet.')));
  $('escalations').tBodies[0].replaceChildren(...rows);
}

async function loadInsight() {
  try {
    const data = await api('GET', '/api/admin/insight');
    const series = (items, key) => (items || []).map((p) => ({ at: p.at_ms, value: Number(p[key]) || 0 }));
    const latency = data.latency || {};
    const deliveries = latency.deliveries ?? 0;
    $('latency').replaceChildren(
      latencyFigure('Median delivery time (p50)', latency.p50_ms),
      latencyFigure('Slowest 1 % of deliveries (p99)', latency.p99_ms),
      el('div', { className: 'figure' },
        el('p', { className: 'big' }, number.format(deliveries)),
        el('p', { className: 'label' }, 'Messages delivered in the last 24 hours')),
    );
    $('latency').setAttribute('aria-label', 'Delivery latency over the last 24 hours');
    $('latency').setAttribute('role', 'group');
    const hourly = series(data.hourly, 'messages');
    const busiest = (data.busiest_rooms || []).slice(0, 10).map((r) => ({ ...r, messages: Number(r.messages) || 0 }));
    charts = [];
    $('charts').replaceChildren(
      el('div', { className: 'wide' }, figure('Messages per hour', (width) => timeChart({
        points: hourly, label: (at) => dayHourFormat.format(at), unit: 'messages', width, height: 200,
        summary: 'Messages per hour over the last 48 hours',
      }), 'last 48 hours')),
      figure('Busiest rooms', (width) => roomsChart(busiest, width), 'messages, last 7 days'),
      figure('Daily active users', (width) => timeChart({
        points: series(data.daily_active, 'users'), label: (at) => dayFormat.format(at), unit: 'users', line: true, width,
        summary: 'Daily active users over the last 30 days',
      }), 'last 30 days'),
      figure('Weekly active users', (width) => timeChart({
        points: series(data.weekly_active, 'users'), label: (at) => `week of ${dayFormat.format(at)}`, tick: (at) => dayFormat.format(at), unit: 'users', width,
        summary: 'Weekly active users over the last 8 weeks',
      }), 'last 8 weeks'),
      figure('Sign-ups per day', (width) => timeChart({
        points: series(data.signups, 'users'), label: (at) => dayFormat.format(at), unit: 'sign-ups', width,
        summary: 'Sign-ups per day over the last 30 days',
      }), 'last 30 days'),
    );
    drawCharts();
    showSupport(data.support);
    showError('insight-error', null);
  } catch (error) {
    showError('insight-error', error);
  }
}

// ---- bots and webhooks ----

/** The group rooms, for choosing a bot's rooms and a webhook's room. */
async function groupRooms() {
  const rooms = list(await api('GET', '/api/admin/rooms'), 'rooms');
  return rooms.filter((room) => (pick(room, 'kind') || 'group') === 'group')
    .map((room) => ({ id: room.id, name: pick(room, 'name') || room.id }));
}

function roomOptions(select, rooms, chosen = []) {
  select.replaceChildren(...rooms.map((room) => el('option', { value: room.id, selected: chosen.includes(room.id) }, room.name)));
}

/** Shows a token or secret once, with a copy button. */
function showSecret(id, label, value) {
  const code = el('code', {}, value);
  const copy = el('button', {
    type: 'button',
    onclick: async () => {
      await navigator.clipboard?.writeText(value).catch(() => {});
      copy.textContent = 'Copied';
    },
  }, 'Copy');
  $(id).replaceChildren(el('p', {}, label), code, copy);
  $(id).hidden = false;
}

function botRow(bot, rooms) {
  const row = el('tr');
  const headId = `bot-${cssId(bot.username)}`;
  const select = el('select', { multiple: true, size: 3, id: `${headId}-rooms` });
  roomOptions(select, rooms, bot.rooms.map((room) => room.id));
  const save = el('button', {
    type: 'button', 'aria-describedby': headId,
    onclick: (e) => busy(e.currentTarget, 'bots-error', async () => {
      const chosen = [...select.selectedOptions].map((option) => option.value);
      await api('PUT', `/api/admin/bots/${encodeURIComponent(bot.username)}/rooms`, { rooms: chosen });
      show('bots-done', `${bot.username} is in ${chosen.length} ${chosen.length === 1 ? 'room' : 'rooms'} now.`);
      await loadIntegrations();
    }),
  }, 'Save rooms');
  row.append(
    el('th', { scope: 'row', id: headId },
      el('span', { className: 'username' }, bot.username),
      bot.display_name ? el('span', { className: 'muted' }, ` ${bot.display_name}`) : '',
      bot.deactivated ? el('span', { className: 'badge' }, 'Deactivated') : ''),
    el('td', {},
      el('label', { htmlFor: `${headId}-rooms`, className: 'visually-hidden' }, `Rooms of ${bot.username}`),
      select, save),
    el('td', {}, bot.has_token ? when(bot.last_used_ms) : el('span', { className: 'muted' }, 'no token')),
    el('td', {}, el('div', { className: 'actions' },
      confirmButton('New token', 'Confirm: the old one stops', (button) => busy(button, 'bots-error', async () => {
        const { token } = await api('POST', `/api/admin/bots/${encodeURIComponent(bot.username)}/token`);
        showSecret('bot-secret', `New token for ${bot.username}. Copy it now: it is not shown again.`, token);
        await loadIntegrations();
      }), { 'aria-describedby': headId }))),
  );
  return row;
}

function hookRow(hook) {
  const headId = `hook-${cssId(hook.id)}`;
  const retry = hook.attempts > 0 && hook.next_attempt_ms
    ? el('span', { className: 'muted' }, ` · try ${hook.attempts + 1} `, when(hook.next_attempt_ms, true))
    : '';
  return el('tr', {},
    el('th', { scope: 'row', id: headId }, hook.room_name || hook.room),
    el('td', { className: 'url' }, hook.url),
    el('td', { className: 'num' }, number.format(hook.delivered)),
    el('td', { className: 'num' }, number.format(hook.failed)),
    el('td', { className: 'num' }, number.format(hook.pending)),
    el('td', {}, hook.last_status || el('span', { className: 'muted' }, 'none yet'), retry),
    el('td', {}, confirmButton('Delete', 'Confirm delete', (button) => busy(button, 'hooks-error', async () => {
      await api('DELETE', `/api/admin/webhooks/${encodeURIComponent(hook.id)}`);
      show('hooks-done', `The webhook of ${hook.room_name || hook.room} is deleted.`);
      await loadIntegrations();
    }), { className: 'danger-text', 'aria-describedby': headId })),
  );
}

async function loadIntegrations() {
  try {
    const [rooms, bots, hooks] = await Promise.all([
      groupRooms(), api('GET', '/api/admin/bots'), api('GET', '/api/admin/webhooks'),
    ]);
    if (!$('bot-rooms').options.length) roomOptions($('bot-rooms'), rooms);
    if (!$('hook-room').options.length) roomOptions($('hook-room'), rooms);
    $('bots-list').replaceChildren(...bots.map((bot) => botRow(bot, rooms)));
    $('bots-empty').hidden = bots.length > 0;
    $('hooks-list').replaceChildren(...hooks.map(hookRow));
    $('hooks-empty').hidden = hooks.length > 0;
    showError('bots-error', null);
  } catch (error) {
    showError('bots-error', error);
  }
}

$('bot-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy(event.submitter, 'bots-error', async () => {
    const username = $('bot-name').value.trim();
    const rooms = [...$('bot-rooms').selectedOptions].map((option) => option.value);
    const { token } = await api('POST', '/api/admin/bots', { username, display_name: $('bot-display').value.trim(), rooms });
    showSecret('bot-secret', `Token for ${username}. Copy it now: it is not shown again.`, token);
    $('bot-form').reset();
    await loadIntegrations();
  });
});

$('hook-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy(event.submitter, 'hooks-error', async () => {
    const { secret } = await api('POST', '/api/admin/webhooks', { room: $('hook-room').value, url: $('hook-url').value.trim() });
    showSecret('hook-secret', 'Signing secret of the new webhook. Copy it now: it is not shown again.', secret);
    $('hook-url').value = '';
    await loadIntegrations();
  });
});

const LOADERS = {
  reports: loadReports,
  users: () => loadUsers(),
  rooms: loadRooms,
  settings: loadSettings,
  audit: () => loadAudit(false),
  insight: loadInsight,
  integrations: loadIntegrations,
};

async function start() {
  const session = await api('GET', '/api/session');
  me = session.username;
  admin = Boolean(session.admin);
  $('who').textContent = admin
    ? `Signed in as ${me}, an administrator of this server.`
    : `Signed in as ${me}. Here are the reports about the rooms you moderate.`;
  for (const key of SECTIONS) if (key !== 'reports') $(`tab-${key}`).hidden = !admin;
  $('tabs').hidden = !admin;
  if (!admin) {
    // Only one section: no tabs, and the section is a plain one.
    $('title').textContent = 'Moderation';
    document.title = 'Moderation · Chat';
    $('panel-reports').removeAttribute('role');
    $('panel-reports').removeAttribute('tabindex');
    $('panel-reports').setAttribute('aria-labelledby', 'reports-title');
  }
  if (!admin) $('reports-hint').textContent = 'Messages people reported in rooms where you are an owner or admin. Whoever reported one is told what you decide.';
  select(location.hash.slice(1) || 'reports', { push: false });
}

start().catch((error) => showError('reports-error', error));
