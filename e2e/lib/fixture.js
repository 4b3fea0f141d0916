// One real server and one headless Chromium per test file, with the hooks every file needs.
import { before, after, afterEach } from 'node:test';
import { TestServer } from './server.js';
import { launch } from './browser.js';

/**
 * Registers the file's hooks and returns `{ server, browser }` (filled in once `before` ran).
 * `options` go to `TestServer.start`. A test that stops the server and fails midway gets it
 * back before the next test runs.
 */
export function useServerAndBrowser(options) {
  const fixture = { server: undefined, browser: undefined };
  before(async () => {
    fixture.server = await TestServer.start(options);
    fixture.browser = await launch();
  });
  afterEach(async () => {
    await fixture.server?.ensureRunning();
  });
  after(async () => {
    await fixture.browser?.close();
    await fixture.server?.dispose();
  });
  return fixture;
}
