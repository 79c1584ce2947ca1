// Issue 15's figures, run by bench/instances: two release server instances,
// A and B, on one PostgreSQL database against one instance on SQLite, on the
// same machine, under the same load:
//
// 1. durable sends per second: two wrk at once (BENCH_CONNECTIONS / 2
//    connections each, each sending into its own conversation); on
//    PostgreSQL one drives A and the other B, on SQLite both drive the one
//    instance. Sums of the two. The same on A alone (both wrk on it), to
//    tell what the second instance adds.
// 2. listMessages, the newest page of 50 of a 300-message conversation, the
//    same two wrk: req/s and each wrk's p50 / p99.
// 3. fan-out across instances: a visitor's event stream open on A (their
//    token from A's widget session, as the widget opens it), support sends
//    through B with its key, FANOUT_SAMPLES times one after another; for each,
//    the time from the send's acknowledgement (its answer received) and from
//    its start to the message's event on A. The same on the one SQLite
//    instance for comparison (stream and send on it).
//
// Where the time goes: for each load case, the CPU the servers, PostgreSQL
// (the postmaster and its children), the load generator (wrk) and everything
// else on the machine used, in cores busy (of nproc), with iowait and idle;
// sampled from /proc before and after the case; and what PostgreSQL's
// backends wait on meanwhile (pg_stat_activity's wait events, sampled).
//
// PostgreSQL runs with fsync on (each commit durable, as SQLite's
// synchronous=FULL): tests/e2e/shared.js starts it, in TMPDIR, which
// bench/instances puts on the build disk beside the SQLite store. Environment:
// BENCH_SECONDS (10) per case, BENCH_CONNECTIONS (32, split over two wrk),
// FANOUT_SAMPLES (200). CONNECT360_SERVER_BIN is the server (server.js).

import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { wrk } from "./server-node/wrk.mjs";
import { BIN, Server } from "../tests/e2e/server.js";
import { Shared } from "../tests/e2e/shared.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FANOUT_SAMPLES = Number(process.env.FANOUT_SAMPLES ?? 200);
const WARM_UP_SECONDS = 3;
const HISTORY = 300;
const CLK_TCK = 100; // getconf CLK_TCK on Linux
// One key drives all the load: its per-key limit (README "Limits") is lifted
// so that what is measured is the servers, not the limiter's refusals.
const UNLIMITED = ["--limit-api-key-requests", "4000000000/1s"];

const fixed = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- CPU accounting from /proc ----------------------------------------------

/** A process's stat fields after its name: [2] is the parent, [11..14] utime, stime, cutime, cstime. */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU ticks of a process, with those of its children it has waited for when `reaped`. */
function ticksOf(pid, { reaped = false } = {}) {
  try {
    const f = statFields(pid).map(Number);
    return f[11] + f[12] + (reaped ? f[13] + f[14] : 0);
  } catch {
    return 0; // gone meanwhile
  }
}

