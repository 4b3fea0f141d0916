// A real, certified OpenID Connect provider (npm `oidc-provider`, OpenID Certified) on a free
// loopback port, for the single sign-on test. Its default development log-in and consent pages
// accept any login name with any password; the name typed becomes the account's subject.
//
// The chat's redirect URI holds the chat's port, which is known only once the chat runs, and
// the chat needs the issuer URL to start: so the port is taken first (`listen`), answering 503
// until `serve` has the redirect URI. The chat's discovery at start-up fails meanwhile, which
// also exercises its retry at the first log-in.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

export class TestProvider {
  /** Listens on 127.0.0.1 at a free port; `issuer` is known from here on. */
  static async listen() {
    const provider = new TestProvider();
    await new Promise((resolve) => provider.http.listen(0, '127.0.0.1', resolve));
    return provider;
  }

  constructor() {
    this.handler = undefined;
    this.redirectUri = undefined;
    this.held = undefined;
    this.http = createServer((req, res) => {
      if (!this.handler) return res.writeHead(503).end();
      if (this.held) this.holdCallbackOf(res);
      return this.handler(req, res);
    });
    /** Claims by login name; a test may change them between log-ins. */
    this.accounts = new Map();
  }

  get issuer() {
    return `http://127.0.0.1:${this.http.address().port}`;
  }

  /**
   * The next redirect to the chat's callback is not sent; the browser gets a plain page. Resolves
   * with the callback URL, a valid code and state, as an attacker who stops there holds them.
   */
  holdNextCallback() {
    return new Promise((resolve) => { this.held = resolve; });
  }

  holdCallbackOf(res) {
    const end = res.end.bind(res);
    res.end = (...args) => {
      const location = res.getHeader('location');
      if (!this.held || typeof location !== 'string' || !location.startsWith(this.redirectUri)) return end(...args);
      const resolve = this.held;
      this.held = undefined;
      res.statusCode = 200;
      res.removeHeader('location');
      res.removeHeader('content-length');
      res.setHeader('content-type', 'text/plain');
      resolve(location);
      return end('held by the test');
    };
  }

  /** Starts answering as a provider with one confidential client. */
  serve({ clientId, clientSecret, redirectUri }) {
    this.redirectUri = redirectUri;
    const accounts = this.accounts;
    const provider = new Provider(this.issuer, {
      clients: [{
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }],
      claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email', 'email_verified'] },
      async findAccount(_ctx, sub) {
        return {
          accountId: sub,
          async claims() {
            return { sub, ...(accounts.get(sub) ?? {}) };
          },
        };
      },
      // Cookie signing keys of this test run only.
      cookies: { keys: [Math.random().toString(36).slice(2)] },
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
    });
    // Its warnings about development keys and pages are expected here.
    provider.on('server_error', (_ctx, error) => console.error('[oidc-provider]', error));
    this.handler = provider.callback();
  }

  async close() {
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }
}
