// Reporting a message to the room's moderators and the server's administrators, and what
// became of my reports. Loaded on first use by index.html's loader (the ⚑ button on others'
// messages carries `data-part="report"`), so it costs the chat's first load nothing. `notice(text)` shows what the server tells a reporter (a `notice` frame
// on the app's socket, caught by index.html's inline script).

import { el } from '/parts.js';

const REASONS = ['Spam', 'Harassment or hate', 'Something else'];
const REASON_MAX = 500;
const STATUS = {
  open: 'Waiting',
  deleted: 'Message deleted',
  muted: 'Sender muted',
  removed: 'Sender removed',
  banned: 'Sender banned',
  dismissed: 'No action taken',
};
const NOTICE_MS = 8000;

let ui; // the dialog's elements, made on first open
let toast; // the notice's elements, made on first notice
let target = null; // the message reported: { room, seq }
let styled;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Loads report.css once; resolves when it applies (or failed to load). */
function style() {
  styled ??= new Promise((resolve) => {
    document.head.append(el('link', { rel: 'stylesheet', href: '/report.css', onload: resolve, onerror: resolve }));
  });
  return styled;
}

/** Opens the dialog for the message the pressed button belongs to. */
export async function open(button) {
  // The wasm draws the button bare (first-load bytes): the message's seq is on its row, the
  // open room's id on the room header's buttons.
  const room = button.dataset.room ?? document.querySelector('.room-actions [data-room]')?.dataset.room;
  const seq = Number(button.dataset.seq ?? button.closest('article[data-seq]')?.dataset.seq);
  if (!room || !Number.isSafeInteger(seq)) return;
  target = { room, seq };
  if (!ui) ui = build();
  await style();
  reset();
  ui.dialog.returnFocus = button;
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.radios[0].focus();
}

/** Shows `text` in a toast at the bottom of the screen for a few seconds. */
export async function notice(text) {
  if (!text) return;
  if (!toast) {
    toast = {};
    toast.text = el('p', { className: 'report-toast-text' });
    toast.box = el('div', { className: 'report-toast', hidden: true },
      toast.text,
      el('button', { type: 'button', className: 'report-toast-close', 'aria-label': 'Dismiss', onclick: hideNotice }, '✕'));
    toast.region = el('div', { role: 'status', className: 'report-toast-region' }, toast.box);
    document.body.append(toast.region);
    // The live region exists before its text, so screen readers announce the text.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await style();
  clearTimeout(toast.timer);
  toast.text.textContent = text;
  toast.box.hidden = false;
  toast.timer = setTimeout(hideNotice, NOTICE_MS);
}

function hideNotice() {
  clearTimeout(toast.timer);
  toast.box.hidden = true;
  toast.text.textContent = '';
}

// ---- the dialog ----

function reset() {
  ui.form.reset();
  ui.form.hidden = false;
  ui.hint.hidden = false;
  ui.thanks.hidden = true;
  ui.submit.disabled = false;
  say('');
  limitDetails();
}

function say(text) {
  ui.alert.textContent = text;
}

function chosen() {
  return ui.radios.find((radio) => radio.checked)?.value ?? null;
}

/** The details fit what the chosen reason leaves of the 500 characters. */
function limitDetails() {
  const reason = chosen() ?? REASONS.reduce((a, b) => (a.length > b.length ? a : b));
  const max = REASON_MAX - reason.length - 2;
  ui.details.maxLength = max;
  if (ui.details.value.length > max) ui.details.value = ui.details.value.slice(0, max);
  ui.count.textContent = `${ui.details.value.length} / ${max}`;
}

async function submit(event) {
  event.preventDefault();
  const reason = chosen();
  if (!reason) {
    say('Choose why you report this message.');
    ui.radios[0].focus();
    return;
  }
  const details = ui.details.value.trim();
  const text = (details ? `${reason}: ${details}` : reason).slice(0, REASON_MAX);
  ui.submit.disabled = true;
  say('');
  try {
    const response = await fetch('/api/reports', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: target.room, seq: target.seq, reason: text }),
    });
    if (!response.ok) {
      const failure = await response.json().catch(() => ({}));
      throw new Error(failure.code === 'already_reported'
        ? 'You already reported this message. You will be told what the moderators decide.'
        : failure.message || 'The report could not be sent. Try again.');
    }
    ui.form.hidden = true;
    ui.hint.hidden = true;
    ui.thanks.hidden = false;
    ui.done.focus();
    if (!ui.mine.hidden) loadMine();
  } catch (error) {
    say(error instanceof TypeError ? 'You are offline. Try again once connected.' : error.message);
  } finally {
    ui.submit.disabled = false;
  }
}

// ---- my reports ----

