// Single sign-on with OpenID Connect, against a real provider (npm `oidc-provider`) that this
// test starts: sign in through its log-in and consent pages, land in the chat under a name
// derived from the provider's; sign out and in again to the same account (found by subject,
// though the provider now suggests another name); a callback from a browser that did not start
// the log-in, and a replayed or unknown one, are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestServer } from '../lib/server.js';
import { TestProvider } from '../lib/oidc.js';
import { launch, withPages, artifacts } from '../lib/browser.js';

const CLIENT_ID = 'chat';
const CLIENT_SECRET = 'a client secret of this test run';
let provider;
let server;
let browser;

before(async () => {
  provider = await TestProvider.listen();
  server = await TestServer.start({
    args: ['--oidc-issuer', provider.issuer, '--oidc-client-id', CLIENT_ID, '--oidc-name', 'Test ID'],
    env: { CHAT_OIDC_CLIENT_SECRET: CLIENT_SECRET, CHAT_AUTH_ATTEMPTS_PER_MINUTE: '100' },
  });
  // The provider comes up only once the chat has found it down (it answers 503 until then): the
  // first log-in must fetch its settings then.
  const until = Date.now() + 10_000;
  while (!/unreachable at start-up/.test(server.log.join(''))) {
    assert.ok(Date.now() < until, `the chat did not report the provider down:\n${server.log.join('')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  provider.serve({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${server.url}/api/sso/callback` });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await provider?.close();
});

/** Nothing leaves loopback (the provider's pages import a web font). */
async function loopbackOnly(context) {
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
}

/**
 * Clicks the single sign-on button and goes through the provider's pages as `login` (when it
 * asks: it remembers a browser that logged in and consented before) until `done()`, by default
 * until the chat is connected.
 */
async function signOn(page, login, done = async () => (await connected(page).count()) > 0) {
  await page.getByRole('link', { name: 'Sign in with Test ID' }).click();
  const loginField = page.locator('input[name=login]');
  const consent = page.getByRole('button', { name: 'Continue' });
  const until = Date.now() + 20_000;
  while (!(await done())) {
    assert.ok(Date.now() < until, `single sign-on did not finish; at ${page.url()}`);
    if (await loginField.count()) {
      await loginField.fill(login);
      await page.locator('input[name=password]').fill('any password');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await loginField.waitFor({ state: 'detached' });
    } else if (await consent.count()) {
      await consent.click();
      await consent.waitFor({ state: 'detached' });
    } else {
      await page.waitForTimeout(50);
    }
  }
}

const connected = (page) => page.getByRole('status').filter({ hasText: 'Connected' });

/** The failure page instead of a redirect, and no session. */
const REFUSED = { status: 400, location: undefined, session: false };

/** Where the server sends a browser with `context`'s cookies that opens `url`, and whether it started a session. */
async function answer(context, url) {
  const response = await context.request.get(url, { maxRedirects: 0 });
  const cookies = response.headersArray().filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
  return {
    status: response.status(),
    location: response.headers().location,
    session: cookies.some((c) => /^chat_session=[^;]/.test(c)),
  };
}

test('sign in with the provider, sign in again to the same account; forged callbacks are refused', async () => {
  // A password account already has the name the provider suggests.
  const signup = await fetch(`${server.url}/api/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ada', password: 'correct horse battery' }),
  });
  assert.equal(signup.status, 201);
  provider.accounts.set('ada-at-idp', { preferred_username: 'ada', email: 'ada@example.org', email_verified: true });

  await withPages(browser, 'sso', 2, async ([page, other], [context, otherContext]) => {
    await loopbackOnly(context);
    await loopbackOnly(otherContext);
    mkdirSync(artifacts, { recursive: true });

    await page.goto(server.url);
    const button = page.getByRole('link', { name: 'Sign in with Test ID' });
    await button.waitFor();
    await page.screenshot({ path: join(artifacts, 'sso-login-form.png') });

    const callbacks = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${server.url}/api/sso/callback`)) callbacks.push(r.url());
    });
    await signOn(page, 'ada-at-idp');
    await page.getByText('Signed in as ada2').waitFor();
    await page.screenshot({ path: join(artifacts, 'sso-signed-in.png') });

    // The same subject is the same account, whatever name the provider suggests now. The
    // provider remembers the browser, so it sends it straight back.
    provider.accounts.set('ada-at-idp', { preferred_username: 'countess', email: 'countess@example.org' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await signOn(page, 'ada-at-idp');
    await page.getByText('Signed in as ada2').waitFor();
    assert.equal(callbacks.length, 2);

    // A callback works once: replayed, even from the browser that used it, it is refused.
    assert.deepEqual(await answer(context, callbacks[1]), REFUSED);
    assert.deepEqual(await answer(context, `${server.url}/api/sso/callback?code=x&state=made-up`),
      REFUSED);

    // Login CSRF: a valid code and state from one browser's log-in, opened in another browser
    // (which lacks the flow cookie), are refused; and that state is used up for the first too.
    let stolen;
    provider.holdNextCallback().then((url) => { stolen = url; });
    await page.getByRole('button', { name: 'Log out' }).click();
    await signOn(page, 'ada-at-idp', async () => stolen !== undefined);
    assert.deepEqual(await answer(otherContext, stolen), REFUSED);
    await other.goto(stolen);
    await other.getByRole('heading', { name: 'Single sign-on did not work' }).waitFor();
    await other.screenshot({ path: join(artifacts, 'sso-refused.png') });
    await other.getByRole('link', { name: 'Back to log-in' }).click();
    await other.getByRole('link', { name: 'Sign in with Test ID' }).waitFor();
    assert.deepEqual(await answer(context, stolen), REFUSED);

    // Two accounts in all: the password one and the linked one.
    await page.goto(server.url);
    await signOn(page, 'ada-at-idp');
    await page.getByText('Signed in as ada2').waitFor();
    const log = server.log.join('');
    assert.equal(log.match(/account created by single sign-on/g)?.length, 1);
    // The refusals were for the reasons meant (the provider was not up yet at start-up).
    for (const reason of ['unreachable at start-up', 'no flow cookie', 'unknown or already used state']) {
      assert.match(log, new RegExp(reason));
    }

    // An account made by single sign-on has no password: its account page does without the
    // field, and a fresh sign-on confirms deleting it.
    await page.goto(`${server.url}/account.html`);
    await page.getByText('Signed in as ada2').waitFor();
    await page.getByRole('button', { name: 'Delete my account' }).waitFor();
    assert.equal(await page.getByLabel('Password, to delete your account').isVisible(), false);
    assert.equal(await page.getByRole('heading', { name: 'Password', exact: true }).isVisible(), false);
    await page.screenshot({ path: join(artifacts, 'sso-account-page.png'), fullPage: true });
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('link', { name: 'Sign in with Test ID' }).waitFor();
    const gone = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.url },
      body: JSON.stringify({ username: 'ada2', password: 'anything at all' }),
    });
    assert.equal(gone.status, 401);
  });
});
