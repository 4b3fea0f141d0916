// Passkey ceremonies in the browser (WebAuthn), kept out of the chat's first load: the account
// page imports this module when a passkey is added, and the sign-in screen adds it as a script
// when the server offers passkeys; it then shows and runs that screen's passkey button. The server's side is signaling/src/passkeys.rs.
//
// The options travel as JSON (base64url for binary fields) and are turned into what
// navigator.credentials expects by the browser's own parse…FromJSON; the answer goes back
// through toJSON(). Both are in every current browser engine.

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.message || `The server answered ${response.status}.`);
    error.code = answer.code;
    throw error;
  }
  return answer;
}

/** True where this browser can use passkeys the way this file does. */
export function supported() {
  return (
    typeof PublicKeyCredential !== 'undefined' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
  );
}

/** The person's own refusal (or a timeout) reads better than the DOMException's text. */
function explained(error) {
  if (error && (error.name === 'NotAllowedError' || error.name === 'AbortError')) {
    const cancelled = new Error('The passkey request was cancelled or timed out.');
    cancelled.code = 'cancelled';
    return cancelled;
  }
  return error;
}

/** Adds a passkey named `name` to the signed-in account; `password` confirms it is the owner. */
export async function register(name, password) {
  const { ceremony, options } = await post('/api/passkeys/register', { password });
  let credential;
  try {
    credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey),
    });
  } catch (error) {
    throw explained(error);
  }
  return post('/api/passkeys/register/finish', { ceremony, name, credential: credential.toJSON() });
}

/** Logs `username` in with one of their passkeys; resolves to the session ({username}). */
export async function logIn(username) {
  const { ceremony, options } = await post('/api/passkey-login', { username });
  let credential;
  try {
    credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
    });
  } catch (error) {
    throw explained(error);
  }
  return post('/api/passkey-login/finish', { ceremony, credential: credential.toJSON() });
}

/**
 * The sign-in screen's "Log in with a passkey" button (`#passkey`): logs in the username typed
 * above it (also in place of a two-factor code), then reloads, which starts the chat with the
 * new session. Problems are shown in the form's own alert line.
 */
function wireSignIn() {
  const button = document.getElementById('passkey');
  if (!button || !supported()) return;
  const say = (text) => {
    let line = document.getElementById('passkey-error');
    if (!line) {
      line = Object.assign(document.createElement('p'), { id: 'passkey-error', className: 'error' });
      line.setAttribute('role', 'alert');
      button.after(line);
    }
    line.textContent = text;
  };
  button.hidden = false;
  button.addEventListener('click', async () => {
    const username = document.getElementById('username')?.value.trim();
    if (!username) {
      say('Enter your username, then log in with your passkey.');
      document.getElementById('username')?.focus();
      return;
    }
    button.disabled = true;
    say('');
    try {
      await logIn(username);
      location.reload();
    } catch (error) {
      say(error.message);
      button.disabled = false;
    }
  });
}

wireSignIn();