function reportItem(report) {
  const status = STATUS[report.status] ?? report.status;
  const body = report.body ? `${report.sender}: ${report.body}` : `A message by ${report.sender}`;
  return el('li', {},
    el('p', { className: 'rep-quote' }, body),
    el('p', { className: 'rep-meta' },
      el('span', { className: `rep-status rep-${report.status === 'open' ? 'open' : 'done'}` }, status),
      ` · ${report.room_name || 'a direct conversation'} · ${dateTime.format(report.handled_at_ms || report.created_at_ms)}`),
    el('p', { className: 'rep-meta' }, `Reason: ${report.reason}`));
}

async function loadMine() {
  ui.mine.hidden = false;
  ui.mineButton.setAttribute('aria-expanded', 'true');
  ui.mineButton.textContent = 'Hide your reports';
  ui.mineList.replaceChildren(el('li', { className: 'rep-meta' }, 'Loading…'));
  try {
    const response = await fetch('/api/reports');
    if (!response.ok) {
      const failure = await response.json().catch(() => ({}));
      throw new Error(failure.message || 'Your reports could not be loaded.');
    }
    const { reports = [] } = await response.json();
    ui.mineList.replaceChildren(...(reports.length
      ? reports.map(reportItem)
      : [el('li', { className: 'rep-meta' }, 'You have not reported anything.')]));
  } catch (error) {
    ui.mineList.replaceChildren();
    say(error instanceof TypeError ? 'You are offline. Try again once connected.' : error.message);
  }
}

function build() {
  const u = {};
  const close = () => u.dialog.close();
  u.hint = el('p', { className: 'rep-hint' }, 'The room\'s moderators and the server\'s administrators see the message, your reason and your name.');
  u.radios = REASONS.map((reason, i) => el('input', {
    type: 'radio', name: 'rep-reason', id: `rep-reason-${i}`, value: reason, onchange: limitDetails,
  }));
  u.details = el('textarea', {
    id: 'rep-details', rows: 3, 'aria-describedby': 'rep-count',
    oninput: limitDetails,
  });
  u.count = el('p', { id: 'rep-count', className: 'rep-count' });
  u.submit = el('button', { type: 'submit', className: 'primary' }, 'Report');
  u.alert = el('p', { className: 'rep-alert', role: 'alert' });
  u.form = el('form', { onsubmit: submit },
    el('fieldset', { className: 'rep-reasons' },
      el('legend', {}, 'Why?'),
      ...u.radios.map((radio, i) => el('div', {}, radio, el('label', { htmlFor: radio.id }, REASONS[i])))),
    el('label', { htmlFor: 'rep-details', className: 'rep-label' }, 'Details (optional)'),
    u.details, u.count,
    el('div', { className: 'rep-buttons' },
      el('button', { type: 'button', onclick: close }, 'Cancel'), u.submit));
  u.done = el('button', { type: 'button', className: 'primary', onclick: close }, 'Close');
  u.thanks = el('div', { className: 'rep-thanks', hidden: true },
    el('p', {}, 'Thanks. The room\'s moderators and the server\'s administrators will look at it; you will be told what they decide.'),
    el('div', { className: 'rep-buttons' }, u.done));
  u.mineList = el('ul', { className: 'rep-mine', 'aria-labelledby': 'rep-mine-title' });
  u.mine = el('section', { id: 'rep-mine', hidden: true, 'aria-labelledby': 'rep-mine-title' },
    el('h3', { id: 'rep-mine-title', className: 'visually-hidden' }, 'Your reports'), u.mineList);
  u.mineButton = el('button', {
    type: 'button', className: 'link', 'aria-expanded': 'false', 'aria-controls': 'rep-mine',
    onclick: () => {
      if (u.mine.hidden) loadMine();
      else {
        u.mine.hidden = true;
        u.mineButton.setAttribute('aria-expanded', 'false');
        u.mineButton.textContent = 'Show your reports';
      }
    },
  }, 'Show your reports');
  u.dialog = el('dialog', { className: 'report-dialog', 'aria-labelledby': 'rep-title' },
    el('header', {},
      el('h2', { id: 'rep-title' }, 'Report this message'),
      el('button', { type: 'button', className: 'rep-close', 'aria-label': 'Close', onclick: close }, '✕')),
    el('div', { className: 'rep-body' },
      u.hint,
      u.form, u.thanks, u.alert,
      el('div', { className: 'rep-more' }, u.mineButton), u.mine));
  u.dialog.addEventListener('close', () => u.dialog.returnFocus?.focus());
  // A click on the backdrop (outside the box) closes it, as in the other dialogs.
  u.dialog.addEventListener('click', (e) => {
    if (e.target === u.dialog) {
      const r = u.dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) close();
    }
  });
  document.body.append(u.dialog);
  return u;
}