function childrenOf(pid) {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return Number(statFields(name)[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * The cluster's CPU: the postmaster's own and its reaped children's, and its
 * live children's (backends, WAL writer, checkpointer). Read again when a
 * child was reaped while the children were read: its ticks would be in
 * neither or in both.
 */
function postgresTicks(shared) {
  const postmaster = Number(readFileSync(`${shared.pgData}/postmaster.pid`, "utf8").split("\n")[0]);
  const reaped = () => ticksOf(postmaster, { reaped: true }) - ticksOf(postmaster);
  for (;;) {
    const first = reaped();
    const children = childrenOf(postmaster).reduce((sum, pid) => sum + ticksOf(pid), 0);
    if (reaped() === first) return ticksOf(postmaster) + first + children;
  }
}

/** The machine's ticks from /proc/stat: busy, iowait, idle (all cores). */
function machineTicks() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq + steal, iowait, idle };
}

/** A snapshot of who used how much CPU; `cpuSplit(before, after)` turns two into cores busy. */
function cpuSnapshot(servers, shared) {
  const own = process.cpuUsage();
  return {
    at: performance.now(),
    servers: servers.reduce((sum, s) => sum + ticksOf(s.proc.pid), 0),
    postgres: shared ? postgresTicks(shared) : 0,
    // wrk runs are this process's children, waited for before the case ends.
    load: ticksOf(process.pid, { reaped: true }) - ticksOf(process.pid) + ((own.user + own.system) / 1e6) * CLK_TCK,
    machine: machineTicks(),
  };
}

function cpuSplit(before, after) {
  const seconds = (after.at - before.at) / 1000;
  const cores = (ticks) => ticks / CLK_TCK / seconds;
  const d = (key) => after[key] - before[key];
  const busy = after.machine.busy - before.machine.busy;
  return {
    servers: cores(d("servers")),
    postgres: cores(d("postgres")),
    load: cores(d("load")),
    other: cores(busy - d("servers") - d("postgres") - d("load")),
    iowait: cores(after.machine.iowait - before.machine.iowait),
    idle: cores(after.machine.idle - before.machine.idle),
  };
}

// ---- the instances -----------------------------------------------------------

/**
 * A server without the demo (which needs the widget built): an engage API
 * key and a widget for localhost made by the CLI on its store, as an
 * operator would; answers once /healthz does.
 */
class ApiServer extends Server {
  async up() {
    const store = ["--data", this.dataDir, ...this.extra.args.filter((_, i, all) => all[i - 1] === "--database-url" || all[i] === "--database-url")];
    const cli = (...args) => execFileSync(BIN, [...args, ...store], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", RUST_LOG: "warn", ...this.extra.env } }).trim();
    this.supportKey ??= cli("api-key", "create", "--name", "bench", "--role", "engage");
    this.widgetKey ??= cli("widget", "create", "--domain", "localhost");
    this.proc = spawn(BIN, ["serve", "--addr", `127.0.0.1:${this.port}`, "--data", this.dataDir, ...this.extra.args], {
      // Errors only: that no widget or inbox is served is what the bench wants.
      env: { ...process.env, NO_COLOR: "1", RUST_LOG: process.env.RUST_LOG ?? "error", ...this.extra.env },
      stdio: ["ignore", "ignore", "inherit"],
    });
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      if (this.proc.exitCode !== null) throw new Error(`the server exited with ${this.proc.exitCode}`);
      if (Date.now() > deadline) throw new Error(`the server did not answer /healthz within 30 s`);
      if ((await fetch(`${this.url}/healthz`).catch(() => null))?.ok) return;
    }
  }
}

// ---- what PostgreSQL's backends wait on ---------------------------------------

const WAIT_SAMPLE_MS = 250;

/**
 * Samples pg_stat_activity every WAIT_SAMPLE_MS until `stop()`: how many of
 * the servers' backends are running a statement, and what those wait on
 * (none: on the CPU). `stop()` answers the mean active backends and each
 * wait's share of the active samples.
 */
function sampleWaits(shared) {
  const counts = new Map();
  let samples = 0;
  let active = 0;
  let running = true;
  const sql = `SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') FROM pg_stat_activity
    WHERE datname = 'connect360' AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`;
  const loop = (async () => {
    while (running) {
      const rows = await shared.query(sql);
      samples++;
      active += rows.length;
      for (const [wait] of rows) counts.set(wait, (counts.get(wait) ?? 0) + 1);
      await sleep(WAIT_SAMPLE_MS);
    }
  })();
  return async () => {
    running = false;
    await loop;
    const shares = [...counts].sort((x, y) => y[1] - x[1]).map(([wait, n]) => [wait, n / Math.max(1, active)]);
    return { active: active / Math.max(1, samples), shares };
  };
}

// ---- the set-ups --------------------------------------------------------------

const auth = (server) => ({ authorization: `Bearer ${server.supportKey}`, "content-type": "application/json" });
const listPath = (input) => `/api/trpc/v1.connect.listMessages?input=${encodeURIComponent(JSON.stringify(input))}`;

const cases = [
  {
    name: "send (durable)",
    request: (server, c) => ({
      method: "POST",
      path: "/api/trpc/v1.connect.send",
      headers: auth(server),
      body: JSON.stringify({ conversationId: c.send, content: { en: "bench send @N@" } }),
    }),
  },
  {
    name: "listMessages, newest 50",
    request: (server, c) => ({ method: "GET", path: listPath({ conversationId: c.list }), headers: auth(server) }),
  },
];

/**
 * A set-up: `drivers` are the two instances the two wrk drive (the same one
 * twice on SQLite), each with its own conversation to send into; both list
 * one conversation of HISTORY messages.
 */
async function prepare(name, drivers, shared) {
  const [first] = drivers;
  const list = (await first.conversationOf(`bench-list-${name}`)).id;
  await first.sendMany(list, Array.from({ length: HISTORY }, (_, i) => `history ${i}`));
  const page = await first.call("v1.connect.listMessages", { conversationId: list }, { query: true });
  if (page.items.length !== 50 || !page.nextCursor) throw new Error(`${name}: the newest page is not 50 messages with a cursor`);
  const conversations = [];
  for (const [i, server] of drivers.entries()) {
    conversations.push({ send: (await server.conversationOf(`bench-send-${name}-${i}`)).id, list });
  }
  return { name, drivers, conversations, shared, servers: [...new Set(drivers)] };
}

/** Both wrk at once, each CONNECTIONS / 2 connections, for `seconds`. */
async function drive(setup, c, seconds) {
  const runs = setup.drivers.map((server, i) =>
    wrk(server.url, c.request(server, setup.conversations[i]), { seconds, connections: CONNECTIONS / 2 }),
  );
  return Promise.all(runs);
}

async function measure(setup, c) {
  process.stderr.write(`>> ${c.name} on ${setup.name}: ${SECONDS} s, 2 wrk x ${CONNECTIONS / 2} connections\n`);
  const waits = setup.shared ? sampleWaits(setup.shared) : null;
  const before = cpuSnapshot(setup.servers, setup.shared);
  const runs = await drive(setup, c, SECONDS);
  const cpu = cpuSplit(before, cpuSnapshot(setup.servers, setup.shared));
  const waited = await waits?.();
  return {
    case: c.name,
    setup: setup.name,
    perSecond: runs.reduce((sum, r) => sum + r.perSecond, 0),
    p50: runs.map((r) => r.p50),
    p99: runs.map((r) => r.p99),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    cpu,
    waited,
  };
}

// ---- fan-out ------------------------------------------------------------------

/** A visitor's session on `server`, as the widget opens it (from the shop's origin). */
async function visitorSession(server, externalId) {
  const response = await fetch(`${server.url}/api/v1/connect/widget/session`, {
    method: "POST",
    headers: { origin: `http://localhost:${server.port}`, "content-type": "application/json" },
    body: JSON.stringify({ widgetKey: server.widgetKey, externalId }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`widget session on ${server.url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * The conversation's event stream on `server` with the visitor's token;
 * `arrived(text)` resolves when the message event with that English text
 * arrives (or already has). Resolves once the stream has begun.
 */
async function eventStream(server, session) {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/v1/connect/events?conversationId=${session.conversation.id}`, {
    headers: { authorization: `Bearer ${session.token}`, accept: "text/event-stream" },
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`event stream on ${server.url}: ${response.status} ${await response.text()}`);
  const seen = new Map(); // text → arrival time
  const waiting = new Map(); // text → resolve
  const decoder = new TextDecoder();
  let buffer = "";
  (async () => {
    for await (const chunk of response.body) {
      const now = performance.now();
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const lines = buffer.slice(0, end).split("\n");
        buffer = buffer.slice(end + 2);
        if (!lines.includes("event: message") && !lines.includes("event:message")) continue;
        const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        const text = JSON.parse(data).content?.en;
        seen.set(text, now);
        waiting.get(text)?.(now);
      }
    }
  })().catch((err) => {
    if (err.name !== "AbortError") process.stderr.write(`the event stream failed: ${err.message}\n`);
  });
  return {
    arrived: (text) => (seen.has(text) ? Promise.resolve(seen.get(text)) : new Promise((resolve) => waiting.set(text, resolve))),
    close: () => controller.abort(),
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** FANOUT_SAMPLES sends through `sender`, each awaited on `watcher`'s stream. */
async function fanOut(name, watcher, sender) {
  process.stderr.write(`>> fan-out, ${name}: ${FANOUT_SAMPLES} sends, each awaited on the stream\n`);
  const session = await visitorSession(watcher, `guest_${randomBytes(12).toString("hex")}`);
  const stream = await eventStream(watcher, session);
  const fromAck = [];
  const fromStart = [];
  for (let i = 0; i < FANOUT_SAMPLES; i++) {
    const text = `fan-out ${i}`;
    const arrival = stream.arrived(text);
    const start = performance.now();
    await sender.call("v1.connect.send", { conversationId: session.conversation.id, content: { en: text } });
    const ack = performance.now();
    const at = await Promise.race([arrival, sleep(5_000).then(() => null)]);
    if (at === null) throw new Error(`${name}: "${text}" was not on the stream 5 s after its send's answer`);
    // An event may come before the send's answer does (published at the commit): 0 then.
    fromAck.push(Math.max(0, at - ack));
    fromStart.push(at - start);
    await sleep(20);
  }
  stream.close();
  const stats = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) };
  };
  return { name, fromAck: stats(fromAck), fromStart: stats(fromStart), early: fromAck.filter((x) => x === 0).length };
}

// ---- the run ------------------------------------------------------------------

const row = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");

function report(results, fanOuts, loads) {
  const widths = [24, 22, 8, 13, 15, 6];
  console.log(`\nbench/instances: ${SECONDS} s per case, 2 wrk x ${CONNECTIONS / 2} connections at once, ${cpus().length} cores`);
  console.log(row(["case", "set-up", "req/s", "p50 ms", "p99 ms", "failed"], widths));
  for (const r of results) {
    console.log(row([r.case, r.setup, fixed(r.perSecond), r.p50.map((x) => fixed(x, 1)).join(" / "), r.p99.map((x) => fixed(x, 1)).join(" / "), r.failed], widths));
  }
  console.log("(p50 and p99 of each wrk; on PostgreSQL, A + B: the one driving A / the one driving B)");
  const of = (c, setup) => results.find((r) => r.case === c && r.setup === setup).perSecond;
  console.log("\n2 instances on PostgreSQL / 1 on SQLite (req/s)");
  for (const c of cases) console.log(`  ${c.name.padEnd(24)}${fixed(of(c.name, PG) / of(c.name, SQLITE), 2)}x`);
  console.log("2 instances on PostgreSQL / 1 on PostgreSQL (req/s)");
  for (const c of cases) console.log(`  ${c.name.padEnd(24)}${fixed(of(c.name, PG) / of(c.name, PG_ONE), 2)}x`);

  console.log(`\nCPU during each case, in cores busy (of ${cpus().length}):`);
  const cw = [24, 22, 8, 9, 6, 6, 7, 5, 12];
  console.log(row(["case", "set-up", "servers", "postgres", "wrk", "other", "iowait", "idle", "CPU ms/req"], cw));
  for (const r of results) {
    const c = r.cpu;
    const perRequest = ((c.servers + c.postgres) / r.perSecond) * 1000;
    console.log(row([r.case, r.setup, fixed(c.servers, 2), fixed(c.postgres, 2), fixed(c.load, 2), fixed(c.other, 2), fixed(c.iowait, 2), fixed(c.idle, 2), fixed(perRequest, 2)], cw));
  }
  console.log("(other: every other process on the machine, e.g. other builds; CPU ms/req: the servers' and PostgreSQL's CPU per answered request, which the machine's load moves less than req/s)");

  console.log(`\nPostgreSQL's backends of the servers, sampled every ${WAIT_SAMPLE_MS} ms (pg_stat_activity):`);
  for (const r of results.filter((r) => r.waited)) {
    const shares = r.waited.shares.map(([wait, share]) => `${wait} ${fixed(share * 100)} %`).join(", ");
    console.log(`  ${r.case} on ${r.setup}: ${fixed(r.waited.active, 1)} running a statement on average; of those, ${shares || "none seen"}`);
  }

  console.log(`\nfan-out, ${FANOUT_SAMPLES} sends one after another, each to the visitor's open event stream:`);
  for (const f of fanOuts) {
    console.log(`  ${f.name}`);
    console.log(`    from the send's acknowledgement: p50 ${fixed(f.fromAck.p50, 1)} ms, p99 ${fixed(f.fromAck.p99, 1)} ms, max ${fixed(f.fromAck.max, 1)} ms (${f.early} before the answer: 0)`);
    console.log(`    from the send's start:           p50 ${fixed(f.fromStart.p50, 1)} ms, p99 ${fixed(f.fromStart.p99, 1)} ms, max ${fixed(f.fromStart.max, 1)} ms`);
  }
  console.log(`\nload average (1 min) before ${fixed(loads[0], 2)}, after ${fixed(loads[1], 2)}`);
  if (results.some((r) => r.failed > 0)) {
    console.log("\nSOME REQUESTS FAILED: the figures of those rows are not comparable (the servers' logs say why)");
    process.exitCode = 1;
  }
}

const PG = "PostgreSQL, A + B";
const SQLITE = "SQLite, one instance";
// The same load on A alone: whether a second instance adds throughput.
const PG_ONE = "PostgreSQL, A alone";

const running = [];
let shared;
let stopping;
/** Once, whoever asks first (the end of the run or a signal). */
const stopAll = () =>
  (stopping ??= (async () => {
    await Promise.all(running.map((s) => s.stop()));
    await shared?.stop();
  })());
// ctrl-C and kill stop the servers and remove the cluster too.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers and the cluster\n`);
    stopAll().finally(() => process.exit(130));
  });
}

async function start(options) {
  const server = await ApiServer.start(options);
  running.push(server);
  return server;
}

async function main() {
  const loadBefore = loadavg()[0];
  shared = await Shared.start({ fsync: true, s3: false });
  const pg = { args: [...shared.serverOptions.args, ...UNLIMITED], env: shared.serverOptions.env };
  const a = await start(pg);
  const b = await start(pg);
  const sqlite = await start({ args: UNLIMITED });
  const setups = [await prepare(SQLITE, [sqlite, sqlite]), await prepare(PG, [a, b], shared), await prepare(PG_ONE, [a, a], shared)];
  for (const setup of setups) await drive(setup, cases[0], WARM_UP_SECONDS);

  const results = [];
  for (const c of cases) for (const setup of setups) results.push(await measure(setup, c));
  const fanOuts = [await fanOut("across instances: stream on A, sends through B (PostgreSQL)", a, b), await fanOut("one instance: stream and sends on it (SQLite)", sqlite, sqlite)];
  report(results, fanOuts, [loadBefore, loadavg()[0]]);
}

try {
  await main();
} finally {
  await stopAll();
}
