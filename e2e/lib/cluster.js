// Several nodes for a browser test: a real nats-server on a free port and a fresh PostgreSQL
// database (CHAT_TEST_POSTGRES_URL, default the local server), shared by the nodes started with
// `nodeEnv()`.
import { spawn, execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

const adminUrl = process.env.CHAT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Cluster {
  static async start() {
    const cluster = new Cluster();
    cluster.natsPort = await freePort();
    const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';
    cluster.nats = spawn(binary, ['-a', '127.0.0.1', '-p', String(cluster.natsPort)], { stdio: 'ignore' });
    await waitForPort(cluster.natsPort);
    cluster.database = `chat_e2e_${randomBytes(8).toString('hex')}`;
    execFileSync('psql', [adminUrl, '-qc', `CREATE DATABASE ${cluster.database}`]);
    return cluster;
  }

  /** The environment of a node of this cluster. */
  nodeEnv() {
    const base = adminUrl.slice(0, adminUrl.lastIndexOf('/'));
    return {
      CHAT_DATABASE_URL: `${base}/${this.database}`,
      CHAT_NATS_URL: `nats://127.0.0.1:${this.natsPort}`,
    };
  }

  async dispose() {
    this.nats?.kill('SIGKILL');
    try {
      execFileSync('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`]);
    } catch { /* best effort: the name is random */ }
  }
}
