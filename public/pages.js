// What the pages of their own (account.html, admin.html) share: calling the server's JSON
// endpoints (shared/src/api.rs) with the session cookie, and saying how long ago something was.

/**
 * `method path` with `body` as JSON; the answer's JSON (null for none). A failure throws an
 * Error with the server's sentence as its message and its `code`; a signed-out session goes
 * back to the log-in screen.
 */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body !== undefined ? { 'Content-Type': 'application/json' } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) {
    let failure = { code: 'internal', message: 'Something went wrong. Try again.' };
    try {
      failure = await response.json();
    } catch {}
    if (failure.code === 'unauthenticated') {
      // Signed out (here or from another device): back to the log-in screen.
      location.assign('/');
    }
    const error = new Error(failure.message || `The server answered ${response.status}.`);
    error.code = failure.code;
    error.status = response.status;
    throw error;
  }
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "just now", "5 minutes ago", "in 2 days"...; "never" for no time. */
export function ago(ms) {
  if (!ms) return 'never';
  const seconds = Math.round((ms - Date.now()) / 1000);
  const steps = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return unit === 'second' ? 'just now' : relative.format(value, unit);
    value = Math.round(value / size);
  }
  return relative.format(value, 'year');
}
