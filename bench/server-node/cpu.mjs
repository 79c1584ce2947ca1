// bench/server-cpu's measurements: the CPU time our server spends per
// request (send, and listMessages' newest 50 of 300), for several server
// binaries measured alternately in one sitting.
// A rate moves with what else runs on a shared machine; the CPU time the
// server's own threads take per request moves much less, so two binaries
// compare even on a loaded machine.
//
// SERVERS: JSON array of { name, bin } (bench/server-cpu builds it).
// DATA_ROOT: where the stores live (the build disk; /dev/shm for work per
// request without the fsyncs). BENCH_SECONDS (8) per case, BENCH_ROUNDS (3),
// BENCH_CONNECTIONS (32). Per round, each binary gets a fresh store and
// server, a 2 s warm-up, then each case; the server's user+system CPU
// (/proc/PID/stat) is read around each case, and its VmRSS at start and 5 s
// after its last case.

import { readFileSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { spawn, execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

import { wrk } from "./wrk.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SERVERS = JSON.parse(process.env.SERVERS);
const DATA_ROOT = process.env.DATA_ROOT;
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

/** User + system CPU seconds of the process, all its threads. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** Starts `bin` on a fresh store in `dir`; resolves to { pid, url, key, stop }. */
async function start(bin, dir) {
  mkdirSync(dir, { recursive: true });
  const data = join(dir, "data");
  const key = execFileSync(bin, ["api-key", "create", "--data", data, "--name", "bench", "--role", "engage"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
  // As bench/server starts it: info logs, the per-key limit lifted.
  const child = spawn(
    bin,
    ["serve", "--addr", "127.0.0.1:0", "--data", data, "--widget-dir", join(dir, "no-widget"), "--limit-api-key-requests", "4000000000/1s"],
    { env: { ...process.env, NO_COLOR: "1", RUST_LOG: "info" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  const url = await new Promise((resolve, reject) => {
    let log = "";
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const found = /listening.* addr=([0-9.:]+)/.exec(log);
      if (found) resolve(`http://${found[1]}`);
    });
    child.on("exit", (code) => reject(new Error(`${bin} exited (${code}) before listening:\n${log}`)));
  });
  child.stderr.resume();
  const stop = () => new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", resolve);
    child.kill();
  });
  return { pid: child.pid, url, key, stop };
}

async function call(server, path, input) {
  const response = await fetch(`${server.url}/api/trpc/${path}`, { method: "POST", headers: auth(server), body: JSON.stringify(input) });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body.result.data;
}

// A conversation of this many messages is listed.
const HISTORY = 300;

const auth = (server) => ({ authorization: `Bearer ${server.key}`, "content-type": "application/json" });
const listPath = (input) => `/api/trpc/v1.connect.listMessages?input=${encodeURIComponent(JSON.stringify(input))}`;
const send = (server, conversationId) => ({
  method: "POST",
  path: "/api/trpc/v1.connect.send",
  headers: auth(server),
  body: JSON.stringify({ conversationId, content: { en: "bench send @N@" } }),
});

// As bench/server's cases; "@N@" is a number unique in the run.
const cases = [
  { name: "send", request: (server, c) => send(server, c.send) },
  { name: "send + Idempotency-Key", request: (server, c) => ({ ...send(server, c.send), idempotencyKey: "cpu-@N@" }) },
  {
    name: "listMessages, newest 50",
    request: (server, c) => ({ method: "GET", path: listPath({ conversationId: c.list }), headers: auth(server) }),
  },
];

/** wrk on one request; resolves to its 2xx answers and the seconds it ran, and fails on any failed request. */
async function load(server, request, seconds) {
  const r = await wrk(server.url, request, { seconds, connections: CONNECTIONS });
  if (r.failed > 0) throw new Error(`wrk: ${r.failed} failed requests`);
  return { requests: r.answered, seconds: r.seconds };
}

/** A conversation to send into and one of HISTORY messages to list, on a fresh server. */
async function conversations(server) {
  const open = async (externalId) => (await call(server, "v1.connect.getOrCreateConversation", { customer: { externalId } })).id;
  const c = { send: await open("bench-cpu"), list: await open("bench-cpu-list") };
  for (let i = 0; i < HISTORY; i++) await call(server, "v1.connect.send", { conversationId: c.list, content: { en: `history ${i}` } });
  return c;
}

const fixed = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main() {
  const rows = [];
  const loadBefore = loadavg()[0];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { name, bin } of SERVERS) {
      const server = await start(bin, join(DATA_ROOT, `${name}-${round}`));
      try {
        const startRss = rssMiB(server.pid);
        const c = await conversations(server);
        await load(server, cases[0].request(server, c), 2);
        for (const { name: caseName, request } of cases) {
          const before = cpuSeconds(server.pid);
          const r = await load(server, request(server, c), SECONDS);
          const cpu = cpuSeconds(server.pid) - before;
          rows.push({ round, server: name, case: caseName, perSecond: r.requests / r.seconds, cpuUs: (cpu / r.requests) * 1e6, load: loadavg()[0] });
          process.stderr.write(`>> round ${round} ${name} ${caseName}: ${fixed(r.requests / r.seconds)}/s, ${fixed((cpu / r.requests) * 1e6)} µs CPU per request\n`);
        }
        await sleep(5000);
        rows.push({ round, server: name, case: "idle RSS MiB (start, 5 s after)", startRss, idleRss: rssMiB(server.pid) });
      } finally {
        await server.stop();
      }
    }
  }
  console.log(`\nbench/server-cpu: ${CONNECTIONS} connections, ${SECONDS} s per case, ${ROUNDS} round(s), stores in ${DATA_ROOT}`);
  console.log("round  server        case                              req/s   CPU µs/req   load(1m)");
  for (const r of rows) {
    const tail = r.cpuUs === undefined
      ? `${fixed(r.startRss, 1)}, ${fixed(r.idleRss, 1)}`
      : `${fixed(r.perSecond).padStart(6)}   ${fixed(r.cpuUs).padStart(10)}   ${fixed(r.load, 2).padStart(8)}`;
    console.log(`${String(r.round).padEnd(5)}  ${r.server.padEnd(12)}  ${r.case.padEnd(32)}  ${tail}`);
  }
  console.log("\nmedian over rounds: CPU µs per request (req/s)");
  for (const { name } of SERVERS) {
    for (const c of cases) {
      const mine = rows.filter((r) => r.server === name && r.case === c.name);
      const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      console.log(`  ${name.padEnd(12)}  ${c.name.padEnd(24)}  ${fixed(median(mine.map((r) => r.cpuUs))).padStart(6)} (${fixed(median(mine.map((r) => r.perSecond)))}/s)`);
    }
    const idle = rows.filter((r) => r.server === name && r.idleRss !== undefined).map((r) => r.idleRss);
    console.log(`  ${name.padEnd(12)}  idle RSS after the load    ${idle.map((x) => fixed(x, 1)).join(", ")} MiB`);
  }
  console.log(`load average (1 min) before ${fixed(loadBefore, 2)}, after ${fixed(loadavg()[0], 2)}`);
}

await main();
