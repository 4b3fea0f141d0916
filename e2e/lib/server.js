// Starts the real `signaling` binary on a free loopback port with a fresh data directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export class TestServer {
  constructor({ env = {}, args = [] } = {}) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
    this.env = env;
    this.extraArgs = args;
    this.port = 0;
    this.log = [];
  }

  /**
   * `env` adds or overrides the server's environment (CHAT_* settings); `args` are more
   * command-line flags.
   */
  static async start(options) {
    const server = new TestServer(options);
    await server.boot();
    return server;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the process (on the same port and data as before, when restarting). */
  async boot() {
    const bin = process.env.SIGNALING_BIN ?? join(root, 'target', 'debug', 'signaling');
    const args = [
      '--bind', `127.0.0.1:${this.port}`,
      '--data-dir', this.dataDir,
      '--static-dir', process.env.DIST_DIR ?? join(root, 'dist'),
      ...this.extraArgs,
    ];
    this.log = []; // only this process's output decides readiness
    this.proc = spawn(bin, args, {
      // A generous per-socket frame rate: tests type faster than people do.
      env: { ...process.env, RUST_LOG: 'info', CHAT_SOCKET_FRAMES_PER_SECOND: '100', CHAT_USER_EVENTS_PER_SECOND: '100', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = new Promise((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.log.join('')}`)), 20_000);
      const onData = (chunk) => {
        const text = chunk.toString();
        this.log.push(text);
        const match = /Chat is running at http:\/\/127\.0\.0\.1:(\d+)/.exec(this.log.join(''));
        if (match) {
          clearTimeout(timer);
          this.port = Number(match[1]);
          resolveReady();
        }
      };
      this.proc.stderr.on('data', onData);
      this.proc.stdout.on('data', (chunk) => this.log.push(chunk.toString()));
      this.proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${this.log.join('')}`));
      });
    });
    await ready;
  }

  /** SIGTERM, wait for a clean exit. */
  async stop() {
    if (!this.running) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }

  get running() {
    return Boolean(this.proc) && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Brings a server that a failed test left stopped back up for the next test. */
  async ensureRunning() {
    if (!this.running) await this.boot();
  }

  async restart() {
    await this.stop();
    await this.boot();
  }

  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
