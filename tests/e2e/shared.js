// What several server instances share, started for real as the server's own
// integration tests do (crates/server/tests/common/{postgres,s3}.rs): a
// throwaway PostgreSQL cluster (as the `postgres` user when we are root, since
// PostgreSQL refuses to run as root) and s3s-fs, a real S3 protocol server
// over a temp folder (bench/instances uses the database alone). Both are
// stopped and removed by `stop()`. `Front` is one address in front of
// several instances, as a load balancer is.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { freePort } from './server.js';

const PG_BIN = process.env.CONNECT360_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const ACCESS_KEY = 'connect360-e2e';

function s3sFs() {
  const candidates = [
    process.env.CONNECT360_S3S_FS,
    path.join(process.env.CARGO_HOME ?? path.join(homedir(), '.cargo'), 'bin', 's3s-fs'),
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 's3s-fs')),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** What is missing to run shared backends here, or null. */
export function missing() {
  const absent = [];
  if (!existsSync(path.join(PG_BIN, 'initdb'))) absent.push(`PostgreSQL (no initdb in ${PG_BIN}: apt-get install postgresql-15)`);
  if (!s3sFs()) absent.push('s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked)');
  return absent.length ? absent.join('; ') : null;
}

const isRoot = () => process.getuid?.() === 0;

/** A program of the cluster's, as the `postgres` user when we are root. */
function pg(program, args, options = {}) {
  const bin = path.join(PG_BIN, program);
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    throw new Error(`${program} ${args.join(' ')} failed: ${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

async function listening(port, what, log) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on port ${port} within 20 s; its log: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Shared {
  /**
   * Starts a cluster and, unless `s3` is false, an S3 server; `fsync` (off by
   * default, as in the server's tests) is on for figures that must be durable.
   */
  static async start({ fsync = false, s3 = true } = {}) {
    const shared = new Shared(mkdtempSync(path.join(tmpdir(), 'c360-shared-')));
    chmodSync(shared.dir, 0o711); // the postgres user reaches its folder inside
    try {
      await shared.startPostgres(fsync);
      if (s3) await shared.startS3();
    } catch (err) {
      await shared.stop();
      throw err;
    }
    return shared;
  }

  constructor(dir) {
    this.dir = dir;
  }

  async startPostgres(fsync) {
    const pgDir = path.join(this.dir, 'pg');
    mkdirSync(pgDir);
    if (isRoot()) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(pgDir, uid, gid);
    }
    this.pgData = path.join(pgDir, 'data');
    pg('initdb', ['-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '-D', this.pgData]);
    this.pgPort = await freePort();
    const options = `-p ${this.pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=${fsync ? 'on' : 'off'} -c max_connections=300`;
    const log = path.join(pgDir, 'log');
    try {
      pg('pg_ctl', ['-D', this.pgData, '-o', options, '-l', log, '-w', 'start']);
    } catch (err) {
      throw new Error(`${err.message}\nlog: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    }
    this.pgStarted = true;
    pg('createdb', ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'postgres', 'connect360']);
    this.databaseUrl = `postgres://postgres@127.0.0.1:${this.pgPort}/connect360`;
  }

  async startS3() {
    const root = path.join(this.dir, 's3');
    mkdirSync(path.join(root, 'chat'), { recursive: true }); // the bucket
    this.s3Port = await freePort();
    this.s3Secret = randomBytes(16).toString('hex');
    const logPath = path.join(this.dir, 's3.log');
    let log = '';
    this.s3 = spawn(s3sFs(), ['--host', '127.0.0.1', '--port', String(this.s3Port), '--access-key', ACCESS_KEY, '--secret-key', this.s3Secret, root], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.s3.stdout, this.s3.stderr]) stream.on('data', (d) => { log += d; });
    await listening(this.s3Port, `s3s-fs (${logPath})`, () => log);
    this.bucketDir = path.join(root, 'chat');
  }

  /** The flags and environment that put an instance on this database and bucket (if started). */
  get serverOptions() {
    const database = ['--database-url', this.databaseUrl];
    if (!this.s3) return { args: database, env: {} };
    return {
      args: [...database, '--files', 's3://chat/files', '--s3-endpoint', `http://127.0.0.1:${this.s3Port}`],
      env: { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: this.s3Secret, AWS_REGION: 'us-east-1' },
    };
  }

  /** Runs `sql` with psql on the database; its rows, fields split by '|'. */
  async query(sql) {
    const args = ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'postgres', '-d', 'connect360', '-AtXc', sql];
    const { stdout } = await promisify(execFile)(path.join(PG_BIN, 'psql'), args, { encoding: 'utf8' });
    return stdout.split('\n').filter(Boolean).map((line) => line.split('|'));
  }

  async stop() {
    if (this.s3 && this.s3.exitCode === null) {
      const gone = new Promise((resolve) => this.s3.once('exit', resolve));
      this.s3.kill('SIGKILL');
      await gone;
    }
    if (this.pgStarted) pg('pg_ctl', ['-D', this.pgData, '-m', 'immediate', 'stop']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One address in front of several instances, as a TCP load balancer that
 * passes over a dead instance: each connection goes to the first of
 * `instances` (anything with a `port`) that accepts it. A connection stays
 * with its instance and ends when that instance's side does, so a client
 * reconnects and reaches the next one. `served[i]`: connections instance i took.
 */
export class Front {
  static async start(instances) {
    const front = new Front(instances);
    await new Promise((resolve, reject) => {
      front.server.once('error', reject);
      front.server.listen(0, '127.0.0.1', resolve);
    });
    front.url = `http://127.0.0.1:${front.server.address().port}`;
    return front;
  }

  constructor(instances) {
    this.instances = instances;
    this.served = instances.map(() => 0);
    this.sockets = new Set();
    this.server = net.createServer({ pauseOnConnect: true }, (client) => this.forward(client, 0));
  }

  forward(client, i) {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    if (i >= this.instances.length) {
      client.destroy(); // none accepts: the client sees the connection fail
      return;
    }
    const upstream = net.connect(this.instances[i].port, '127.0.0.1');
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.served[i]++;
      this.sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.on('error', (err) => {
      if (!connected && err.code === 'ECONNREFUSED') this.forward(client, i + 1);
      else client.destroy();
    });
    upstream.once('close', () => {
      this.sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
