// Passkey ceremonies in the browser (WebAuthn). Loaded only when someone uses a passkey: by the
// account page (a dynamic import), and by the sign-in screen, which adds it as a module script
// and finds it as `window.chatPasskey`; so the chat's first load does not carry it. The server's side is signaling/src/passkeys.rs.
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

globalThis.chatPasskey = { supported, register, logIn };
