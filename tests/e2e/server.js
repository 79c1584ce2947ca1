// Starts the real Connect360 server (`serve --demo`) for a test and speaks
// its API as the support team would, with the API key it prints.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.CONNECT360_SERVER_BIN ?? path.join(root, 'target/debug/connect360-server');
export const WIDGET_DIR = process.env.CONNECT360_WIDGET_DIR ?? path.join(root, 'dist');
const INBOX_DIR = process.env.CONNECT360_INBOX_DIR ?? path.join(root, 'crates/inbox/dist');

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export class Server {
  /** `args` and `env` add to the command line and environment, e.g. a shared database (see shared.js). */
  static async start({ args = [], env = {} } = {}) {
    const server = new this(mkdtempSync(path.join(tmpdir(), 'c360-e2e-')), await freePort(), { args, env });
    await server.up();
    return server;
  }

  constructor(dataDir, port, { args = [], env = {} } = {}) {
    this.dataDir = dataDir;
    this.extra = { args, env };
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts the process (again, on the same port and store) and waits until it answers. */
  async up() {
    this.proc = spawn(BIN, ['serve', '--demo', '--addr', `127.0.0.1:${this.port}`, '--data', this.dataDir, '--widget-dir', WIDGET_DIR, '--inbox-dir', INBOX_DIR, ...this.extra.args], {
      env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG ?? 'warn', ...this.extra.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((_, reject) => this.proc.once('exit', (code) => reject(new Error(`server exited with ${code}`))));
    // The support key, then the demo member's sign-in to the inbox.
    const printed = (async () => {
      let key;
      for await (const line of readline.createInterface({ input: this.proc.stdout })) {
        key ??= line.match(/^Support API key: (\S+)/)?.[1];
        const member = line.match(/^Inbox: \S+\s+email (\S+)\s+password (\S+)/);
        if (key && member) return { key, member: { email: member[1], password: member[2] } };
      }
      throw new Error('the server printed no support key and demo member');
    })();
    ({ key: this.supportKey, member: this.member } = await Promise.race([printed, exited]));
    const page = await (await fetch(this.url + '/')).text();
    this.widgetKey = page.match(/data-widget-key="([^"]+)"/)[1];
  }

  /** Runs a command of the server's CLI on this server's store; its output, trimmed. */
  cli(...args) {
    return execFileSync(BIN, [...args, '--data', this.dataDir], { encoding: 'utf8' }).trim();
  }

  /** kill -9: no goodbye. */
  async kill() {
    const gone = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGKILL');
    await gone;
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async call(procedure, input, { query = false, token = this.supportKey } = {}) {
    const url = `${this.url}/api/trpc/${procedure}`;
    const headers = { authorization: `Bearer ${token}` };
    const res = query
      ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
      : await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(input) });
    const body = await res.json();
    if (body.error) throw new Error(`${procedure}: ${body.error.message}`);
    return body.result.data;
  }

  /** The visitor's conversation, found as support finds it: by their external id. */
  async conversationOf(externalId) {
    return this.call('v1.connect.getOrCreateConversation', { customer: { externalId } });
  }

  async messages(conversationId) {
    const all = [];
    let cursor = null;
    do {
      const page = await this.call('v1.connect.listMessages', { conversationId, limit: 100, cursor }, { query: true });
      all.unshift(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }

  /** Sends as support, in batches of 50 as httpBatchLink would. */
  async sendMany(conversationId, texts) {
    for (let i = 0; i < texts.length; i += 50) {
      const chunk = texts.slice(i, i + 50);
      const input = Object.fromEntries(chunk.map((text, j) => [j, { conversationId, content: { en: text } }]));
      const paths = chunk.map(() => 'v1.connect.send').join(',');
      const res = await fetch(`${this.url}/api/trpc/${paths}?batch=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.supportKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      if (res.status !== 200) throw new Error(`batch send: ${res.status} ${await res.text()}`);
    }
  }
}
